"""Numeric precision: autocast for the networks, float32 regions for statistics and losses, device checks.

Statistics (AdaIN mean/std, Gram matrices) and every loss run in float32 even under autocast: a float16
Gram of ReLU features overflows (max 65504) and turns into inf/NaN.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: torch.device, precision: str):
    """Autocast for "bf16"/"fp16" on `device`, a no-op for "fp32"."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}")
    if PRECISIONS[precision] is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=PRECISIONS[precision])


def fp32(device: torch.device):
    """Disable autocast for the enclosed statistics (a no-op context where autocast is unsupported)."""
    try:
        return torch.autocast(device_type=device.type, enabled=False)
    except RuntimeError:
        return nullcontext()


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is a one-line error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(name)


def check_precision(device: torch.device, precision: str) -> None:
    """Refuse fp16 on a CPU: without native fp16 convolutions oneDNN emulates them, measured 7x SLOWER than
    fp32 on this repo's AVX-512 test machine (a 64-channel 3x3 conv: 28 ms fp32, 15 ms bf16, 190 ms fp16)."""
    if precision == "fp16" and device.type == "cpu":
        raise ValueError("--precision fp16 on the CPU is emulated and slower than fp32; use --precision bf16 "
                         "(the CPU's fast half precision) or fp16 on a GPU")
