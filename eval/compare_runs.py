"""Compare training runs from their TensorBoard event files: a summary table and a plot per tag.

    python -m eval.compare_runs runs/ --out reports/cmp
    python -m eval.compare_runs runs/gram runs/meanstd --out reports/cmp \
        --tags loss/total,loss/style

Each positional argument is a run folder or a log root; every folder below it that directly holds an
event file is one run, named by its path relative to the common root of all runs. For every tag the
summary gives, per run: final value, best value and its step (min, or max for tags starting with
"throughput"), the TensorBoard-smoothed final value, the number of points, the last step, and the
value at the last step all runs reached ("aligned" comparison: runs of different lengths are
compared at the same step). Writes OUT/summary.csv, OUT/summary.md, OUT/<tag>.png per tag and
OUT/all_tags.png.

The config keys that differ between the runs (their config.yaml) are printed and listed; a tag whose
definition depends on one of them (`loss/style` under the Gram and the mean/std loss) is marked in
the table, the notes and its plot (eval/run_configs.py). `hparam/*` (the final metrics add_hparams
logs as one-point scalars) are left out unless --tags names them.
"""

import argparse
import csv
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from configs.cli import ArgumentParser
from eval.curve_plots import plot_curves, smooth_tensorboard, unique_filename  # noqa: F401 (re-exported)
from eval.run_configs import describe, differing_keys, read_run_config, redefined_by
from eval.tensorboard_io import find_runs, read_scalars
from media.files import atomic_path, atomic_write

# Tags for which larger is better; every other tag is a loss-like quantity (smaller is better).
# Which end of a curve is "best", by tag prefix (first match wins; losses and everything else:
# lower). lr and grad_norm describe the run rather than score it: no best value (the table says so).
DIRECTIONS: tuple[tuple[str, str | None], ...] = (
    ("throughput/data_wait_fraction", "min"),
    ("throughput/run_data_wait_fraction", "min"),
    ("throughput/", "max"),
    ("lr", None),
    ("grad_norm", None),
)

__all__ = ["SummaryRow", "compare_runs", "main", "smooth_tensorboard"]


@dataclass(frozen=True)
class SummaryRow:
    """One (run, tag) line of the summary. Steps are global training steps as logged."""

    run: str
    tag: str
    final: float  # value at the last logged step
    best: float | None  # min (max for throughput* tags) over all points; None: see best_note
    best_step: int
    smoothed_final: float  # last value of the TensorBoard-smoothed curve
    num_points: int
    last_step: int
    common_step: int  # last step every run with this tag reached
    at_common_step: float  # this run's value at the last logged step <= common_step
    best_note: str = (
        ""  # why there is no best value (a tag that describes the run; no finite point)
    )
    redefined_by: str = (
        ""  # config keys that differ between the runs and change what this tag measures
    )


def direction(tag: str) -> str | None:
    """ "max" or "min": which value of the tag is best; None where no value is better (lr,
    grad_norm)."""
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


def _summarize(
    run: str,
    tag: str,
    points: list[tuple[int, float]],
    common_step: int,
    weight: float,
    redefined: str = "",
):
    steps = [s for s, _ in points]
    values = [v for _, v in points]
    finite = [(v, s) for s, v in points if math.isfinite(v)]
    best, best_step, note = None, steps[-1], ""
    if direction(tag) is None:
        note = "none: describes the run, no value is better"
    elif not finite:
        note = "none: no finite value"
    else:
        best, best_step = (max if direction(tag) == "max" else min)(finite, key=lambda vs: vs[0])
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
        best_note=note,
        redefined_by=redefined,
    )


def _write_csv(rows: list[SummaryRow], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[fl.name for fl in fields(SummaryRow)])
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in asdict(r).items()} for r in rows)


