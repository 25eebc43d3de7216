"""Compare training runs from their TensorBoard event files: a summary table and a plot per tag.

    python -m eval.runs runs/ --out reports/cmp
    python -m eval.runs runs/gram runs/meanstd --out reports/cmp \
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
the table, the notes and its plot (eval/runs/config_diff.py). `hparam/*` (the final metrics add_hparams
logs as one-point scalars) are left out unless --tags names them.

This file finds the runs and puts the pieces together: event files are read by
eval/runs/tensorboard_io.py, the table's rows are made in eval/runs/summary.py, the plots are drawn by
eval/runs/curve_plots.py.
"""

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from configs.cli import ArgumentParser
from eval.runs.curve_plots import plot_curves
from eval.runs.config_diff import describe, differing_keys, read_run_config, redefined_by
from eval.runs.summary import SummaryRow, markdown, summarize, write_csv
from eval.runs.tensorboard_io import find_runs, read_scalars
from media.files import atomic_write

__all__ = ["compare_runs", "main"]


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
            summarize(run, tag, pts, common_step, smoothing, ",".join(keys))
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
    write_csv(rows, out_dir / "summary.csv")
    atomic_write(out_dir / "summary.md", markdown(rows, notes, smoothing))
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
    parser = ArgumentParser(prog="python -m eval.runs", description=__doc__.splitlines()[0])
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
