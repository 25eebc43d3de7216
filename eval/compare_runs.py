"""Compare training runs from their TensorBoard event files: a summary table and a plot per tag.

    python -m eval.compare_runs runs/ --out reports/cmp
    python -m eval.compare_runs runs/gram runs/meanstd --out reports/cmp --tags loss/total,loss/style

Each positional argument is a run folder or a log root; every folder below it that directly holds an
event file is one run, named by its path relative to the common root of all runs. For every tag the
summary gives, per run: final value, best value and its step (min, or max for tags starting with
"throughput"), the TensorBoard-smoothed final value, the number of points, the last step, and the
value at the last step all runs reached ("aligned" comparison: runs of different lengths are compared
at the same step). Writes OUT/summary.csv, OUT/summary.md, OUT/<tag>.png per tag and OUT/all_tags.png.
"""

import argparse
import csv
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from eval.tensorboard_io import find_runs, read_scalars
from media.files import atomic_path, atomic_write, safe_filename

# Tags for which larger is better; every other tag is a loss-like quantity (smaller is better).
# Which end of a curve is "best", by tag prefix (first match wins; losses and everything else: lower).
# lr and grad_norm describe the run rather than score it: no best value (nan).
DIRECTIONS: tuple[tuple[str, str | None], ...] = (
    ("throughput/data_wait_fraction", "min"), ("throughput/run_data_wait_fraction", "min"),
    ("throughput/", "max"), ("lr", None), ("grad_norm", None),
)

__all__ = ["SummaryRow", "compare_runs", "main", "smooth_tensorboard"]


@dataclass(frozen=True)
class SummaryRow:
    """One (run, tag) line of the summary. Steps are global training steps as logged."""

    run: str
    tag: str
    final: float  # value at the last logged step
    best: float  # min (max for throughput* tags) over all points
    best_step: int
    smoothed_final: float  # last value of the TensorBoard-smoothed curve
    num_points: int
    last_step: int
    common_step: int  # last step every run with this tag reached
    at_common_step: float  # this run's value at the last logged step <= common_step


def smooth_tensorboard(values: Sequence[float], weight: float) -> list[float]:
    """The debiased exponential moving average that TensorBoard's UI draws with the smoothing slider.

    last_k = weight * last_{k-1} + (1 - weight) * v_k with last_0 = 0, shown as last_k / (1 - weight^n_k)
    where n_k counts the finite values so far: the division removes the pull toward the zero start
    (Adam's bias correction). Non-finite values are passed through and not accumulated; a constant
    series is returned unchanged (as TensorBoard does, so it is not distorted by rounding).

    Args:
        values: the raw curve.
        weight: smoothing in [0, 1); 0 returns the raw curve.
    """
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    finite = [v for v in values if math.isfinite(v)]
    if finite and all(v == finite[0] for v in finite):
        return list(values)
    last, count, smoothed = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            smoothed.append(v)
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        smoothed.append(last / (1 - weight**count))
    return smoothed


def direction(tag: str) -> str | None:
    """"max" or "min": which value of the tag is best; None where no value is better (lr, grad_norm)."""
    return next((d for prefix, d in DIRECTIONS if tag.startswith(prefix)), "min")


def _resolve_runs(paths: Sequence[str | os.PathLike]) -> dict[str, Path]:
    """Expand run folders / log roots into {run name: folder}, names relative to the common root."""
    folders: list[Path] = []
    for path in paths:
        found = find_runs(path)
        if not found:
            raise FileNotFoundError(f"no TensorBoard event file under {path}")
        folders.extend(f.resolve() for f in found)
    folders = sorted(set(folders))
    root = Path(os.path.commonpath(folders))
    names = {}
    for folder in folders:
        relative = folder.relative_to(root).as_posix()
        # A single run, or a run sitting at the common root itself, is named by its folder name.
        name = relative if relative != "." else folder.name
        names[name if name not in names else folder.as_posix()] = folder
    return names


def _safe_filename(tag: str, taken: set[str]) -> str:
    base = safe_filename(tag, "tag")
    name, k = base, 1
    while name in taken:  # "loss/total" and "loss_total" must not overwrite each other's plot
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


def _summarize(run: str, tag: str, points: list[tuple[int, float]], common_step: int, weight: float):
    steps = [s for s, _ in points]
    values = [v for _, v in points]
    finite = [(v, s) for s, v in points if math.isfinite(v)]
    if finite and direction(tag) is not None:
        best, best_step = (max if direction(tag) == "max" else min)(finite, key=lambda vs: vs[0])
    else:
        best, best_step = math.nan, steps[-1]
    aligned = [v for s, v in points if s <= common_step]
    return SummaryRow(
        run=run,
        tag=tag,
        final=values[-1],
        best=best,
        best_step=best_step,
        smoothed_final=smooth_tensorboard(values, weight)[-1],
        num_points=len(points),
        last_step=steps[-1],
        common_step=common_step,
        at_common_step=aligned[-1] if aligned else math.nan,
    )