def _markdown(rows: list[SummaryRow], notes: list[str], weight: float) -> str:
    header = [
        "tag",
        "run",
        "final",
        "best",
        "best step",
        f"smoothed final ({weight})",
        "points",
        "last step",
        "at common step",
    ]
    lines = ["# Run comparison", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        tag = f"`{r.tag}` (!)" if r.redefined_by else f"`{r.tag}`"
        best = r.best_note if r.best is None else f"{r.best:.6g}"
        cells = [
            tag,
            r.run,
            f"{r.final:.6g}",
            best,
            "-" if r.best is None else str(r.best_step),
            f"{r.smoothed_final:.6g}",
            str(r.num_points),
            str(r.last_step),
            f"{r.at_common_step:.6g} (step {r.common_step})",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    highs = [p for p, d in DIRECTIONS if d == "max"]
    nones = [p for p, d in DIRECTIONS if d is None]
    lines += [
        "",
        f"Best is the minimum, the maximum for tags starting with {', '.join(highs)}, and not "
        f"defined for {', '.join(nones)}. Smoothing is TensorBoard's debiased EMA. (!): the tag "
        "measures something else in some runs (see the notes): do not "
        "compare its values across them.",
    ]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def compare_runs(
    run_dirs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    tags: Sequence[str] | None = None,
    smoothing: float = 0.6,
    combined: bool = True,
) -> list[SummaryRow]:
    """Summarize and plot the scalar curves of several runs; see the module docstring for the
    outputs.

    Args:
        run_dirs: run folders and/or log roots (searched recursively for event files).
        out_dir: output folder, created if needed.
        tags: tags to compare; default: every tag any run logged.
        smoothing: TensorBoard smoothing weight in [0, 1) for `smoothed_final` and the plots.
        combined: also write all_tags.png with one panel per tag.

    Returns:
        One SummaryRow per (tag, run that has the tag), ordered by tag then run name. Missing tags
        and runs ending at different steps are reported as notes in summary.md and printed.
    """
    if not 0 <= smoothing < 1:
        raise ValueError(f"--smoothing must be in [0, 1), got {smoothing}")
    runs = _resolve_runs(run_dirs)
    curves = {name: read_scalars(folder) for name, folder in runs.items()}
    all_tags = sorted({t for scalars in curves.values() for t in scalars})
    selected = list(tags) if tags else [t for t in all_tags if not t.startswith("hparam/")]
    unknown = [t for t in selected if t not in all_tags]
    if unknown:  # a typo would otherwise compare nothing and exit 0
        raise ValueError(
            f"--tags: no run logged {', '.join(unknown)}; known tags: {', '.join(all_tags)}"
        )

    configs = {
        run: cfg for run, folder in runs.items() if (cfg := read_run_config(folder)) is not None
    }
    differing = differing_keys(configs) if len(configs) > 1 else {}
    notes = [f"config differs: {describe(key, values)}" for key, values in differing.items()]
    for tag in selected:
        notes += [
            f"run {run} has no tag {tag}" for run, scalars in curves.items() if tag not in scalars
        ]
    present = [t for t in selected if t in all_tags]
    last_steps = {
        run: max(scalars[t][-1][0] for t in present if t in scalars)
        for run, scalars in curves.items()
        if any(t in scalars for t in present)
    }
    if len(set(last_steps.values())) > 1:
        ends = ", ".join(f"{run}={step}" for run, step in last_steps.items())
        notes.append(f"runs end at different steps: {ends}; compare 'at common step', not 'final'")

    rows, caveats, labels = [], {}, {}
    for tag in present:
        having = {run: scalars[tag] for run, scalars in curves.items() if tag in scalars}
        common_step = min(points[-1][0] for points in having.values())
        keys = [
            k
            for k in redefined_by(tag, differing)  # among the runs that logged this tag
            if len({repr(differing[k].get(run)) for run in having}) > 1
        ]
        rows += [
            _summarize(run, tag, pts, common_step, smoothing, ",".join(keys))
            for run, pts in having.items()
        ]
        if keys:
            caveats[tag] = f"definition differs between runs: {', '.join(keys)}"
            notes.append(
                f"{tag}: not comparable across these runs, its definition differs: "
                f"{'; '.join(describe(k, differing[k]) for k in keys)}"
            )
            labels[tag] = {
                run: f"{run} ({', '.join(f'{k}={differing[k].get(run, chr(63))}' for k in keys)})"
                for run in having
            }

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(rows, out_dir / "summary.csv")
    atomic_write(out_dir / "summary.md", _markdown(rows, notes, smoothing))
    plot_curves(curves, present, out_dir, smoothing, combined, caveats, labels)
    for note in notes:
        print(f"note: {note}")
    print(
        f"compared {len(runs)} runs on {len(present)} tags -> "
        f"{out_dir}/summary.md, summary.csv, plots"
    )
    return rows


def main(argv: Sequence[str] | None = None) -> list[SummaryRow]:
    """Command-line entry point; see the module docstring."""
    parser = ArgumentParser(prog="python -m eval.compare_runs", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders or log roots (searched recursively)")
    parser.add_argument(
        "--out", required=True, help="output folder for summary.csv, summary.md and PNGs"
    )
    parser.add_argument(
        "--tags",
        nargs="+",
        default=None,
        help="tags to compare, space- or comma-separated (default: all tags)",
    )
    parser.add_argument(
        "--smoothing", type=float, default=0.6, help="TensorBoard smoothing weight in [0, 1)"
    )
    parser.add_argument(
        "--combined",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write all_tags.png with every tag in one figure",
    )
    args = parser.parse_args(argv)
    tags = [t for item in args.tags for t in item.split(",") if t] if args.tags else None
    # checked before any event file is read: one line, not a traceback after reading every run
    if not 0 <= args.smoothing < 1:  # also refuses nan
        parser.exit(
            2, f"error: --smoothing: {args.smoothing}; must be in [0, 1) (0: the raw curve)\n"
        )
    if args.tags is not None and not tags:
        parser.exit(
            2,
            f"error: --tags: {' '.join(args.tags)!r} names no tag; give e.g. "
            f"--tags loss/total,loss/style\n",
        )
    try:
        return compare_runs(
            args.runs, args.out, tags=tags, smoothing=args.smoothing, combined=args.combined
        )
    except (ValueError, FileNotFoundError) as err:
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    main()
