"""Why runtime/device.py refuses fp16 on a CPU: one 64-channel 3x3 conv on a (1, 64, 128, 128) input
under fp32, bf16 and fp16 autocast, the median of 20 runs each.

    python -m bench.cpu_precision
"""

from __future__ import annotations

import statistics
import time

import torch


def main() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval()
    x = torch.rand(1, 64, 128, 128)
    for name, dtype in (("fp32", None), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
        ctx = torch.autocast("cpu", dtype=dtype) if dtype else torch.autocast("cpu", enabled=False)
        times = []
        with torch.no_grad(), ctx:
            for _ in range(3):  # warm-up: oneDNN picks and caches its kernel
                conv(x)
            for _ in range(20):
                start = time.perf_counter()
                conv(x)
                times.append(time.perf_counter() - start)
        print(f"{name}: {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
