"""The machine a run uses: the device name, the memory format and the precisions it does well (the
autocast contexts, `autocast` for a run's precision and `fp32` for the statistics and losses, are
the model's: models/precision.py).

Settings of a config or a command line are checked here against the hardware (a GPU that is not
there, bf16 where it is emulated, fp16 on a CPU): every entry point refuses or warns the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch


def memory_format(name: str, device: torch.device) -> torch.memory_format:
    """train.memory_format: "auto" is channels_last on CUDA (cuDNN's tensor-core kernels want NHWC)
    and on CPUs with native bf16 (AVX-512 BF16 / AMX: oneDNN's NHWC kernels are the fast ones there,
    fp32 and bf16), and contiguous (NCHW) on other CPUs (AVX2), where oneDNN's NHWC backward made
    the training step slower. Figures per machine: docs/results/train_step_layout.md."""
    if name == "auto":
        nhwc = device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())
        name = "channels_last" if nhwc else "contiguous"
    return torch.channels_last if name == "channels_last" else torch.contiguous_format


def cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX tiles on this CPU (torch.cpu's ISA checks; False where torch lacks
    them)."""
    checks = [
        getattr(torch.cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    ]
    return any(bool(check()) for check in checks if check is not None)


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; any torch device string ('cuda:1', 'cpu') as given.

    A malformed name, CUDA without a GPU, or a GPU index past the last one is a one-line ValueError.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"--device {name!r} is not a torch device; use auto, cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"--device {name} was asked for but torch sees no CUDA GPU; use "
                "--device cpu or auto"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"--device {name}: torch sees {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
            )
    return device


# cuDNN has bf16 convolutions from compute capability 8.0 (Ampere) on;
# torch.cuda.is_bf16_supported() is True on older GPUs too (it counts emulation), where bf16 convs
# run far slower than fp16 ones
NATIVE_BF16_CAPABILITY = (8, 0)


def native_bf16(device: torch.device) -> bool:
    """True where bf16 convolutions run natively: CUDA compute capability >= 8.0 (A100, RTX 30xx,
    L4, H100; not the T4's 7.5 nor the V100's 7.0), CPUs with AVX-512 BF16 / AMX."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= NATIVE_BF16_CAPABILITY
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def precision_warning(device: torch.device, precision: str) -> str | None:
    """Why this precision will be slow here, and what to use instead, or None.

    bf16 on a CPU without native bf16 (AVX2 only) is emulated, several times slower than fp32. On a
    GPU below compute capability 8.0 (the T4 of the reference training) bf16 has no cuDNN
    convolutions; fp16 is that GPU's fast half precision (with a GradScaler in training, as
    accelerate sets it up).
    """
    if precision != "bf16" or native_bf16(device):
        return None
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        return (
            f"bf16 on this GPU ({torch.cuda.get_device_name(device)}, compute capability "
            f"{major}.{minor} < 8.0) has no cuDNN bf16 convolutions and runs emulated, much "
            "slower; use fp16 here (its fast half precision), or fp32"
        )
    cpu = torch.backends.cpu.get_cpu_capability()
    return (
        f"bf16 on this {device.type} ({cpu}) is emulated and several times slower than fp32; use "
        "fp32 here (bf16 pays on CPUs with AVX-512 BF16/AMX and on GPUs of compute capability "
        ">= 8.0)"
    )


def precision_choices(device: torch.device) -> list[str]:
    """The precisions worth offering on `device` (the demo's choices, the benchmark's rows).

    CPU: fp32 and bf16 (fp16 is emulated, `check_precision`); CUDA: fp32 and fp16, and bf16 where it
    is native (compute capability >= 8.0: `native_bf16`).
    """
    if device.type != "cuda":
        return ["fp32", "bf16"]
    return ["fp32", "fp16"] + (["bf16"] if native_bf16(device) else [])


def check_precision(device: torch.device, precision: str) -> None:
    """Refuse fp16 on a CPU: oneDNN's fp16 convolutions ran slower than fp32, and than bf16, on
    every CPU measured (docs/results/design_figures.md)."""
    if precision == "fp16" and device.type == "cpu":
        raise ValueError(
            "--precision fp16 on the CPU is emulated and slower than fp32; use --precision bf16 "
            "(the CPU's fast half precision) or fp16 on a GPU"
        )


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (platform.processor() is empty on Linux) and the ISA torch
    dispatches to: what every figure and model card names as its machine."""
    try:
        names = re.findall(
            r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE
        )
    except OSError:
        names = []
    flags = [f for f in ("avx512_bf16", "amx_bf16") if _cpu_flag(f)]
    return (
        f"{names[0] if names else 'unknown CPU'} ({torch.backends.cpu.get_cpu_capability()}"
        f"{', ' + ', '.join(flags) if flags else ''})"
    )


def _cpu_flag(flag: str) -> bool:
    try:
        return re.search(rf"\b{flag}\b", Path("/proc/cpuinfo").read_text()) is not None
    except OSError:
        return False


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's (cpu_name)."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