def _write_csv(rows: list[SummaryRow], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[fl.name for fl in fields(SummaryRow)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)


def _markdown(rows: list[SummaryRow], notes: list[str], weight: float) -> str:
    header = ["tag", "run", "final", "best", "best step", f"smoothed final ({weight})", "points",
              "last step", "at common step"]
    lines = ["# Run comparison", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [f"`{r.tag}`", r.run, f"{r.final:.6g}", f"{r.best:.6g}", str(r.best_step),
                 f"{r.smoothed_final:.6g}", str(r.num_points), str(r.last_step),
                 f"{r.at_common_step:.6g} (step {r.common_step})"]
        lines.append("| " + " | ".join(cells) + " |")
    highs = [p for p, d in DIRECTIONS if d == "max"]
    nones = [p for p, d in DIRECTIONS if d is None]
    lines += ["", f"Best is the minimum, the maximum for tags starting with {', '.join(highs)}, and not defined "
              f"(nan) for {', '.join(nones)}. Smoothing is TensorBoard's debiased EMA."]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _plot(curves: dict[str, dict[str, list[tuple[int, float]]]], tags: list[str], out_dir: Path,
          weight: float, combined: bool) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on training servers
    import matplotlib.pyplot as plt

    def draw(ax, tag: str) -> None:
        for i, (run, scalars) in enumerate(curves.items()):
            if tag not in scalars:
                continue
            steps, values = zip(*scalars[tag])
            color = f"C{i % 10}"
            # Faint raw curve under the smoothed one, as TensorBoard draws it.
            ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
            ax.plot(steps, smooth_tensorboard(values, weight), color=color, label=run, linewidth=1.5)
        ax.set_title(tag)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")

    written, taken = [], set()
    for tag in tags:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax, tag)
        path = out_dir / f"{_safe_filename(tag, taken)}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    if combined and len(tags) > 1:
        cols = min(3, len(tags))
        rows = math.ceil(len(tags) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.5 * rows), squeeze=False)
        for ax, tag in zip(axes.flat, tags):
            draw(ax, tag)
        for ax in list(axes.flat)[len(tags):]:
            ax.axis("off")
        fig.tight_layout()
        path = out_dir / "all_tags.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written


def compare_runs(
    run_dirs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    tags: Sequence[str] | None = None,
    smoothing: float = 0.6,
    combined: bool = True,
) -> list[SummaryRow]:
    """Summarize and plot the scalar curves of several runs; see the module docstring for the outputs.

    Args:
        run_dirs: run folders and/or log roots (searched recursively for event files).
        out_dir: output folder, created if needed.
        tags: tags to compare; default: every tag any run logged.
        smoothing: TensorBoard smoothing weight in [0, 1) for `smoothed_final` and the plots.
        combined: also write all_tags.png with one panel per tag.

    Returns:
        One SummaryRow per (tag, run that has the tag), ordered by tag then run name. Missing tags and
        runs ending at different steps are reported as notes in summary.md and printed.
    """
    if not 0 <= smoothing < 1:
        raise ValueError(f"--smoothing must be in [0, 1), got {smoothing}")
    runs = _resolve_runs(run_dirs)
    curves = {name: read_scalars(folder) for name, folder in runs.items()}
    all_tags = sorted({t for scalars in curves.values() for t in scalars})
    selected = list(tags) if tags else all_tags
    unknown = [t for t in selected if t not in all_tags]
    if unknown:  # a typo would otherwise compare nothing and exit 0
        raise ValueError(f"--tags: no run logged {', '.join(unknown)}; known tags: {', '.join(all_tags)}")

    notes = []
    for tag in selected:
        notes += [f"run {run} has no tag {tag}" for run, scalars in curves.items() if tag not in scalars]
    present = [t for t in selected if t in all_tags]
    last_steps = {
        run: max(scalars[t][-1][0] for t in present if t in scalars)
        for run, scalars in curves.items()
        if any(t in scalars for t in present)
    }
    if len(set(last_steps.values())) > 1:
        ends = ", ".join(f"{run}={step}" for run, step in last_steps.items())
        notes.append(f"runs end at different steps: {ends}; compare 'at common step', not 'final'")

    rows = []
    for tag in present:
        having = {run: scalars[tag] for run, scalars in curves.items() if tag in scalars}
        common_step = min(points[-1][0] for points in having.values())
        rows += [_summarize(run, tag, pts, common_step, smoothing) for run, pts in having.items()]

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(rows, out_dir / "summary.csv")
    atomic_write(out_dir / "summary.md", _markdown(rows, notes, smoothing))
    _plot(curves, present, out_dir, smoothing, combined)
    for note in notes:
        print(f"note: {note}")
    print(f"compared {len(runs)} runs on {len(present)} tags -> {out_dir}/summary.md, summary.csv, plots")
    return rows


def main(argv: Sequence[str] | None = None) -> list[SummaryRow]:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m eval.compare_runs", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders or log roots (searched recursively)")
    parser.add_argument("--out", required=True, help="output folder for summary.csv, summary.md and PNGs")
    parser.add_argument("--tags", nargs="+", default=None,
                        help="tags to compare, space- or comma-separated (default: all tags)")
    parser.add_argument("--smoothing", type=float, default=0.6, help="TensorBoard smoothing weight in [0, 1)")
    parser.add_argument("--combined", action=argparse.BooleanOptionalAction, default=True,
                        help="also write all_tags.png with every tag in one figure")
    args = parser.parse_args(argv)
    tags = [t for item in args.tags for t in item.split(",") if t] if args.tags else None
    # checked before any event file is read: one line, not a traceback after reading every run
    if not 0 <= args.smoothing < 1:  # also refuses nan
        parser.exit(2, f"error: --smoothing: {args.smoothing}; must be in [0, 1) (0: the raw curve)\n")
    if args.tags is not None and not tags:
        parser.exit(2, f"error: --tags: {' '.join(args.tags)!r} names no tag; give e.g. --tags loss/total,loss/style\n")
    try:
        return compare_runs(args.runs, args.out, tags=tags, smoothing=args.smoothing, combined=args.combined)
    except (ValueError, FileNotFoundError) as err:
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    main()
