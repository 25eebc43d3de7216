"""Shared helpers of the training tests: tiny sample data, tiny smoke configs, reading run \
outputs."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import torch
from safetensors.torch import load_file

from configs.read import load_config
from training.launch import launch_command

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "configs" / "smoke.yaml"


def tiny_overrides(data_root: Path, **extra) -> list[str]:
    """smoke.yaml at 32 px, batch 1: a step costs ~0.1 s of CPU (random weights, no downloads)."""
    values = {
        "data.root": data_root,
        "data.resize": 36,
        "data.crop": 32,
        "data.num_workers": 0,
        "train.batch_size": 1,
        "train.steps": 4,
        "train.log_every": 2,
        "train.eval_every": 2,
        "train.save_every": 2,
        "train.keep_last": 3,
        "train.val_pairs": 2,
        **extra,
    }
    return [f"{k}={v}" for k, v in values.items()]


def tiny_config(data_root: Path, **extra):
    return load_config(SMOKE, tiny_overrides(data_root, **extra))


def release_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(Path(run_dir) / "model.safetensors"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(args: list[str], processes: int = 1, timeout: int = 180) -> subprocess.CompletedProcess:
    """Run train.py in a new process: plain python, or `accelerate launch --multi_gpu` for
    several."""
    port = free_port() if processes > 1 else None
    cmd = [*launch_command(processes, port=port), "train.py", *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def check_resume_in_new_process(data_root: Path, tmp_path: Path, **extra) -> None:
    """2 steps, then a new process resumes to 4: the weights and the optimizer state equal an
    uninterrupted 4-step run bitwise (the next steps would then be identical too). `extra`: config
    overrides of both runs."""
    from train import train

    full, split = tmp_path / "full", tmp_path / "split"
    train(tiny_config(data_root, **extra, **{"train.steps": 4}), full)
    # the schedule never reads train.steps
    train(tiny_config(data_root, **extra, **{"train.steps": 2}), split)
    proc = run_cli(
        [
            "--config",
            str(SMOKE),
            "--run-dir",
            str(split),
            "--resume",
            "latest",
            *tiny_overrides(data_root, **extra, **{"train.steps": 4}),
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = release_weights(full), release_weights(split)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
    opt = [
        torch.load(d / "checkpoints" / "step_000004" / "optimizer.bin", weights_only=True)
        for d in (full, split)
    ]
    for i in opt[0]["state"]:
        assert torch.equal(opt[0]["state"][i]["exp_avg_sq"], opt[1]["state"][i]["exp_avg_sq"])


# Float32 noise floor of these comparisons, as a fraction of a tensor's largest entry. Not summation
# noise: the untrained decoder's output is a flat grey (0.498..0.506), so in the random VGG loss
# network the values of a 2x2 max-pool window differ by ~2e-5 (median, relative) and ~170 of 49k
# windows pick another winner in a batch-2 forward than in two batch-1 forwards (the DDP ranks);
# max-pool's backward routes the gradient to the winner, so the gradient w.r.t. the image moves by
# ~10% and the decoder's gradients by up to 2-3e-3 of their max. Measured against a float64
# reference: the 1-process float32 gradient is itself 1.8e-3 off, the DDP one 2.8e-3; dropping rank
# 1's sample moves the gradients by 0.44-0.92 of their max.
NOISE = 1e-2


def step_gradients(run_dir) -> list[torch.Tensor]:
    """Adam's first moment after step 1 is 0.1 * the gradient: the (all-reduced) gradient of that
    step."""
    state = torch.load(
        run_dir / "checkpoints" / "step_000001" / "optimizer.bin", weights_only=True
    )["state"]
    return [state[i]["exp_avg"] for i in sorted(state)]
