"""Stylize images with a trained decoder (--checkpoint) or the per-image optimization (--method \
optimize).

    python infer.py --checkpoint release.safetensors --content photos/ --style art/ --out out/
    python infer.py --method optimize --content a.jpg --style b.jpg --steps 300 --out out/

Every content is stylized with every style (folders x folders), or with the weighted mix of all
styles (--style-weights), or region by region (--mask). `stylize(options)` does the work and returns
a summary.

The plugins are loaded here, once (before the flags are parsed, so their names are choices), and
the checked options are passed down as one value (inference/options.py: the weights spec is parsed
once, by the options).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
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
from models.pretrained import PretrainedWeightsError
from models.registry import RegistryError
from runtime.allocator import keep_freed_memory
from weights.checkpoint import CheckpointError

WEIGHTS_HINT = (
    "or pass --weights PATH (a local weights file), or --weights random (smoke runs only)"
)


def load_plugins_once(specs: Sequence[str]) -> None:
    """Import the --plugins (configs/plugins.py), so the names they register are choices and
    registered names; the run's one call, whichever form its options came in."""
    try:
        load_plugins(specs)
    except RegistryError as err:
        raise InferError(f"--plugins: {err}") from None


def parse_args(argv: list[str] | None = None) -> InferOptions:
    """Flags -> InferOptions (the argparse Namespace ends here); --plugins are imported first, so
    the names they register are choices."""
    preload = argparse.ArgumentParser(add_help=False)
    preload.add_argument("--plugins", nargs="+", default=[])
    load_plugins_once(preload.parse_known_args(argv)[0].plugins)
    return InferOptions.from_mapping(vars(build_parser().parse_args(argv)))


def options(value: InferOptions | Mapping | list[str]) -> InferOptions:
    """Checked InferOptions from InferOptions, an argv list, or a mapping of option names (dashes
    or underscores), with their plugins loaded; raises InferError with one line."""
    if isinstance(value, list):  # the flags' choices need the plugins: parse_args loads them
        opts = parse_args(value)
        return check_options(opts)
    opts = value if isinstance(value, InferOptions) else InferOptions.from_mapping(value)
    opts = check_options(opts)  # nan/inf/huge numbers and unknown choices: one line
    load_plugins_once(opts.plugins)
    return opts


def stylize(value: InferOptions | Mapping | list[str]) -> dict:
    """Run inference; returns {'written': [...], 'skipped': [...], 'failed': [{'path', 'error'}],
    'grid': path}.

    Raises InferError (and CheckpointError, PretrainedWeightsError, ConfigError) for errors that
    stop the whole run; a bad input file among others is recorded in 'failed' and the rest is
    written.
    """
    opts = options(value)
    torch.manual_seed(opts.seed)
    plan = plan_jobs(opts)
    return run_jobs(opts, plan)


def main(argv: list[str] | None = None) -> int:
    # a CLI run is one short-lived process: reuse freed activations (runtime/allocator.py)
    keep_freed_memory()
    try:
        # the flags' choices need the plugins: parse inside the try
        summary = stylize(sys.argv[1:] if argv is None else argv)
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
