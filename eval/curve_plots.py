"""Plots of scalar curves as TensorBoard draws them: the debiased EMA over a faint raw curve."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from media.files import safe_filename


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
    """One PNG per tag (+ all_tags.png): raw curves faint, smoothed ones solid.

    `caveats`: tag -> a warning drawn in red above the plot (a definition differing between runs);
    `labels`: tag -> run -> its legend entry.
    """
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
            label = (labels or {}).get(tag, {}).get(run, run)
            ax.plot(
                steps, smooth_tensorboard(values, weight), color=color, label=label, linewidth=1.5
            )
        ax.set_title(tag)
        if tag in (caveats or {}):
            ax.set_title(caveats[tag], loc="left", fontsize="small", color="red", pad=18)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")

    written, taken = [], set()
    for tag in tags:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax, tag)
        path = out_dir / f"{unique_filename(tag, taken)}.png"
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
        for ax in list(axes.flat)[len(tags) :]:
            ax.axis("off")
        fig.tight_layout()
        path = out_dir / "all_tags.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written
