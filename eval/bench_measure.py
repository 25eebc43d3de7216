"""Measurement primitives of the benchmark: wall time, peak memory, FLOPs, and a reference 3x3 conv.

- Time: `time_call` runs the callable as warm-up (allocations, oneDNN/cuDNN kernel selection), then
  times at least `min_repeats` calls, more until `min_time_s` has passed or `max_repeats`, and reports
  the median. A first call
  slower than `long_s` is kept as the only sample instead (at >= 3 s per call the first-call overhead
  is a few percent, and a second run of a 1024 px case would double the benchmark's wall time).
  CUDA is synchronized around every call, so times are device times.
- Peak memory, CPU: the process's resident-set high-water mark VmHWM (/proc/self/status), reset before
  each case by writing "5" to /proc/self/clear_refs (Linux >= 4.0), minus the RSS before the case (after
  gc and glibc malloc_trim, so heap freed by earlier cases is not counted as in use): the memory the
  case itself needed, inputs and models built before the case excluded. `resource.getrusage()` has
  ru_maxrss, which cannot be reset: it would report the largest case so far for every later case.
  Where clear_refs is not writable, a background thread samples the RSS (psutil) every 5 ms instead.
  CUDA: torch.cuda.max_memory_allocated after reset_peak_memory_stats (tensor memory only, not the
  caching allocator's reserve).
- FLOPs: torch.utils.flop_counter.FlopCounterMode over the warm-up call. It counts matmuls, convolutions and
  attention (2 FLOPs per multiply-add); elementwise ops, norms and pooling are not counted, so achieved
  GFLOP/s is a lower bound for memory-bound layers.
"""

from __future__ import annotations

import ctypes
import gc
import re
import statistics
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device, min_time_s: float = 1.0, max_repeats: int = 5,
              long_s: float = 3.0, min_repeats: int = 2) -> tuple[float, int, int]:
    """(median seconds per call, number of timed calls, FLOPs of one call); see the module docstring.

    The first call runs under FlopCounterMode (counting costs no extra run; a dispatch mode can route ops
    through other kernels, so when that call is fast a plain warm-up call follows before timing).
    """
    counter = FlopCounterMode(display=False)
    sync(device)
    start = time.perf_counter()
    with counter:
        fn()
    sync(device)
    first = time.perf_counter() - start
    flops = int(counter.get_total_flops())
    if first >= long_s:
        return first, 1, flops
    fn()  # plain warm-up: kernel selection / primitive caches for the real path
    samples: list[float] = []
    total_start = time.perf_counter()
    while len(samples) < min_repeats or (len(samples) < max_repeats and time.perf_counter() - total_start < min_time_s):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), len(samples), flops


def _status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def _release_freed_heap() -> None:
    """Return freed heap pages to the OS (glibc malloc_trim), so memory a previous case freed but the
    allocator kept does not sit in the baseline RSS and hide this case's own peak; no-op elsewhere."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Context manager measuring the peak memory of its body in MiB (`.peak_mib`) and how (`.method`)."""

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


def autocast(device: torch.device, precision: str):
    """Autocast for "bf16"/"fp16", nothing for "fp32"."""
    if precision == "fp32":
        return nullcontext()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return torch.autocast(device_type=device.type, dtype=dtype)


def reference_conv(device: torch.device, precision: str, quick: bool = False) -> dict:
    """Achieved GFLOP/s of a plain 3x3 conv, 256 -> 256 channels on a 128x128 map, channels_last.

    A compute-bound layer of the kind the style networks are made of, measured in the same process and
    precision: a case's GFLOP/s divided by this is how much of the reachable conv throughput it gets. The
    same conv as eval/bench_inference.reference_conv_gflops, so ratios agree between the two benchmarks.
    Not smaller in the quick set (a tiny conv is overhead-bound and no reference at all); timed shorter.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(device).eval().to(memory_format=torch.channels_last)
        x = torch.rand(1, 256, 128, 128, device=device).contiguous(memory_format=torch.channels_last)

    def run():
        with torch.inference_mode(), autocast(device, precision):
            return conv(x)

    seconds, repeats, flops = time_call(run, device, min_time_s=0.2 if quick else 1.0, max_repeats=20)
    return {"flops": flops, "seconds": seconds, "repeats": repeats, "gflops_per_s": flops / seconds / 1e9}
