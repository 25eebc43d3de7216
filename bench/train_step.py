"""The training-step benchmark: one optimizer step of each recipe against a plain PyTorch AdaIN \
step.

    python -m bench train-step [--configs vgg_adain_meanstd vit_adain_meanstd] [--batch 8] \
        [--out X.json]
    # the layout rule:
    python -m bench train-step --memory-formats contiguous channels_last --precisions fp32 bf16

Each recipe (configs/<name>.yaml) runs its real step (training/objective.py forward under the
precision's autocast, backward, Adam) with random weights on in-memory batches at its crop size, so
the data loader is not timed; bench/plain_adain.py's step runs in the same process (NCHW float32).
Reported per row: seconds per step (the harness's median), images/s, GFLOP (forward and backward,
counted by the harness), achieved GFLOP/s, the ratio to the reference convolution's forward +
backward GFLOP/s in the same precision, and the speed-up over the plain float32 step. The reference:
bench.harness.reference_conv's 3x3 256->256 conv on a batch of 8 64x64 maps, forward and both
backward convolutions (input and weight gradients). The process keeps freed memory (python -m bench
does, as train.py does on CPU); the JSON names the allocator.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from bench.cases import CONFIG_DIR, train_size, train_step_pass
from bench.harness import Measurement, Timing, count_flops, measure, reference_conv, sync
from bench.plain_adain import plain_step
from bench.profile_step import markdown as profile_markdown
from bench.profile_step import profile_step
from configs.cli import ArgumentParser, add_device_flag
from media.files import atomic_write
from media.progress import tqdm
from models.pretrained import seeded
from runtime.device import check_precision, cpu_name, memory_format, resolve_device

DEFAULT_CONFIGS = ("vgg_adain_meanstd", "vit_adain_meanstd")
# a 10 s step is timed 3 times after its counted and plain warm-ups, never cut short to one sample
TIMER = {"min_repeats": 3, "max_repeats": 3, "min_time_s": 0.0, "long_s": math.inf}


def run_train_steps(
    configs: Sequence[str] = DEFAULT_CONFIGS,
    batch: int = 8,
    precisions: Sequence[str] = ("fp32", "bf16"),
    size: int | None = None,
    quick: bool = False,
    device: str = "auto",
    memory_formats: Sequence[str] = ("auto",),
) -> dict:
    """Rows for the plain step and every (config, precision, memory format); see the module
    docstring.

    Raises:
        ValueError: fp16 on a CPU (emulated there, see runtime.device.check_precision), or a bad
            device.
    """
    device = resolve_device(device)
    for precision in precisions:
        check_precision(device, precision)
    timer = (
        {"min_repeats": 2, "max_repeats": 2, "min_time_s": 0.0, "long_s": math.inf}
        if quick
        else TIMER
    )
    reference = {
        p: reference_conv(device, p, quick, backward=True)["gflops_per_s"] for p in precisions
    }
    rows = []
    plain_size = size or train_size(configs[0]) or 256
    with seeded(0):
        plain = plain_step(batch, plain_size)
    m = measure(plain, device, **timer)
    plain_s = m.timing.seconds
    rows.append(
        _row(
            "plain_adain",
            "fp32",
            batch,
            plain_size,
            m,
            reference["fp32"] if "fp32" in reference else None,
            plain_s,
        )
    )
    for config in tqdm(configs, desc="train-step configs", unit="config"):
        crop = size or train_size(config)
        for precision in precisions:
            steps = {
                layout: train_step_pass(
                    config, batch, crop, precision, device, [f"train.memory_format={layout}"]
                )
                for layout in memory_formats
            }
            for layout, m in _interleaved(steps, device, timer).items():
                row = _row(config, precision, batch, crop, m, reference[precision], plain_s)
                rows.append({**row, "memory_format": _layout_name(layout, device)})
    return {
        "device": str(device),
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "batch": batch,
        # an allocator such as tcmalloc changes every row
        "ld_preload": os.environ.get("LD_PRELOAD", ""),
        "reference_conv_train_gflops": reference,
        "rows": rows,
    }


def _interleaved(steps: dict, device: torch.device, timer: dict) -> dict[str, Measurement]:
    """Time the layouts' steps round-robin (A B A B ...), median per layout: on a shared machine a
    load change then hits every layout alike instead of whichever was timed during it. One counted
    warm-up each."""
    if len(steps) == 1:
        ((layout, step),) = steps.items()
        return {layout: measure(step, device, **timer)}
    flops = {layout: count_flops(step) for layout, step in steps.items()}  # the warm-up calls
    samples: dict[str, list[float]] = {layout: [] for layout in steps}
    for _ in range(timer["max_repeats"]):
        for layout, step in steps.items():
            sync(device)
            start = time.perf_counter()
            step()
            sync(device)
            samples[layout].append(time.perf_counter() - start)
    return {
        layout: Measurement(
            Timing(statistics.median(t), len(t), max(t) / min(t) - 1), flops[layout]
        )
        for layout, t in samples.items()
    }


def _layout_name(name: str, device: torch.device) -> str:
    """`auto` resolved on this machine, e.g. "auto=channels_last"."""
    resolved = (
        "channels_last" if memory_format(name, device) == torch.channels_last else "contiguous"
    )
    return resolved if name != "auto" else f"auto={resolved}"


def _row(
    name: str, precision: str, batch: int, size: int, m, reference: float | None, plain_s: float
) -> dict:
    return {
        "step": name,
        "precision": precision,
        "batch": batch,
        "size": size,
        "seconds": m.timing.seconds,
        "spread": m.timing.spread,
        "images_per_s": batch / m.timing.seconds,
        "gflop": m.flops / 1e9,
        "gflops_per_s": m.gflops_per_s,
        "ratio_to_reference": m.gflops_per_s / reference if reference else None,
        "speedup_vs_plain_fp32": plain_s / m.timing.seconds,
    }


def run_profiles(args) -> dict:
    profiles = {}
    for config in args.configs:
        crop = args.size or train_size(config)
        for precision in args.precisions:
            step = train_step_pass(config, args.batch, crop, precision, resolve_device(args.device))
            profiles[f"{config} {precision} {args.batch} x {crop}"] = profile_step(
                step, step.objective
            )
    print(profile_markdown(profiles))
    if args.out:
        atomic_write(args.out, json.dumps(profiles, indent=1))
        atomic_write(Path(args.out).with_suffix(".md"), profile_markdown(profiles))
    return profiles


def markdown(result: dict) -> str:
    lines = [
        "| step | precision | layout | batch x size | s/step | images/s | GFLOP | GFLOP/s | / ref "
        "conv | vs plain fp32 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        ratio = f"{r['ratio_to_reference']:.2f}" if r["ratio_to_reference"] else "-"
        lines.append(
            f"| {r['step']} | {r['precision']} | {r.get('memory_format', 'contiguous')} | "
            f"{r['batch']} x {r['size']} | {r['seconds']:.2f} | "
            f"{r['images_per_s']:.2f} | {r['gflop']:.0f} | {r['gflops_per_s']:.0f} | {ratio} | "
            f"{r['speedup_vs_plain_fp32']:.2f}x |"
        )
    ref = ", ".join(f"{p} {g:.0f}" for p, g in result["reference_conv_train_gflops"].items())
    return "\n".join(lines) + (
        f"\n\nReference conv forward + backward GFLOP/s: {ref} ({result['threads']} "
        f"threads, {result.get('cpu', result['device'])}).\n"
    )


def main(argv: Sequence[str] | None = None) -> dict:
    parser = ArgumentParser(prog="python -m bench train-step", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=list(DEFAULT_CONFIGS),
        help=f"recipe config names in {CONFIG_DIR.name}/",
    )
    parser.add_argument("--batch", type=int, default=8, help="images per step")
    parser.add_argument(
        "--size", type=int, help="crop size for every step (default: each config's data.crop)"
    )
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=["fp32", "bf16"],
        choices=["fp32", "bf16", "fp16"],
        help="autocast precisions to time (fp16: GPUs only)",
    )
    add_device_flag(parser)
    parser.add_argument(
        "--memory-formats",
        nargs="+",
        default=["auto"],
        choices=["auto", "contiguous", "channels_last"],
        help="train.memory_format values to time (auto: the rule of runtime/device.py)",
    )
    parser.add_argument("--quick", action="store_true", help="two timed steps each (tests)")
    parser.add_argument("--out", help="write the result as JSON (and a .md table beside it)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help=(
            "instead of timing: one profiled step per config and "
            "precision, by part and operator kind"
        ),
    )
    args = parser.parse_args(argv)
    if args.profile:
        return run_profiles(args)
    try:
        result = run_train_steps(
            args.configs,
            args.batch,
            args.precisions,
            args.size,
            args.quick,
            args.device,
            args.memory_formats,
        )
    except ValueError as err:
        parser.exit(2, f"error: {err}\n")
    print(markdown(result))
    if args.out:
        atomic_write(args.out, json.dumps(result, indent=1))
        atomic_write(Path(args.out).with_suffix(".md"), markdown(result))
    return result
