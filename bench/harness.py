"""The one way this repo measures speed: timer policy, FLOP counter, peak memory, reference \
convolution.

Every number in the benchmark table (bench.table) and the inference figures (bench.figures) comes
from the functions below, so the same pass gets the same seconds policy, the same FLOPs and the same
reference, whichever report shows it.

- Timer (`time_call`): an untimed warm-up call (oneDNN primitive creation, cuDNN algorithm
  selection, allocator growth; with `measure`, the FLOP-counted call and then a plain one), then
  timed calls until at least `min_repeats` (3) calls AND `min_time_s` (1 s) have passed, at most
  `max_repeats` (5; the quick set: 2-3 calls, 0.2 s); the MEDIAN is reported, with the spread (max /
  min - 1) as the noise of that figure. The median, not the minimum: the machines this runs on are
  shared, and the minimum rewards one lucky call; the median is robust to a stray slow or fast call
  either way. (Two harnesses once reported the 512 px ViT pass at 0.64 and 0.79 of the reference
  conv: 416 vs 493 GFLOP, CPU attention uncounted in one, explains 0.64 -> 0.76; best-of-3 against
  the median the rest.) A warm-up slower than `long_s` is the one sample instead: at >= 3 s per call
  the first-call overhead is a few percent, and timing a 1024 px case again would double the
  benchmark's wall time. CUDA is synchronized around every call.
- FLOPs (`count_flops`): torch's FlopCounterMode, 2 FLOPs per multiply-add of matmuls, convolutions
  and attention; elementwise ops, norms and pooling are not counted, so GFLOP/s is a lower bound for
  memory-bound layers. torch 2.x counts only the CUDA attention kernels; the CPU kernel gets torch's
  own sdpa formulas here (see _CPU_ATTENTION), else a ViT pass loses its attention FLOPs on CPU.
- Peak memory (`PeakMemory`): CPU: the resident-set high-water mark VmHWM, reset per case through
  /proc/self/clear_refs (Linux >= 4.0), minus the RSS before the case (after gc and malloc_trim, so
  heap an earlier case freed is not counted); `getrusage().ru_maxrss` cannot be reset and would
  report the largest case so far. Without clear_refs, a thread samples the RSS (psutil) every 5 ms.
  CUDA: max_memory_allocated after reset_peak_memory_stats (tensors only, not the caching
  allocator's reserve).
- Reference (`reference_conv`): a plain 3x3 conv, the compute-bound layer the style networks are
  made of; a case's GFLOP/s over its GFLOP/s is how much of the reachable conv throughput the case
  gets.
"""

from __future__ import annotations

import ctypes
import gc
import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import (
    FlopCounterMode,
    flop_registry,
    sdpa_backward_flop_count,
    sdpa_flop_count,
)

from models.precision import autocast
from models.pretrained import seeded
from runtime.device import memory_format

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Timing:
    seconds: float  # median seconds per call
    repeats: int  # timed calls behind the median
    spread: float  # max / min - 1 over the timed calls; 0 for one call


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def time_call(
    fn: Callable[[], object],
    device: torch.device,
    min_time_s: float = 1.0,
    max_repeats: int = 5,
    min_repeats: int = 3,
    long_s: float = 3.0,
    warmup: Callable[[], object] | None = None,
) -> Timing:
    """Time `fn` under the module's timer policy (see the module docstring).

    Args:
        warmup: run instead of `fn` as the warm-up call (`measure` passes `fn` under the FLOP
            counter, so counting costs no extra call); a plain call of `fn` then follows, because a
            dispatch mode can route ops through other kernels than the real path uses.
    """
    first = _timed(warmup or fn, device)
    if first >= long_s:
        return Timing(first, 1, 0.0)
    if warmup is not None:
        fn()
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < max_repeats and (
        len(samples) < min_repeats or time.perf_counter() - start < min_time_s
    ):
        samples.append(_timed(fn, device))
    return Timing(statistics.median(samples), len(samples), max(samples) / min(samples) - 1)


