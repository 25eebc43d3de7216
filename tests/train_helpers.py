"""Shared helpers of the training tests: tiny sample data, tiny smoke configs, reading run outputs."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from configs.read import load_config

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "configs" / "smoke.yaml"


def tiny_overrides(data_root: Path, **extra) -> list[str]:
    """smoke.yaml at 32 px, batch 1: a step costs ~0.1 s of CPU (random weights, no downloads)."""
    values = {"data.root": data_root, "data.resize": 36, "data.crop": 32, "data.num_workers": 0,
              "train.batch_size": 1, "train.steps": 4, "train.log_every": 2, "train.eval_every": 2,
              "train.save_every": 2, "train.keep_last": 3, "train.val_pairs": 2, **extra}
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
    """Run train.py in a new process: plain python, or `accelerate launch --multi_gpu` for several."""
    if processes > 1:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
               str(processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(free_port()), "train.py", *args]
    else:
        cmd = [sys.executable, "train.py", *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
