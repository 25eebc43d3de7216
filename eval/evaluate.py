"""Evaluate checkpoints (and optionally the optimization reference) on fixed content x style pairs.

    python -m eval.evaluate --checkpoint runs/a/model.safetensors runs/b/model.safetensors \
        --out reports/eval
    python -m eval.evaluate --checkpoint X.safetensors --pairs pairs.json --optimize-baseline \
        --out reports/eval

The protocol (pairs, resolution, methods, metrics, timing, what "unavailable" means) is written in
eval/protocol.md. Outputs in OUT: metrics.csv / metrics.json / metrics.md (one row per method,
seeded metrics only), timing.csv (seconds per image of each method's stylization: wall time, which
differs from run to run, so it is kept out of the metric tables), grid_<name>.png (content x style
sheet per method), pairs.json (the pairs used, to repeat the run), tb/<name>/ (TensorBoard hparams +
metrics + timing: `tensorboard --logdir OUT/tb`, HParams tab). Two runs on the same inputs give
byte-identical metric tables; only timing.csv differs.

This file is the run: inputs checked, images loaded once, each method run and scored, outputs
written. What a row measures is eval/score.py; the methods and how they are run, eval/methods.py;
the pairs and their grid, eval/pairs.py; the tables, eval/tables.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from configs.cli import ArgumentParser, add_device_flag
from configs.plugins import load_plugins
from eval.loss_metrics import EVAL_SIZE, build_loss_net, prepare
from eval.methods import (
    BASELINE_STEPS,
    CheckpointMethod,
    OptimizeMethod,
    method_names,
    run_method,
    seed_everything,
)
from eval.pairs import default_pairs, pairs_grid, read_pairs, unique, write_pairs
from eval.score import score
from eval.tables import TIMING_COLUMN, log_hparams, write_tables, write_timings
from media.discover import scan_folder
from media.images import load_image, save_image
from media.progress import tqdm
from models.pretrained import PretrainedWeightsError
from runtime.device import resolve_device
from weights.checkpoint import CheckpointError

__all__ = ["evaluate", "main"]


def evaluate(
    checkpoints: Sequence[str | Path],
    out_dir: str | Path,
    pairs_manifest: str | Path | None = None,
    optimize_baseline: bool = False,
    weights: str = "pretrained",
    feature_net: str = "inception",
    size: int = EVAL_SIZE,
    baseline_steps: int = BASELINE_STEPS,
    seed: int = 0,
    device: str = "cpu",
    offline: bool | None = None,
    data_root: str | Path = "data/sample",
    style_domain: str | Path | None = None,
) -> list[dict]:
    """Evaluate each checkpoint (and the optimization baseline) on the pairs; writes OUT (module
    docstring).

    Args:
        checkpoints: release files (architecture from their metadata); may be empty with a baseline.
        out_dir: output folder.
        pairs_manifest: JSON/CSV of content,style pairs (eval.pairs); None: the default val cross
            product.
        optimize_baseline: add the per-image optimization as a row named "optimize".
        weights: loss network and baseline feature network weights, "pretrained" | "random" | a
            file.
        feature_net: "inception" | "random" for LPIPS/FID/KID/ArtFID (see eval.score).
        size: evaluation resolution (EVAL_SIZE for reportable numbers).
        baseline_steps: L-BFGS steps of the baseline.
        seed: seeds the stylization, random-weight networks and metric sampling.
        device: where the methods run ("cpu", "cuda"); metrics run on CPU.
        data_root: root of the default pairs (`root/{content,style}/val`).
        style_domain: a folder of style images pooled into one style that every checkpoint stylizes
            each content with (domain-level style); the metrics still compare with each pair's style
            image.

    Returns:
        The table rows, in the order written.
    """
    if not checkpoints and not optimize_baseline:
        raise ValueError(
            "nothing to evaluate: pass --checkpoint FILE [FILE ...] and/or --optimize-baseline"
        )
    if feature_net not in ("inception", "random"):
        raise ValueError(f"--feature-net must be 'inception' or 'random', got '{feature_net}'")
    out_dir = Path(out_dir)
    pairs = read_pairs(pairs_manifest) if pairs_manifest else default_pairs(data_root)
    inputs = {
        Path(p).resolve()
        for p in [
            *checkpoints,
            *([pairs_manifest] if pairs_manifest else []),
            *(q for pair in pairs for q in (pair.content, pair.style)),
        ]
    }
    names = [
        *method_names([Path(c) for c in checkpoints]),
        *(["optimize"] if optimize_baseline else []),
    ]
    written = [
        "pairs.json",
        "metrics.csv",
        "metrics.json",
        "metrics.md",
        "timing.csv",
        *(f"grid_{name}.png" for name in names),
    ]
    clash = [name for name in written if (out_dir / name).resolve() in inputs]
    if clash:  # the tables, grids and pairs.json go into out_dir: never over an input
        raise ValueError(
            f"--out {out_dir}: writing {clash[0]} would overwrite an input; choose another --out"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_pairs(pairs, out_dir / "pairs.json")
    # Every image once, at the evaluation resolution: all methods see the same pixels.
    images = {
        p: prepare(load_image(p)[None], size)
        for p in unique([q for pair in pairs for q in (pair.content, pair.style)])
    }
    contents = torch.cat([images[p.content] for p in pairs])
    styles = torch.cat([images[p.style] for p in pairs])
    style_set = torch.cat([images[p] for p in unique([p.style for p in pairs])])
    loss_net = build_loss_net(weights, seed)
    domain = None
    if style_domain is not None:  # every image of the folder at the evaluation resolution
        found = scan_folder(style_domain).files
        if not found:
            raise ValueError(f"--style-domain {style_domain} holds no image files")
        domain = [prepare(load_image(p)[None], size) for p in found]

    paths = [Path(c) for c in checkpoints]
    methods = [(name, path) for name, path in zip(method_names(paths), paths)]
    if optimize_baseline:
        methods.append(("optimize", None))
    notes = [
        f"{len(pairs)} pairs at {size}x{size}; loss network weights: {weights}; "
        f"learned-metric networks: {feature_net}"
        + (" (random stand-ins: NOT the published metrics)" if feature_net == "random" else "")
    ]
    if domain is not None:
        notes.append(
            f"checkpoints stylize every content with the pooled style of {len(domain)} images in "
            f"{style_domain}; the optimization row uses each pair's style"
        )
    if optimize_baseline:
        notes.append(
            f"optimize: Gatys et al. per-image optimization, {baseline_steps} L-BFGS steps "
            "(a cheap reference, not converged)"
        )
    rows, timings = [], []
    for name, path in tqdm(methods, desc="evaluate", dynamic_ncols=True):
        seed_everything(seed)
        method = (
            CheckpointMethod(path, name, device)
            if path is not None
            else OptimizeMethod(weights, baseline_steps, seed, device, name)
        )
        if domain is not None and path is not None:
            method.use_domain(domain)
        outputs, seconds = run_method(method, pairs, images, seed)
        row = {"name": name, "kind": method.kind, "pairs": len(pairs)}
        row.update(
            score(outputs, contents, styles, style_set, loss_net, size, feature_net, offline, seed)
        )
        rows.append(row)
        timings.append({"name": name, TIMING_COLUMN: seconds})
        save_image(pairs_grid(pairs, images, outputs), out_dir / f"grid_{name}.png")
        log_hparams(out_dir / "tb" / name, method.hparams(), {**row, TIMING_COLUMN: seconds})
    paths_written = write_tables(rows, out_dir, notes)
    write_timings(timings, out_dir / "timing.csv")
    print(f"evaluated {len(rows)} method(s) on {len(pairs)} pairs -> {paths_written[2]}")
    print(paths_written[2].read_text())
    return rows


WEIGHTS_HINT = (
    "or pass --weights PATH (a local weights file), or --weights random (smoke runs only)"
)


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Command-line entry point; see the module docstring."""
    parser = ArgumentParser(prog="python -m eval.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint",
        nargs="*",
        default=[],
        help="release .safetensors files, step folders (RUN/checkpoints/step_N) or run folders",
    )
    parser.add_argument(
        "--pairs",
        default=None,
        help="JSON/CSV manifest of content,style pairs "
        "(default: data/sample/{content,style}/val cross product)",
    )
    parser.add_argument(
        "--optimize-baseline", action="store_true", help="add the Gatys optimization as a row"
    )
    parser.add_argument(
        "--baseline-steps", type=int, default=BASELINE_STEPS, help="L-BFGS steps of the baseline"
    )
    parser.add_argument(
        "--weights",
        default="pretrained",
        help="loss network / baseline weights: pretrained | random | a local state dict file",
    )
    parser.add_argument(
        "--feature-net",
        default="inception",
        choices=["inception", "random"],
        help="LPIPS/FID/KID networks: the standard ones (unavailable offline) or random stand-ins",
    )
    parser.add_argument(
        "--size", type=int, default=EVAL_SIZE, help="evaluation resolution (square crop)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument(
        "--style-domain", help="a folder of style images pooled into one style for every checkpoint"
    )
    add_device_flag(parser)
    parser.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="never try to download metric weights (default: env HF_HUB_OFFLINE)",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--plugins",
        nargs="+",
        default=[],
        metavar="FILE|MODULE",
        help="the plugins your checkpoints' transforms, encoders or decoders come from",
    )
    args = parser.parse_args(argv)
    # ranges before any network or image is loaded: one line now, not a traceback minutes later
    for ok, problem in (
        (
            args.size >= 16,
            f"--size: {args.size}; must be >= 16 (the loss network reads relu5_1, at stride 16)",
        ),
        (args.baseline_steps >= 1, f"--baseline-steps: {args.baseline_steps}; must be >= 1"),
        (
            0 <= args.seed < 2**32,
            f"--seed: {args.seed}; must be in [0, 2**32) (numpy's seed range)",
        ),
    ):
        if not ok:
            parser.exit(2, f"error: {problem}\n")
    try:
        load_plugins(args.plugins)
        return evaluate(
            args.checkpoint,
            args.out,
            args.pairs,
            args.optimize_baseline,
            args.weights,
            args.feature_net,
            args.size,
            args.baseline_steps,
            args.seed,
            str(resolve_device(args.device)),
            args.offline,
            style_domain=args.style_domain,
        )
    except PretrainedWeightsError as err:
        parser.exit(2, f"error: {err}; {WEIGHTS_HINT}\n")
    except (
        ValueError,
        CheckpointError,
        FileNotFoundError,
    ) as err:  # ManifestError and ImageReadError included
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    main()
