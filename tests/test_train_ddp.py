"""2-process DDP (gloo on CPU) equals one process with twice the batch; only rank 0 writes files."""

from __future__ import annotations

import json
import re

import torch
from train_helpers import (
    NOISE,
    SMOKE,
    release_weights,
    run_cli,
    step_gradients,
    tiny_config,
    tiny_overrides,
)

from train import train
from weights.checkpoint import STEP_WEIGHTS

ONE_STEP = {"train.steps": 1, "train.save_every": 1, "train.val_pairs": 1}


def test_two_processes_equal_one_process_with_twice_the_batch(sample_root, tmp_path):
    ddp_dir, single_dir, alone_dir = tmp_path / "ddp", tmp_path / "single", tmp_path / "rank0_alone"
    proc = run_cli(
        [
            "--config",
            str(SMOKE),
            "--run-dir",
            str(ddp_dir),
            *tiny_overrides(sample_root, **ONE_STEP),
        ],
        processes=2,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    train(tiny_config(sample_root, **ONE_STEP, **{"train.batch_size": 2}), single_dir)
    train(tiny_config(sample_root, **ONE_STEP), alone_dir)

    # DDP averages the ranks' gradients of their 1-sample mean losses = the gradient of the 2-sample
    # mean, up to NOISE of each tensor's scale. A summed (not averaged) gradient would be off by
    # 100% of it, and rank 1's samples must matter: two independent trainings would equal the
    # batch-1 run.
    for ddp, single in zip(*(step_gradients(d) for d in (ddp_dir, single_dir))):
        torch.testing.assert_close(ddp, single, rtol=0, atol=NOISE * float(single.abs().max()))
    assert any(
        not torch.allclose(d, a, rtol=0, atol=NOISE * float(a.abs().max()))
        for d, a in zip(step_gradients(ddp_dir), step_gradients(alone_dir))
    )
    # (the weights themselves are compared after several SGD steps in the next test: Adam's first
    # update, ~lr * sign(g), flips wherever g is at the float-noise level)

    # one writer: every event file comes from the same (rank 0) process; no stray run folders
    pids = {
        re.match(r"events\.out\.tfevents\.\d+\.[^.]+\.(\d+)\.", p.name).group(1)
        for p in ddp_dir.glob("events.out.tfevents.*")
    }
    assert len(pids) == 1
    assert sorted(p.name for p in ddp_dir.iterdir() if p.is_dir()) == ["checkpoints"]
    ckpt = ddp_dir / "checkpoints" / "step_000001"
    assert {p.name for p in ckpt.iterdir()} >= {
        STEP_WEIGHTS,
        "optimizer.bin",
        "trainer_state.json",
        "random_states_0.pkl",
        "random_states_1.pkl",
    }
    assert not (ckpt / "model.safetensors").exists()  # that name is the release file's
    assert json.loads((ckpt / "trainer_state.json").read_text())["world_size"] == 2
    assert proc.stdout.count("throughput:") == 1  # printed by rank 0 only


def test_two_processes_equal_one_process_weights_after_several_sgd_steps(sample_root, tmp_path):
    """With SGD the update is linear in the gradient, so the weights themselves agree after several
    steps (Adam's ~sign(g) first update amplifies float noise in near-zero gradients)."""
    sgd = {
        "optim.name": "sgd",
        "optim.lr": 0.5,
        "train.steps": 3,
        "train.save_every": 3,
        "train.val_pairs": 1,
    }
    ddp_dir, single_dir, alone_dir = tmp_path / "ddp", tmp_path / "single", tmp_path / "alone"
    proc = run_cli(
        ["--config", str(SMOKE), "--run-dir", str(ddp_dir), *tiny_overrides(sample_root, **sgd)],
        processes=2,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    train(tiny_config(sample_root, **sgd, **{"train.batch_size": 2}), single_dir)
    # rank 0's data only: what an unsynced run would give
    train(tiny_config(sample_root, **sgd), alone_dir)
    ddp_w, single_w, alone_w = (release_weights(d) for d in (ddp_dir, single_dir, alone_dir))
    for key in (k for k in single_w if k.startswith("decoder.")):
        # the 2-process run is NOISE times closer to the batch-2 run than the unsynced run is
        # (measured: <= 3.4e-3 times); a run that ignored rank 1 or summed the ranks' gradients is
        # ~1x as far
        rank1_effect = float((alone_w[key] - single_w[key]).abs().max())
        torch.testing.assert_close(ddp_w[key], single_w[key], rtol=0, atol=NOISE * rank1_effect)
