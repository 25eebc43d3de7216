"""The autocast contexts: `autocast` for a run's precision (the optimization's feature network,
the engine's forward), and `fp32` for the statistics and losses, which stay float32 under any
autocast (why: models/losses.py). Which precision a machine runs well: runtime/device.py.
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
    """Autocast disabled for the enclosed statistics and losses, which stay float32 (why:
    models/losses.py); a no-op where autocast is unsupported."""
    try:
        return torch.autocast(device_type=device.type, enabled=False)
    except RuntimeError:
        return nullcontext()