def _sdpa_forward(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _sdpa_backward(
    grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs
) -> int:
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


# torch's own sdpa formulas for the CPU flash-attention kernels, which its registry leaves out (2.14
# counts the CUDA kernels only): without them a 512 px ViT-B pass loses 77 of its 493 GFLOP on CPU.
# Passed to FlopCounterMode as custom_mapping, not registered globally, so counting never depends on
# which module was imported first; where a later torch registers a kernel itself, its formula is
# used instead.
_CPU_ATTENTION = {
    op: formula
    for op, formula in (
        (torch.ops.aten._scaled_dot_product_flash_attention_for_cpu, _sdpa_forward),
        (torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward, _sdpa_backward),
    )
    if op not in flop_registry
}


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of `fn` (2 per multiply-add; matmul, conv and attention on CPU and
    CUDA)."""
    with FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION) as counter:
        fn()
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class Measurement:
    timing: Timing
    flops: int  # of one call

    @property
    def gflops_per_s(self) -> float:
        return self.flops / self.timing.seconds / 1e9


def measure(
    fn: Callable[[], object], device: torch.device, quick: bool = False, **timer
) -> Measurement:
    """FLOPs and timing of `fn`; the counted call is the warm-up. `quick`: 2-3 calls, 0.2 s (tests,
    smoke)."""
    flops = 0

    def counted():
        nonlocal flops
        flops = count_flops(fn)

    timer = {"min_time_s": 0.2, "min_repeats": 2, "max_repeats": 3, **timer} if quick else timer
    timing = time_call(fn, device, warmup=counted, **timer)
    return Measurement(timing, flops)


def _status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def _release_freed_heap() -> None:
    """Return freed heap pages to the OS (glibc malloc_trim), so memory a previous case freed but
    the allocator kept does not sit in the baseline RSS and hide this case's own peak; no-op
    elsewhere."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Context manager measuring the peak memory of its body in MiB (`.peak_mib`) and how
    (`.method`)."""

    def __init__(self, device: torch.device):
        self.device, self.peak_mib, self.method = device, 0.0, ""

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            self.method = "cuda_max_memory_allocated"
            return self
        _release_freed_heap()
        self.base = _status_kb("VmRSS") if _STATUS.exists() else 0
        try:
            _CLEAR_REFS.write_text("5")
            self.method = "vmhwm_clear_refs"
        except OSError:
            import psutil

            self.method, self._stop, self._max = "rss_sampled_5ms", threading.Event(), 0
            process = psutil.Process()
            self.base = process.memory_info().rss // 1024

            def sample():
                while not self._stop.wait(0.005):
                    self._max = max(self._max, process.memory_info().rss // 1024)

            self._thread = threading.Thread(target=sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.method == "cuda_max_memory_allocated":
            sync(self.device)
            self.peak_mib = (torch.cuda.max_memory_allocated(self.device) - self.base) / 2**20
        elif self.method == "vmhwm_clear_refs":
            self.peak_mib = max(0, _status_kb("VmHWM") - self.base) / 1024
        else:
            self._stop.set()
            self._thread.join()
            self.peak_mib = max(0, self._max - self.base) / 1024
        return False


def reference_conv(
    device: torch.device, precision: str, quick: bool = False, backward: bool = False
) -> dict:
    """Achieved GFLOP/s of a 3x3 conv, 256 -> 256 channels, in `precision`: the roofline the figures
    divide by.

    Inference (`backward` False): one 128x128 map, channels_last, as inference.engine runs (oneDNN's
    faster layout there). Training (`backward`): the forward and both backward convolutions (input
    and weight gradients) of a batch of 8 64x64 maps, in the layout train.py picks for the device
    (train.memory_format auto): VGG19's relu3_x convolutions of a batch-8 256 px step, the layers
    that carry most of its FLOPs. Not smaller in the quick set (a tiny conv is overhead-bound and no
    reference at all); only timed shorter.
    """
    layout = memory_format("auto", device) if backward else torch.channels_last
    batch, side = (8, 64) if backward else (1, 128)
    with seeded(0):
        conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(device).eval().to(memory_format=layout)
        x = torch.rand(batch, 256, side, side, device=device).contiguous(memory_format=layout)
    x.requires_grad_(backward)

    def run():
        if not backward:
            with torch.inference_mode(), autocast(device, precision):
                return conv(x)
        with autocast(device, precision):
            out = conv(x)
        out.float().sum().backward()
        conv.zero_grad(set_to_none=True)
        x.grad = None

    m = measure(run, device, quick, max_repeats=20 if not backward else 10)
    return {
        "flops": m.flops,
        "seconds": m.timing.seconds,
        "repeats": m.timing.repeats,
        "spread": m.timing.spread,
        "gflops_per_s": m.gflops_per_s,
    }
