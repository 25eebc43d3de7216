"""The run-comparison table: one row per (run, tag), which end of a curve is best, CSV and Markdown.

Separate from eval/runs/compare.py (which finds the runs, reads their curves and configs and writes
the outputs) because what a row says -- final, best, smoothed, aligned at the last common step -- is
the part a reader checks when a number in summary.md looks wrong.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from eval.runs.curve_plots import smooth_tensorboard
from media.files import atomic_path

# Which end of a curve is "best", by tag prefix (first match wins; losses and everything else:
# lower). lr and grad_norm describe the run rather than score it: no best value (the table says so).
DIRECTIONS: tuple[tuple[str, str | None], ...] = (
    ("throughput/data_wait_fraction", "min"),
    ("throughput/run_data_wait_fraction", "min"),
    ("throughput/", "max"),
    ("lr", None),
    ("grad_norm", None),
)


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
    # why there is no best value (a tag that describes the run; no finite point)
    best_note: str = ""
    # config keys that differ between the runs and change what this tag measures
    redefined_by: str = ""


def direction(tag: str) -> str | None:
    """ "max" or "min": which value of the tag is best; None where no value is better (lr,
    grad_norm)."""
    return next((d for prefix, d in DIRECTIONS if tag.startswith(prefix)), "min")


def summarize(
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


def write_csv(rows: list[SummaryRow], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[fl.name for fl in fields(SummaryRow)])
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in asdict(r).items()} for r in rows)


def markdown(rows: list[SummaryRow], notes: list[str], weight: float) -> str:
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
