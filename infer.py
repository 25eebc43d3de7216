"""Stylize images with a trained decoder (--checkpoint) or the per-image optimization (--method optimize).

    python infer.py --checkpoint release.safetensors --content photos/ --style art/ --out out/
    python infer.py --method optimize --content a.jpg --style b.jpg --steps 300 --out out/

Every content is stylized with every style (folders x folders), or with the weighted mix of all styles
(--style-weights), or region by region (--mask). `stylize(options)` does the work and returns a summary.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

import torch
from tqdm import tqdm

from configs.schema import ConfigError
from data_prep.images import ImageReadError
from inference.allocator import keep_freed_memory
from inference.jobs import InferError, plan_jobs
from inference.run import run_jobs
from models.checkpoint import CheckpointError
from models.pretrained import PretrainedWeightsError


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got '{text}'") from None


def _ints(text: str) -> list[int]:
    return [int(v) for v in _floats(text)]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = p.add_argument
    add("--content", nargs="+", required=True, help="content files, folders or globs")
    add("--style", nargs="+", required=True, help="style files, folders or globs")
    add("--out", default="outputs", help="output folder")
    add("--method", choices=["decoder", "optimize"], default=None, help="default: decoder with --checkpoint")
    add("--checkpoint", help="release .safetensors (or .pth/.pt with --config)")
    add("--config", help="experiment YAML giving the model config for plain .pth checkpoints")
    add("--weights", default="pretrained", help="pretrained | random (offline smoke runs) | PATH, for the "
        "optimization's feature net and an encoder the checkpoint does not hold")
    add("--alpha", type=_floats, default=[1.0], help="content-style trade-off, one value or a list 0,0.5,1")
    add("--style-weights", type=_floats, help="mix all styles with these weights, e.g. 0.3,0.7")
    add("--mask", help="label image: each distinct color (sorted) is a region taking the next style")
    add("--preserve-color", choices=["none", "luminance", "covariance"], default="none")
    add("--size", type=int, help="short side of the content (aspect kept)")
    add("--max-size", type=int, help="cap on the long side")
    add("--style-size", type=int, help="short side of the styles (default: --size)")
    add("--upscale", action="store_true", help="allow enlarging images smaller than --size")
    add("--format", choices=["png", "jpg"], default="png")
    add("--grid", action="store_true", help="also write OUT/grid.png, a content x style sheet")
    add("--device", choices=["auto", "cpu", "cuda"], default="auto")
    add("--precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    add("--batch-size", type=int, default=1, help="contents of equal size per forward pass")
    add("--seed", type=int, default=0)
    add("--skip-existing", action="store_true")
    add("--tile-size", type=int, default=1024, help="tile images whose long side exceeds this (0: never)")
    add("--tile-overlap", type=int, default=128)
    add("--no-channels-last", dest="channels_last", action="store_false")
    g = p.add_argument_group("optimization (--method optimize)")
    g.add_argument("--optimizer", choices=["adam", "lbfgs"], default="adam")
    g.add_argument("--steps", type=_ints, default=[200], help="steps per scale (one value or one per scale)")
    g.add_argument("--lr", type=float, default=0.0, help="0: 0.02 for adam, 1.0 for lbfgs")
    g.add_argument("--init", choices=["content", "noise", "content+noise"], default="content")
    g.add_argument("--content-weight", type=float, default=1.0)
    g.add_argument("--style-weight", type=float, default=None, help="default models.gatys.DEFAULT_STYLE_WEIGHT")
    g.add_argument("--tv-weight", type=float, default=None, help="default models.gatys.DEFAULT_TV_WEIGHT")
    g.add_argument("--style-loss", choices=["gram", "mean_std"], default="gram")
    g.add_argument("--feature-net", choices=["vgg19", "resnet50"], default="vgg19")
    g.add_argument("--scales", type=_ints, default=[], help="coarse-to-fine short sides, e.g. 256,512")
    g.add_argument("--save-every", type=int, default=0, help="write intermediate images + loss log every N")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def options(args_or_options: argparse.Namespace | Mapping | list[str]) -> argparse.Namespace:
    """Namespace from a Namespace, an argv list, or a mapping of option names (dashes or underscores)."""
    if isinstance(args_or_options, argparse.Namespace):
        return args_or_options
    if isinstance(args_or_options, list):
        return parse_args(args_or_options)
    given = {k.replace("-", "_"): v for k, v in args_or_options.items()}
    args = parse_args(["--content", "_", "--style", "_"])
    for key, value in given.items():
        if not hasattr(args, key):
            raise ValueError(f"unknown inference option '{key}'")
        setattr(args, key, value)
    for key in ("content", "style", "alpha"):
        if not isinstance(getattr(args, key), (list, tuple)):
            setattr(args, key, [getattr(args, key)])
    return args


def stylize(args_or_options) -> dict:
    """Run inference; returns {'written': [...], 'skipped': [...], 'failed': [{'path', 'error'}], 'grid': path}.

    Raises InferError (and CheckpointError, PretrainedWeightsError, ConfigError) for errors that stop the
    whole run; a bad input file among others is recorded in 'failed' and the rest is written.
    """
    args = options(args_or_options)
    torch.manual_seed(args.seed)
    plan = plan_jobs(args)
    if args.weights == "random":
        print("WARNING: --weights random: the feature network / encoder has RANDOM weights; the images are NOT "
              "meaningful stylizations (smoke test only)", file=sys.stderr)
    bar = tqdm(total=plan.total_pairs, desc="stylize", unit="pair", disable=None)
    try:
        return run_jobs(args, plan, bar)
    finally:
        bar.close()


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # a CLI run is one short-lived process: reuse freed activations (inference/allocator.py)
    try:
        summary = stylize(parse_args(argv))
    except (InferError, CheckpointError, PretrainedWeightsError, ConfigError, ImageReadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for fail in summary["failed"]:
        print(f"failed: {fail['path']}: {fail['error']}", file=sys.stderr)
    print(f"written {len(summary['written'])}, skipped {len(summary['skipped'])}, failed {len(summary['failed'])}"
          + (f"; grid {summary['grid']}" if summary.get("grid") else ""))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
