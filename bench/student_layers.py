"""Measure what the student's layers cost on this CPU: the figures its design follows.

    OMP_NUM_THREADS=1 python -m bench.student_layers [--size 512] [--repeats 5]

Why: a small network's CPU time is not its FLOPs. A conv's speed depends on its channel counts
(oneDNN runs few output channels far below the CPU's peak) and on its padding (padding_mode=reflect
copies the whole input first; zeros are folded into the kernel). Printed, for a `size` px image on
one thread, the best of `repeats` forward passes in ms (fp32, NCHW) and the GFLOP/s of:
  - the candidate layers at their resolutions (full, /2, /4, /8), each with its MFLOP;
  - the registered student (models/student.py) per pair: fp32, and bf16 autocast + channels_last.
docs/results/student_design.md holds a run and what the design took from it.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from models.net import StyleTransferNet


def conv(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, pad: str = "reflect"):
    return nn.Conv2d(cin, cout, k, stride, padding=k // 2 if k == 3 else 0, padding_mode=pad,
                     groups=groups)  # fmt: skip


# name -> (module, input channels, input side as a fraction of the image's)
CANDIDATES = {
    "3->16 3x3 s2 reflect @1": (lambda: conv(3, 16, stride=2), 3, 1),
    "3->32 4x4 s4 (patch) @1": (lambda: conv(3, 32, k=4, stride=4), 3, 1),
    "16->32 3x3 s2 reflect @1/2": (lambda: conv(16, 32, stride=2), 16, 2),
    "32->64 3x3 s2 reflect @1/4": (lambda: conv(32, 64, stride=2), 32, 4),
    "64->64 3x3 reflect @1/8": (lambda: conv(64, 64), 64, 8),
    "depthwise 16 3x3 reflect @1": (lambda: conv(16, 16, groups=16), 16, 1),
    "depthwise 16 3x3 zeros @1": (lambda: conv(16, 16, groups=16, pad="zeros"), 16, 1),
    "8->3 3x3 reflect @1": (lambda: conv(8, 3), 8, 1),
    "16->3 3x3 reflect @1": (lambda: conv(16, 3), 16, 1),
    "32->48 3x3 + shuffle 4 @1/4": (lambda: nn.Sequential(conv(32, 48), nn.PixelShuffle(4)), 32, 4),
    "64->32 3x3 reflect @1/4": (lambda: conv(64, 32), 64, 4),
    "8ch bilinear x4 + 8->3 3x3 reflect @1/4": (
        lambda: nn.Sequential(nn.Upsample(scale_factor=4, mode="bilinear"), conv(8, 3)),
        8,
        4,
    ),
}


def best_ms(fn, repeats: int) -> float:
    fn()  # warm-up: oneDNN picks its kernels on the first call
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def mflop(module: nn.Module, x: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() / 1e6


def measure(size: int, repeats: int) -> list[tuple[str, float, float]]:
    """[(name, ms, MFLOP)] of the candidate layers, then of the student's pair."""
    rows = []
    with torch.inference_mode():
        for name, (build, cin, div) in CANDIDATES.items():
            module, x = build().eval(), torch.rand(1, cin, size // div, size // div)
            ms = best_ms(lambda m=module, x=x: m(x), repeats)
            rows.append((name, ms, mflop(module, x)))
        cfg = ModelConfig(
            EncoderConfig(kind="student", pretrained=False, trainable=True),
            DecoderConfig(kind="student"),
        )
        net = StyleTransferNet(cfg).eval()
        content, style = torch.rand(1, 3, size, size), torch.rand(1, 3, size, size)
        flops = mflop(lambda c: net(c, style), content)
        rows.append(("student pair fp32", best_ms(lambda: net(content, style), repeats), flops))
        net = net.to(memory_format=torch.channels_last)
        content, style = (x.contiguous(memory_format=torch.channels_last) for x in (content, style))
        with torch.autocast("cpu", torch.bfloat16):
            ms = best_ms(lambda: net(content, style), repeats)
        rows.append(("student pair bf16 channels_last", ms, flops))
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512, help="image side in px")
    p.add_argument("--repeats", type=int, default=5, help="timed passes per row (best kept)")
    args = p.parse_args(argv)
    print(f"threads {torch.get_num_threads()}, {args.size} px, best of {args.repeats}")
    print("| layer | ms | MFLOP | GFLOP/s |\n|---|---|---|---|")
    for name, ms, flops in measure(args.size, args.repeats):
        print(f"| {name} | {ms:.1f} | {flops:.0f} | {flops / ms:.1f} |")


if __name__ == "__main__":
    main()
