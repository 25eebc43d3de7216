"""What a new user meets in train.py: data problems, a resume that would change the objective, the
start line and a mistyped flag: each one line, with nothing written that should not be (Ctrl-C:
test_train_interrupt.py).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from train_helpers import SMOKE, tiny_config, tiny_overrides

from train import main, train


def snapshot(folder) -> dict:
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = (
                open(path, "rb").read(),
                os.stat(path).st_mtime_ns,
            )
    return out


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "error" in line.lower() or "Traceback" in line]


def test_data_problems_are_one_line_before_the_run_folder_exists(sample_root, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(sample_root, data)
    shutil.rmtree(data / "style" / "val")
    (
        data / "style" / "val"
    ).mkdir()  # prepare's plain folders at a small --val-fraction: an empty val split
    run_dir = tmp_path / "run"
    code = main(["--config", str(SMOKE), "--run-dir", str(run_dir), *tiny_overrides(data)])
    err = capsys.readouterr().err
    assert code == 2 and not run_dir.exists(), err
    assert error_lines(err) == [error_lines(err)[-1]] and "Traceback" not in err, err
    line = error_lines(err)[-1]
    assert (
        str(data / "style" / "val") in line
        and "--val-fraction" in line
        and "train.val_pairs=0" in line
    )

    (data / "content" / "train").rename(data / "elsewhere")  # the whole training folder missing
    code = main(["--config", str(SMOKE), "--run-dir", str(run_dir), *tiny_overrides(data)])
    err = capsys.readouterr().err
    assert code == 2 and not run_dir.exists()
    assert (
        str(data / "content" / "train") in error_lines(err)[-1]
        and "data.root" in error_lines(err)[-1]
    )


def test_resume_that_changes_the_objective_is_refused_and_writes_nothing(
    sample_root, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    train(tiny_config(sample_root), run_dir)
    before = snapshot(run_dir)
    code = main(
        [
            "--config",
            str(SMOKE),
            "--run-dir",
            str(run_dir),
            "--resume",
            "latest",
            *tiny_overrides(sample_root, **{"loss.style_loss": "gram", "model.transform": "wct"}),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    line = error_lines(err)[-1]
    assert (
        "loss.style_loss: mean_std -> gram" in line and "model.transform: adain -> wct" in line
    ), line
    assert "model.init_from=" in line and str(run_dir / "checkpoints" / "step_000004") in line
    # config.yaml, events, checkpoints: not a byte, not a timestamp
    assert snapshot(run_dir) == before

    # extending the run is accepted, and the changed keys are listed
    code = main(
        [
            "--config",
            str(SMOKE),
            "--run-dir",
            str(run_dir),
            "--resume",
            "latest",
            *tiny_overrides(sample_root, **{"train.steps": 6, "train.log_every": 3}),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "changed: train.log_every 2 -> 3, train.steps 4 -> 6" in out, out
    start = [line for line in out.splitlines() if line.startswith("start:")]
    assert start == [
        "start: 1 process(es), batch 1 per process = 1 global, precision fp32, memory format "
        f"{'channels_last' if 'channels_last' in start[0] else 'contiguous'} "
        "(train.memory_format=auto), device(s) cpu"
    ], out


def test_a_mistyped_flag_is_one_line_that_names_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--config", str(SMOKE), "--run-dirr", str(tmp_path / "run")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"{os.path.basename(sys.argv[0])}: error: unrecognized arguments: --run-dirr; "
        "did you mean --run-dir (not --run-dirr)?"
    ], err
