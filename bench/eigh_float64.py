"""Measure the float64 eigendecompositions of the w2 style loss and the wct transform.

    python -m bench.eigh_float64 [--batch 8] [--repeats 3] [--threads 1] [--device cpu]

Why: w2 (models/losses.py) and wct (models/transforms.py) solve C x C symmetric eigenproblems in
float64 every step, one per style layer and sample. A T4 runs float64 at 1/32 of its float32 rate;
on a CPU the two differ by ~2x. This prints, per VGG19 style layer width, the median seconds of
torch.linalg.eigh on a (batch, C, C) covariance in float64 and float32, of a w2_distance forward +
backward at that width (the loss of one layer of one step), and of one wct transfer of a (1, 512,
32, 32) relu4_1 map. Run it where the GPU is to get the GPU figures (--device cuda).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from models.losses import mean_cov_stat, w2_distance
from models.registry import TRANSFORMS
from models.transfer import transfer

WIDTHS = (64, 128, 256, 512)  # relu1_1 .. relu4_1


def timed(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up (allocations, kernels)
    samples = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--threads", type=int, default=1, help="CPU threads (1: stable on a shared machine)"
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device, g = torch.device(args.device), torch.Generator().manual_seed(0)
    print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch}")
    print("| C | eigh float64 s | eigh float32 s | w2 fwd+bwd s |")
    print("|---|---|---|---|")
    for c in WIDTHS:
        feats = torch.randn(args.batch, c, 16, 16, generator=g).relu().to(device)
        cov = mean_cov_stat(feats)[..., 1:]
        f64, f32 = (
            timed(lambda dt=dt, cov=cov: torch.linalg.eigh(cov.to(dt)), device, args.repeats)
            for dt in (torch.float64, torch.float32)
        )
        target = mean_cov_stat(torch.randn(1, c, 16, 16, generator=g).relu().to(device))

        def w2(feats=feats, target=target):
            out = feats.clone().requires_grad_()
            w2_distance(mean_cov_stat(out), target).backward()

        print(f"| {c} | {f64:.4f} | {f32:.4f} | {timed(w2, device, args.repeats):.4f} |")
    content = torch.randn(1, 512, 32, 32, generator=g).relu().to(device)
    style = TRANSFORMS["wct"].stats(torch.randn(1, 512, 32, 32, generator=g).relu().to(device))
    wct = timed(lambda: transfer(TRANSFORMS["wct"], content, [style]), device, args.repeats)
    print(f"wct transfer, (1, 512, 32, 32) relu4_1 map: {wct:.4f} s")


if __name__ == "__main__":
    main()
