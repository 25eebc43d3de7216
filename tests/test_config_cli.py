"""Bad config values and flags stop the entry points with one `error:` line, before anything is \
written."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from train_helpers import REPO, SMOKE, tiny_overrides

from configs.read import load_config
from eval import evaluate
from eval.runs import compare as compare_runs
from train import main, parse_args

BAD_OVERRIDES = [
    "model.decoder.kind=foo",
    "train.batch_size=0",
    "optim.lr=-1",
    "train.save_every=0",
    "loss.style_loss=foo",
    "loss.style_layers=relu9_9",
]


def one_error_line(stderr: str, key: str) -> str:
    lines = stderr.strip().splitlines()
    # the key's problem first; others of the same run (a missing data folder) follow on that line
    first = rf"error: (\d+ problems: \(1\) )?{re.escape(key)}"
    assert len(lines) == 1 and re.match(first, lines[0]) and "Traceback" not in stderr, stderr
    return lines[0]


def test_train_subprocess_stops_before_the_run_folder(tmp_path):
    """In a real process: the error comes before config.yaml is written, not as a traceback after
    it."""
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--config",
            str(SMOKE),
            "--run-dir",
            str(run_dir),
            "model.decoder.kind=foo",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "mirror_vgg, transposed_conv" in one_error_line(proc.stderr, "model.decoder.kind")
    assert not run_dir.exists()


@pytest.mark.parametrize("override", BAD_OVERRIDES)
def test_train_bad_values_stop_before_the_run_folder(override, tmp_path, capsys):
    # in-process: the same main() as the subprocess above, without 10+ s of imports per case on a
    # shared CPU
    run_dir = tmp_path / "run"
    assert main(["--config", str(SMOKE), "--run-dir", str(run_dir), override]) != 0
    one_error_line(capsys.readouterr().err, override.split("=")[0])
    assert not run_dir.exists()


def test_train_refuses_fp16_without_cuda(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert (
        main(
            [
                "--config",
                str(SMOKE),
                "--run-dir",
                str(tmp_path / "run"),
                "train.mixed_precision=fp16",
            ]
        )
        != 0
    )
    assert "CUDA is not available" in one_error_line(
        capsys.readouterr().err, "train.mixed_precision"
    )
    assert not (tmp_path / "run").exists()


def test_train_mixed_precision_no_from_the_cli_trains(sample_root, tmp_path, capsys):
    """`no` on the command line was YAML's False, which accelerate refused with a traceback."""
    run_dir = tmp_path / "run"
    overrides = tiny_overrides(
        sample_root, **{"train.mixed_precision": "no", "train.steps": 2, "train.val_pairs": 0}
    )
    assert main(["--config", str(SMOKE), "--run-dir", str(run_dir), *overrides]) == 0
    assert "done: step 2" in capsys.readouterr().out
    # written so that it reads back
    assert load_config(run_dir / "config.yaml").train.mixed_precision == "no"
    assert (run_dir / "model.safetensors").is_file()


def test_train_help_points_to_the_schema(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--help"])
    assert exit_.value.code == 0 and "configs/schema.py" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flags, name",
    [
        (["--size", "8"], "--size"),
        (["--baseline-steps", "0", "--optimize-baseline"], "--baseline-steps"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_evaluate_flags_checked_before_loading(flags, name, tmp_path, capsys):
    out = tmp_path / "out"
    # the checkpoint does not exist: the flag is checked first
    with pytest.raises(SystemExit) as exit_:
        evaluate.main(
            ["--checkpoint", str(tmp_path / "missing.safetensors"), *flags, "--out", str(out)]
        )
    assert exit_.value.code != 0 and not out.exists()
    one_error_line(capsys.readouterr().err, name)


@pytest.mark.parametrize(
    "flags, name",
    [
        (["--smoothing", "1"], "--smoothing"),
        (["--smoothing", "-0.1"], "--smoothing"),
        (["--smoothing", "nan"], "--smoothing"),
        (["--tags", ","], "--tags"),
    ],
)
def test_compare_runs_flags_checked_before_reading(flags, name, tmp_path, capsys):
    out = tmp_path / "out"
    # the run folder does not exist: the flag is checked first
    with pytest.raises(SystemExit) as exit_:
        compare_runs.main([str(tmp_path / "missing"), *flags, "--out", str(out)])
    assert exit_.value.code != 0 and not out.exists()
    one_error_line(capsys.readouterr().err, name)
