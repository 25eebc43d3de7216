"""Exact resume (k steps, then a new process resumes to n == n uninterrupted steps, bitwise on \
CPU) and
`--resume latest` skipping incomplete checkpoint folders."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from train_helpers import (
    SMOKE,
    check_resume_in_new_process,
    release_weights,
    run_cli,
    tiny_config,
    tiny_overrides,
)

from train import train
from training.checkpoints import MARKER
from training.resume import resolve_resume
from weights.checkpoint import STEP_WEIGHTS, CheckpointError


def test_resume_in_new_process_equals_uninterrupted_run(sample_root, tmp_path):
    check_resume_in_new_process(sample_root, tmp_path)


def test_two_process_resume_equals_uninterrupted_two_process_run(sample_root, tmp_path):
    full, split = tmp_path / "full", tmp_path / "split"
    for run_dir, extra in (
        (full, {"train.steps": 4}),
        (split, {"train.steps": 2}),
        (split, {"train.steps": 4, "resume": True}),
    ):
        args = [
            "--config",
            str(SMOKE),
            "--run-dir",
            str(run_dir),
            *(["--resume", "latest"] if extra.pop("resume", False) else []),
            *tiny_overrides(sample_root, **extra, **{"train.val_pairs": 1}),
        ]
        proc = run_cli(args, processes=2)
        assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = release_weights(full), release_weights(split)
    assert a.keys() == b.keys()
    for key in a:  # bitwise: with 2 ranks each all-reduced element is one sum of two, order-free
        assert torch.equal(a[key], b[key]), f"{key} differs after the resume"


def test_fresh_run_refuses_a_folder_with_checkpoints(sample_root, tmp_path):
    train(tiny_config(sample_root, **{"train.steps": 2, "train.val_pairs": 0}), tmp_path)
    with pytest.raises(CheckpointError, match="--resume latest"):
        train(tiny_config(sample_root, **{"train.steps": 2}), tmp_path)


def fake_checkpoint(run_dir, step, complete=True):
    folder = run_dir / "checkpoints" / f"step_{step:06d}"
    folder.mkdir(parents=True)
    (folder / STEP_WEIGHTS).write_bytes(b"x" * 100)
    if complete:
        (folder / MARKER).write_text(json.dumps({"step": step, "files": {STEP_WEIGHTS: 100}}))
    return folder


def test_latest_skips_truncated_and_temporary_folders(tmp_path):
    good = fake_checkpoint(tmp_path, 20)
    fake_checkpoint(tmp_path, 10)
    # killed before the marker was written
    no_marker = fake_checkpoint(tmp_path, 30, complete=False)
    truncated = fake_checkpoint(tmp_path, 40)
    (truncated / STEP_WEIGHTS).write_bytes(b"x" * 50)  # a file cut short after the marker
    shutil.copytree(good, tmp_path / "checkpoints" / ".tmp_step_000050")  # a save in progress
    (tmp_path / "checkpoints" / "step_000060").mkdir()  # an empty folder
    assert resolve_resume(tmp_path, "latest") == good
    with pytest.raises(CheckpointError, match="not a complete checkpoint"):
        resolve_resume(tmp_path, str(no_marker))
    shutil.rmtree(tmp_path / "checkpoints")
    # none yet: a fresh start, so a scheduler's job runs one command first and after each requeue
    assert resolve_resume(tmp_path, "latest") is None
