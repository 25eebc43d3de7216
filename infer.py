"""Stylize images with a trained decoder (--checkpoint) or the per-image optimization (--method \
optimize).

    python infer.py --checkpoint release.safetensors --content photos/ --style art/ --out out/
    python infer.py --method optimize --content a.jpg --style b.jpg --steps 300 --out out/

Every content is stylized with every style (folders x folders), or with the weighted mix of all
styles (--style-weights), or region by region (--mask). `stylize(options)` does the work and returns
a summary.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

import torch

from configs.plugins import load_plugins
from configs.schema import ConfigError
from inference.checks import check_options
from inference.flags import build_parser
from inference.jobs import plan_jobs
from inference.options import InferError, InferOptions
from inference.run import run_jobs
from media.images import ImageReadError
from models.config import parse_weights
from models.pretrained import PretrainedWeightsError
from models.registry import RegistryError
from runtime.allocator import keep_freed_memory
from weights.checkpoint import CheckpointError
from weights.random_check import random_weights

WEIGHTS_HINT = (
    "or pass --weights PATH (a local weights file), or --weights random (smoke runs only)"
)


def parse_args(argv: list[str] | None = None) -> InferOptions:
    """Flags -> InferOptions (the argparse Namespace ends here); --plugins are imported first, so
    the names they register are choices."""
    preload = argparse.ArgumentParser(add_help=False)
    preload.add_argument("--plugins", nargs="+", default=[])
    try:
        load_plugins(preload.parse_known_args(argv)[0].plugins)
    except RegistryError as err:
        raise InferError(f"--plugins: {err}") from None
    return InferOptions.from_mapping(vars(build_parser().parse_args(argv)))


def options(value: InferOptions | Mapping | list[str]) -> InferOptions:
    """InferOptions from InferOptions, an argv list, or a mapping of option names (dashes or
    underscores)."""
    if isinstance(value, InferOptions):
        return value
    if isinstance(value, list):
        return parse_args(value)
    return InferOptions.from_mapping(value)


def stylize(value: InferOptions | Mapping | list[str]) -> dict:
    """Run inference; returns {'written': [...], 'skipped': [...], 'failed': [{'path', 'error'}],
    'grid': path}.

    Raises InferError (and CheckpointError, PretrainedWeightsError, ConfigError) for errors that
    stop the whole run; a bad input file among others is recorded in 'failed' and the rest is
    written.
    """
    opts = check_options(options(value))  # nan/inf/huge numbers and unknown choices: one line
    torch.manual_seed(opts.seed)
    return run_jobs(opts, plan_jobs(opts), lambda: warn_random_weights(opts))


def warn_random_weights(opts: InferOptions) -> None:
    """One WARNING when the images cannot be real stylizations (random weights), after the load."""
    if parse_weights(opts.weights).random:
        print(
            "WARNING: --weights random: the feature network / encoder has RANDOM weights; the "
            "images are NOT meaningful stylizations (smoke test only)",
            file=sys.stderr,
        )
    elif opts.checkpoint and (why := random_weights(opts.checkpoint)):
        print(
            f"WARNING: {Path(opts.checkpoint).name} {why}: the images are "
            f"NOT meaningful stylizations",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    # a CLI run is one short-lived process: reuse freed activations (runtime/allocator.py)
    keep_freed_memory()
    try:
        # the flags' choices need the plugins: parse inside the try
        summary = stylize(parse_args(argv))
    except PretrainedWeightsError as err:
        print(f"error: {err}; {WEIGHTS_HINT}", file=sys.stderr)
        return 2
    except (InferError, CheckpointError, ConfigError, ImageReadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for item in summary["ignored"]:
        print(f"ignored: {item['path']}: {item['reason']}", file=sys.stderr)
    for fail in summary["failed"]:
        print(f"failed: {fail['path']}: {fail['error']}", file=sys.stderr)
    written = [
        p for p in summary["written"] if Path(p).is_file()
    ]  # count files that exist, not attempts
    print(
        f"written {len(written)} to {summary['out']}, skipped {len(summary['skipped'])}, failed "
        f"{len(summary['failed'])}, ignored {len(summary['ignored'])}"
        + (f"; grid {summary['grid']}" if summary.get("grid") else "")
    )
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
