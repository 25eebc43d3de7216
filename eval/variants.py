"""Train the AdaIN recipe's research variants and compare them: one command, smoke or real.

    python -m eval.variants --out reports/variants                   # offline smoke: random
                                                                       weights, sample set
    python -m eval.variants --out reports/variants --full --weights pretrained \
        --data-root data/coco_wikiart \
        --launcher "accelerate launch --multi_gpu --num_processes 2"  # the real comparison, on GPUs

Variants (eval/variant_configs.py, read from the registries at run time, plugins included): the
recipe configs/vgg_adain_meanstd.yaml and one change each, every other registered feature transform
(vgg_<transform>_meanstd) and style loss (vgg_adain_<loss>). Each trains through train.py in its
own process (`--launcher`, so multi-GPU runs work) into OUT/runs/<variant>, from the resolved config
written to OUT/configs/<variant>.yaml; a run folder that already holds checkpoints is resumed
(`--resume latest`), so an interrupted comparison continues and a finished one is not retrained.
Then eval.runs.compare compares the training curves (OUT/curves/summary.md) and eval.evaluate scores
every variant and the per-image optimization reference on the val pairs (OUT/eval/metrics.md: one
row per variant plus `optimize`).

Without --full, every variant runs configs/smoke.yaml's data, optim and train sections (64 px crops,
batch 2, fp32) for 10 steps instead of its own, and is evaluated at 128 px with a 10-step
optimization reference: a few CPU minutes that check the pipeline, not the methods. --full keeps
each config's own (160k steps at 256 px) and evaluates at eval.loss_metrics.EVAL_SIZE with
eval.methods.BASELINE_STEPS. `--weights random` builds every network with random weights (offline;
the numbers then rank nothing), `--weights pretrained` the real ones.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from configs.cli import ArgumentParser
from configs.plugins import load_plugins
from configs.schema import Config, to_yaml
from eval.evaluate import evaluate
from eval.loss_metrics import EVAL_SIZE
from eval.methods import BASELINE_STEPS
from eval.runs.compare import compare_runs
from eval.variant_configs import REPO, SMOKE_STEPS, variant_config, variants
from media.files import atomic_write
from training.checkpoints import complete_checkpoints

# smoke: the models saw 64 px crops, so evaluating at 256 px buys nothing
SMOKE_EVAL_SIZE, SMOKE_BASELINE_STEPS = 128, 10
CURVE_TAGS = ["loss/total", "loss/content", "loss/style"]


def train_variant(cfg: Config, out: Path, launcher: Sequence[str]) -> Path:
    """Train one variant with train.py in a new process (resumed if its run folder has
    checkpoints)."""
    config_file = atomic_write(out / "configs" / f"{cfg.name}.yaml", to_yaml(cfg))
    run_dir = out / "runs" / cfg.name
    resume = ["--resume", "latest"] if complete_checkpoints(run_dir) else []
    cmd = [
        *launcher,
        str(REPO / "train.py"),
        "--config",
        str(config_file),
        "--run-dir",
        str(run_dir),
        *resume,
    ]
    print(
        f"== {cfg.name} ({variants().get(cfg.name, ('custom',))[0]}): {shlex.join(cmd)}", flush=True
    )
    # from the caller's folder: relative data and output paths mean the same
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise RuntimeError(
            f"training {cfg.name} failed (exit {proc.returncode}); its log is above, its run "
            f"folder is {run_dir}"
        )
    return run_dir


def compare_variants(
    out_dir: str | Path,
    names: Sequence[str] | None = None,
    full: bool = False,
    weights: str = "random",
    data_root: str | None = None,
    steps: int | None = None,
    overrides: Sequence[str] = (),
    launcher: str | None = None,
    eval_size: int | None = None,
    baseline_steps: int | None = None,
    device: str | None = None,
    plugins: Sequence[str] = (),
) -> list[dict]:
    """Train every variant, compare their curves, evaluate them with the optimization reference.

    Args:
        out_dir: OUT (module docstring).
        names: names from `variants()` (None: all of them).
        full: the configs' own data/optim/train sections (real runs) instead of
            configs/smoke.yaml's.
        weights: "random" (offline smoke) or "pretrained" for the encoder, loss network, evaluation
            networks.
        data_root: prepared data (`root/{content,style}/{train,val}`); None: the configs' own
            (smoke: data/sample, built here when missing).
        steps: train.steps of every variant (None: the config's, or SMOKE_STEPS without `full`).
        overrides: `key=value` config overrides applied to every variant (e.g. train.batch_size=16).
        launcher: the command that runs train.py, e.g. "accelerate launch --multi_gpu
            --num_processes 2" (None: this Python interpreter, one process).
        eval_size, baseline_steps: evaluation resolution and optimization-reference steps (None:
            smoke or full defaults, module docstring).
        device: where evaluation stylizes (None: cuda when available).
        plugins: plugin files or modules (models/registry.py): their transforms and losses become
            variants.

    Returns:
        The evaluation rows (eval.evaluate), one per variant then `optimize`.
    """
    plugins = load_plugins(plugins)
    known = variants()
    names = list(known) if names is None else list(names)
    unknown = [v for v in names if v not in known]
    if unknown or not names:
        raise ValueError(
            f"--variants: {', '.join(unknown) or '(none)'}; choose from {', '.join(known)}"
        )
    if weights not in ("random", "pretrained"):
        raise ValueError(f"--weights: {weights}; choose random or pretrained")
    out = Path(out_dir).resolve()
    # every config is read and checked before the first (long) training starts: a typo costs nothing
    configs = [
        variant_config(v, full, weights, data_root, steps, overrides, plugins) for v in names
    ]
    root = Path(configs[0].data.root)
    if not full and data_root is None and not (root / "content").is_dir():
        from data_prep.sample import (
            build_sample,
        )  # the offline sample set, as `python -m data_prep.sample`

        build_sample(root)
    runs = [
        train_variant(cfg, out, shlex.split(launcher) if launcher else [sys.executable])
        for cfg in configs
    ]
    compare_runs(runs, out / "curves", tags=CURVE_TAGS)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")  # evaluate()'s default: cpu
    return evaluate(
        runs,
        out / "eval",
        optimize_baseline=True,
        weights=weights,
        feature_net="random" if weights == "random" else "inception",
        size=eval_size or (EVAL_SIZE if full else SMOKE_EVAL_SIZE),
        baseline_steps=baseline_steps or (BASELINE_STEPS if full else SMOKE_BASELINE_STEPS),
        offline=True if weights == "random" else None,
        data_root=root,
        device=device,
    )


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Command-line entry point; see the module docstring."""
    p = ArgumentParser(prog="python -m eval.variants", description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="output folder: configs/, runs/, curves/, eval/")
    p.add_argument(
        "--variants",
        nargs="+",
        default=None,
        metavar="NAME",
        help="a subset of the variants (default: all; the recipe, then vgg_<transform>_meanstd and "
        "vgg_adain_<loss> for every registered transform and style loss)",
    )
    p.add_argument(
        "--plugins",
        nargs="+",
        default=[],
        metavar="FILE|MODULE",
        help="your own transforms/losses (models/registry.py): each becomes a variant",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="the configs' own data/optim/train (real runs); default: configs/smoke.yaml's",
    )
    p.add_argument(
        "--weights",
        choices=["random", "pretrained"],
        default="random",
        help="random: offline smoke runs (numbers rank nothing); pretrained: ImageNet VGG19 etc.",
    )
    p.add_argument(
        "--data-root", help="prepared data root (default: the configs'; smoke: data/sample)"
    )
    p.add_argument(
        "--steps",
        type=int,
        help=f"train.steps of every variant (default {SMOKE_STEPS}; --full: the config's)",
    )
    p.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="config overrides for every variant, e.g. train.batch_size=16",
    )
    p.add_argument(
        "--launcher",
        help='runs train.py, e.g. "accelerate launch --multi_gpu --num_processes 2" '
        "(default: this Python, one process)",
    )
    p.add_argument(
        "--eval-size",
        type=int,
        help=f"evaluation resolution (default {SMOKE_EVAL_SIZE}; --full {EVAL_SIZE})",
    )
    p.add_argument(
        "--baseline-steps",
        type=int,
        help=f"optimization reference L-BFGS steps (default "
        f"{SMOKE_BASELINE_STEPS}; --full {BASELINE_STEPS})",
    )
    p.add_argument("--device", help="evaluation device (default: cuda when available)")
    args = p.parse_args(argv)
    for ok, problem in (
        (args.steps is None or args.steps >= 1, f"--steps: {args.steps}; must be >= 1"),
        (args.eval_size is None or args.eval_size >= 16, f"--eval-size: {args.eval_size}; >= 16"),
        (
            args.baseline_steps is None or args.baseline_steps >= 1,
            f"--baseline-steps: {args.baseline_steps}; must be >= 1",
        ),
    ):
        if not ok:
            p.exit(2, f"error: {problem}\n")
    try:
        return compare_variants(
            args.out,
            args.variants,
            args.full,
            args.weights,
            args.data_root,
            args.steps,
            args.overrides,
            args.launcher,
            args.eval_size,
            args.baseline_steps,
            args.device,
            args.plugins,
        )
    except (ValueError, RuntimeError, FileNotFoundError) as err:  # ConfigError is a ValueError
        p.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    main()
