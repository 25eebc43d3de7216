"""The training-step benchmark: one optimizer step of each recipe against a plain PyTorch AdaIN step.

    python -m bench train-step [--configs vgg_adain_meanstd vit_adain_meanstd] [--batch 8] [--out X.json]

Each recipe (configs/<name>.yaml) runs its real step (training/objective.py forward under the precision's
autocast, backward, Adam) with random weights on in-memory batches at its crop size, so the data loader is
not timed; bench/plain_adain.py's step runs in the same process (NCHW float32). Reported per row: seconds
per step (the harness's median), images/s, GFLOP (forward and backward, counted by the harness), achieved
GFLOP/s, the ratio to the reference convolution's forward + backward GFLOP/s in the same precision, and the
speed-up over the plain float32 step. The reference: bench.harness.reference_conv's 3x3 256->256 conv on a
batch of 8 64x64 maps, forward and both backward convolutions (input and weight gradients). The process keeps
freed memory (python -m bench does, as train.py does on CPU); the JSON names the allocator.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from bench.cases import CONFIG_DIR, train_size, train_step_pass
from bench.harness import measure, reference_conv
from bench.plain_adain import plain_step
from bench.profile_step import markdown as profile_markdown
from bench.profile_step import profile_step
from media.files import atomic_write
from weights.pretrained import seeded

DEFAULT_CONFIGS = ("vgg_adain_meanstd", "vit_adain_meanstd")
# a 10 s step is timed 3 times after its counted and plain warm-ups, never cut short to one sample
TIMER = {"min_repeats": 3, "max_repeats": 3, "min_time_s": 0.0, "long_s": math.inf}


def run_train_steps(configs: Sequence[str] = DEFAULT_CONFIGS, batch: int = 8,
                    precisions: Sequence[str] = ("fp32", "bf16"), size: int | None = None, quick: bool = False) -> dict:
    """Rows for the plain step and every (config, precision); see the module docstring."""
    device = torch.device("cpu")
    timer = {"min_repeats": 2, "max_repeats": 2, "min_time_s": 0.0, "long_s": math.inf} if quick else TIMER
    reference = {p: reference_conv(device, p, quick, backward=True)["gflops_per_s"] for p in precisions}
    rows = []
    plain_size = size or train_size(configs[0]) or 256
    with seeded(0):
        plain = plain_step(batch, plain_size)
    m = measure(plain, device, **timer)
    plain_s = m.timing.seconds
    rows.append(_row("plain_adain", "fp32", batch, plain_size, m, reference["fp32"] if "fp32" in reference else None,
                     plain_s))
    for config in configs:
        crop = size or train_size(config)
        for precision in precisions:
            step = train_step_pass(config, batch, crop, precision, device)
            rows.append(_row(config, precision, batch, crop, measure(step, device, **timer), reference[precision],
                             plain_s))
    return {"device": "cpu", "threads": torch.get_num_threads(), "batch": batch,
            "ld_preload": os.environ.get("LD_PRELOAD", ""),  # an allocator such as tcmalloc changes every row
            "reference_conv_train_gflops": reference, "rows": rows}


def _row(name: str, precision: str, batch: int, size: int, m, reference: float | None, plain_s: float) -> dict:
    return {"step": name, "precision": precision, "batch": batch, "size": size, "seconds": m.timing.seconds,
            "spread": m.timing.spread, "images_per_s": batch / m.timing.seconds, "gflop": m.flops / 1e9,
            "gflops_per_s": m.gflops_per_s, "ratio_to_reference": m.gflops_per_s / reference if reference else None,
            "speedup_vs_plain_fp32": plain_s / m.timing.seconds}


def run_profiles(args) -> dict:
    profiles = {}
    for config in args.configs:
        crop = args.size or train_size(config)
        for precision in args.precisions:
            step = train_step_pass(config, args.batch, crop, precision, torch.device("cpu"))
            profiles[f"{config} {precision} {args.batch} x {crop}"] = profile_step(step, step.objective)
    print(profile_markdown(profiles))
    if args.out:
        atomic_write(args.out, json.dumps(profiles, indent=1))
        atomic_write(Path(args.out).with_suffix(".md"), profile_markdown(profiles))
    return profiles


def markdown(result: dict) -> str:
    lines = ["| step | precision | batch x size | s/step | images/s | GFLOP | GFLOP/s | / ref conv | vs plain fp32 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        ratio = f"{r['ratio_to_reference']:.2f}" if r["ratio_to_reference"] else "-"
        lines.append(f"| {r['step']} | {r['precision']} | {r['batch']} x {r['size']} | {r['seconds']:.2f} | "
                     f"{r['images_per_s']:.2f} | {r['gflop']:.0f} | {r['gflops_per_s']:.0f} | {ratio} | "
                     f"{r['speedup_vs_plain_fp32']:.2f}x |")
    ref = ", ".join(f"{p} {g:.0f}" for p, g in result["reference_conv_train_gflops"].items())
    return "\n".join(lines) + f"\n\nReference conv forward + backward GFLOP/s: {ref} ({result['threads']} threads).\n"


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench train-step", description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS),
                        help=f"recipe config names in {CONFIG_DIR.name}/")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, help="crop size for every step (default: each config's data.crop)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--quick", action="store_true", help="two timed steps each (tests)")
    parser.add_argument("--out", help="write the result as JSON (and a .md table beside it)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of timing: one profiled step per config and precision, by part and operator kind")
    args = parser.parse_args(argv)
    if args.profile:
        return run_profiles(args)
    result = run_train_steps(args.configs, args.batch, args.precisions, args.size, args.quick)
    print(markdown(result))
    if args.out:
        atomic_write(args.out, json.dumps(result, indent=1))
        atomic_write(Path(args.out).with_suffix(".md"), markdown(result))
    return result
