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


def memory_format(name: str, device: torch.device) -> torch.memory_format:
    """train.memory_format: "auto" is channels_last on CUDA (cuDNN's tensor-core kernels want NHWC) and on CPUs
    with native bf16 (AVX-512 BF16 / AMX: oneDNN's NHWC kernels are the fast ones there, fp32 and bf16), and
    contiguous (NCHW) on other CPUs (AVX2), where oneDNN's NHWC backward made the training step slower.
    Figures per machine: docs/results/train_step_layout.md."""
    if name == "auto":
        nhwc = device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())
        name = "channels_last" if nhwc else "contiguous"
    return torch.channels_last if name == "channels_last" else torch.contiguous_format


def cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX tiles on this CPU (torch.cpu's ISA checks; False where torch lacks them)."""
    checks = [getattr(torch.cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(check()) for check in checks if check is not None)


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is a one-line error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """True where bf16 convolutions run natively: CUDA GPUs that support it, CPUs with AVX-512 BF16 / AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def precision_warning(device: torch.device, precision: str) -> str | None:
    """Why this precision will be slow here, or None. bf16 on a CPU without native bf16 (AVX2 only) is
    emulated: measured on such an EPYC, a 256-channel 3x3 conv took 1.14 s in bf16 vs 0.15 s in fp32
    forward, and 21 s vs 1.0 s forward + backward."""
    if precision == "bf16" and not native_bf16(device):
        return (f"bf16 on this {device.type} ({torch.backends.cpu.get_cpu_capability()}) is emulated and several "
                "times slower than fp32; use fp32 here (bf16 pays on CPUs with AVX-512 BF16/AMX and on GPUs)")
    return None


def check_precision(device: torch.device, precision: str) -> None:
    """Refuse fp16 on a CPU: without native fp16 convolutions oneDNN emulates them, measured 7x SLOWER than
    fp32 on this repo's AVX-512 test machine (a 64-channel 3x3 conv: 28 ms fp32, 15 ms bf16, 190 ms fp16)."""
    if precision == "fp16" and device.type == "cpu":
        raise ValueError("--precision fp16 on the CPU is emulated and slower than fp32; use --precision bf16 "
                         "(the CPU's fast half precision) or fp16 on a GPU")
