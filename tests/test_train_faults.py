"""Training under faults: a rejected resume changes nothing, a no-op resume changes nothing, stale
temp files of interrupted saves are cleaned, and NaN weights are refused at load."""

from __future__ import annotations

import os

import pytest
import torch
from train_helpers import SMOKE, run_cli, tiny_config, tiny_overrides

from eval.runs.tensorboard_io import read_scalars
from models.net import StyleTransferNet
from train import main, train
from weights.checkpoint import CheckpointError
from weights.load import load_model
from weights.release import save_release


def snapshot(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = (
                open(path, "rb").read(),
                os.stat(path).st_mtime_ns,
            )
    return out


def test_rejected_resume_leaves_the_run_folder_byte_identical(sample_root, tmp_path):
    run_dir = tmp_path / "run"
    train(tiny_config(sample_root), run_dir)
    before = snapshot(run_dir)
    proc = run_cli(
        [
            "--config",
            str(SMOKE),
            "--run-dir",
            str(run_dir),
            "--resume",
            "latest",
            *tiny_overrides(sample_root, **{"optim.name": "sgd", "train.steps": 6}),
        ]
    )
    assert proc.returncode == 2 and "optim.name: adam -> sgd" in proc.stderr, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == proc.stderr.strip().splitlines()[-1:]  # once, and last
    # config.yaml, events, checkpoints: not a byte, not a timestamp
    assert snapshot(run_dir) == before


def test_noop_resume_changes_nothing_on_disk_and_a_training_resume_removes_stale_temp_files(
    sample_root, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    train(tiny_config(sample_root), run_dir)
    stale_file = run_dir / ".model.safetensors.x1y2.partial"
    stale_file.write_bytes(b"half")
    stale_dir = run_dir / "checkpoints" / ".tmp_step_000009"
    stale_dir.mkdir()
    (stale_dir / "optimizer.bin").write_bytes(b"half")
    before = snapshot(run_dir)
    # the run is at step 4: `--resume latest train.steps=3` trains nothing (issue 33, item 4)
    args = ["--config", str(SMOKE), "--run-dir", str(run_dir), "--resume", "latest"]
    assert main([*args, *tiny_overrides(sample_root, **{"train.steps": 3})]) == 0
    assert "nothing to train: the run is at step 4 of 3" in capsys.readouterr().out
    # config.yaml still says 4 steps, no new events file, not a timestamp changed
    assert snapshot(run_dir) == before
    runs = read_scalars(run_dir)["throughput/run_images_per_s"]
    assert len(runs) == 1 and runs[0][1] > 0  # the real throughput, not a 0 over 0 steps

    result = train(tiny_config(sample_root, **{"train.steps": 5}), run_dir, resume="latest")
    assert result.trained_steps == 1
    assert not stale_file.exists() and not stale_dir.exists()


def test_release_with_nan_weights_is_refused_naming_the_tensors(tmp_path):
    from conftest import vgg_config

    net = StyleTransferNet(vgg_config())
    with torch.no_grad():
        net.decoder.layers[0][1].weight[0, 0, 0, 0] = float("nan")
    path = save_release(tmp_path / "nan.safetensors", net)
    with pytest.raises(CheckpointError, match=r"non-finite.*decoder\.layers\.0\.1\.weight"):
        load_model(path)


def test_smoke_training_on_the_awkward_folder(sample_root, tmp_path):
    """Every readable file trains, every broken one is reported with its reason, no input
    changes."""
    import awkward

    expect = awkward.build(tmp_path)
    before = awkward.checksums(tmp_path / "awkward")
    folder = str(tmp_path / "awkward")
    result = train(
        tiny_config(
            sample_root,
            **{
                "data.content_dir": folder,
                "data.style_dir": folder,
                "train.steps": 6,
                "train.batch_size": 4,
            },
        ),
        tmp_path / "run",
    )
    assert result.step == 6
    reported = {path.name for path in result.bad_files}
    bad = {name for name, kind in expect.items() if kind == "bad"}
    assert reported <= bad and reported  # only broken files, each with its reason
    assert all(reason for reason in result.bad_files.values())
    assert awkward.checksums(tmp_path / "awkward") == before
