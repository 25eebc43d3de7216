"""Plots of scalar curves as TensorBoard draws them: the debiased EMA over a faint raw curve."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

from media.files import safe_filename
from media.progress import tqdm


def smooth_tensorboard(values: Sequence[float], weight: float) -> list[float]:
    """The debiased exponential moving average TensorBoard's UI draws with its smoothing slider.

    last_k = weight * last_{k-1} + (1 - weight) * v_k with last_0 = 0, shown as
    last_k / (1 - weight^n_k)
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


def unique_filename(tag: str, taken: set[str]) -> str:
    base = safe_filename(tag, "tag")
    name, k = base, 1
    while name in taken:  # "loss/total" and "loss_total" must not overwrite each other's plot
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


def plot_curves(
    curves: dict[str, dict[str, list[tuple[int, float]]]],
    tags: list[str],
    out_dir: Path,
    weight: float,
    combined: bool,
    caveats: dict[str, str] | None = None,
    labels: dict[str, dict[str, str]] | None = None,
) -> list[Path]:
    """One PNG per tag (+ all_tags.png): raw curves faint, smoothed ones solid, a run with one point
    as a marker.

    `caveats`: tag -> a warning drawn in red under the tag's title (a definition differing between
    runs); `labels`: tag -> run -> its legend entry. The legend sits below the panels with its
    entries wrapped, so five runs' labels listing every differing value neither cover the curves
    nor squeeze them; matplotlib's constrained layout makes room for it and for the titles.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on training servers
    import matplotlib.pyplot as plt

    def draw(ax, tag: str, width: int) -> dict[str, object]:
        """The tag's curves on `ax`; returns {run: its smoothed line} for the legend."""
        handles = {}
        for i, (run, scalars) in enumerate(curves.items()):
            if tag not in scalars:
                continue
            steps, values = zip(*scalars[tag])
            color = f"C{i % 10}"
            # Faint raw curve under the smoothed one, as TensorBoard draws it.
            ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
            (handles[run],) = ax.plot(
                steps,
                smooth_tensorboard(values, weight),
                color=color,
                linewidth=1.5,
                marker="o" if len(steps) == 1 else None,  # a line through one point is invisible
            )
        title_pad = 6.0
        if tag in (caveats or {}):
            caveat = textwrap.fill(caveats[tag], width)
            # between the axes and the tag's title (an Axes' titles share one pad: a left title
            # would sit on the centred one)
            ax.annotate(
                caveat,
                (0, 1),
                xycoords="axes fraction",
                xytext=(0, 4),
                textcoords="offset points",
                va="bottom",
                fontsize="small",
                color="red",
            )
            title_pad += 4 + 11 * (caveat.count("\n") + 1)
        ax.set_title(tag, pad=title_pad)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        return handles

    def figure(rows: int, cols: int, texts: list[str]):
        """A figure with room below the panels for a two-column legend of `texts`."""
        lines = sum(t.count("\n") + 1 for t in texts[::2])  # the taller column, roughly
        size = (5 * cols if cols > 1 else 7, (3.5 if cols > 1 else 4.5) * rows + 0.2 * lines)
        return plt.subplots(rows, cols, figsize=size, squeeze=False, layout="constrained")

    def legend(fig, handles: dict[str, object], texts: list[str]) -> None:
        if handles:
            fig.legend(
                list(handles.values()),
                texts,
                loc="outside lower center",
                ncol=min(2, len(texts)),
                fontsize="small",
                frameon=False,
            )

    written, taken = [], set()
    for tag in tqdm(tags, desc="plots", unit="plot"):
        having = [run for run, scalars in curves.items() if tag in scalars]
        # a label lists every config value that differs: wrapped, so it never widens the figure
        texts = [textwrap.fill((labels or {}).get(tag, {}).get(r, r), 48) for r in having]
        fig, axes = figure(1, 1, texts)
        legend(fig, draw(axes[0, 0], tag, width=80), texts)
        path = out_dir / f"{unique_filename(tag, taken)}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    if combined and len(tags) > 1:
        cols = min(3, len(tags))
        texts = [textwrap.fill(run, 48) for run in curves]
        fig, axes = figure(math.ceil(len(tags) / cols), cols, texts)
        handles = {}
        for ax, tag in zip(axes.flat, tags):
            handles.update(draw(ax, tag, width=60))
        for ax in list(axes.flat)[len(tags) :]:
            ax.axis("off")
        legend(fig, handles, [textwrap.fill(run, 48) for run in handles])
        path = out_dir / "all_tags.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written
