"""A failed stylization as the inference loop records it (inference/run.py), and the memory a
retry starts from."""

from __future__ import annotations

import gc
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Failure:
    """Why a stylization failed, without the exception (whose traceback keeps its tensors alive)."""

    reason: str
    oom: bool


def free_memory(device: torch.device) -> None:
    """Collect the garbage of a failed attempt and, on CUDA, return the cached blocks to the driver,
    so a retry (smaller batch, tiles) starts from free memory rather than a fragmented cache."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def failure_reason(err: Exception) -> str:
    """One line for the summary: the exception's first line (torch's OOM and shape errors are
    long)."""
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text if isinstance(err, ValueError) else f"{type(err).__name__}: {text}"
