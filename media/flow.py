"""Optical flow between video frames (OpenCV, no weights), backward warping and occlusion masks.

Convention: `flow(a, b)` is a (H, W, 2) float32 field of (dx, dy) in pixels such that a(x) ~ b(x +
f(x)), so `warp(b, flow(a, b))` brings frame b onto frame a. To carry the previous stylized frame
onto the current one: `warp(prev_out, flow(cur, prev))`.

Occlusion is the forward-backward check of Sundaram et al. 2010 (as used by Ruder et al. 2016,
"Artistic style transfer for videos"): a pixel is reliable when the backward flow and the forward
flow at its target cancel, |w + w'|^2 <= 0.01 (|w|^2 + |w'|^2) + 0.5 px^2. Ruder et al. also drop
motion boundaries; that part is left out (it only shrinks the mask further along object edges).

Method: DIS (Kroeger et al. 2016, OpenCV's "medium" preset) by default; Farneback (2003) is the
other choice. What was measured to choose is in docs/results/video_flow.md.

Scene cuts (`scene_cut`): no flow links two shots, so temporal smoothing and the warping error skip
the pair where the colour histograms jump.
"""

from __future__ import annotations

import cv2
import numpy as np

FLOW_METHODS = ("dis", "farneback")
CUT_HISTOGRAM_BINS = 16
# a cut: the per-channel colour histograms of two frames differ by more than this (total variation
# distance, 0 same .. 1 disjoint); motion and noise keep it under 0.2 on the generated clips
CUT_THRESHOLD = 0.4


def colour_histogram(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, CUT_HISTOGRAM_BINS) per-channel histograms, each summing to 1."""
    pixels = rgb.reshape(-1, 3).astype(np.int64)
    bins = pixels * CUT_HISTOGRAM_BINS // 256
    hist = np.stack([np.bincount(bins[:, c], minlength=CUT_HISTOGRAM_BINS) for c in range(3)])
    hist = hist.astype(np.float64)
    return hist / max(len(pixels), 1)


def scene_cut(prev: np.ndarray | None, cur: np.ndarray) -> bool:
    """True when the colour histograms of two original frames (see colour_histogram) differ by more
    than CUT_THRESHOLD; the first frame (prev None) starts a scene."""
    if prev is None:
        return True
    distance = 0.5 * np.abs(colour_histogram(prev) - colour_histogram(cur)).sum(axis=1).max()
    return bool(distance > CUT_THRESHOLD)


_DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def flow(a: np.ndarray, b: np.ndarray, method: str = "dis") -> np.ndarray:
    """(H, W, 3) uint8 RGB frames -> (H, W, 2) float32 flow with a(x) ~ b(x + flow(x))."""
    ga, gb = _grey(a), _grey(b)
    if method == "dis":
        return cv2.DISOpticalFlow_create(_DIS_PRESET).calc(ga, gb, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(
            ga,
            gb,
            None,
            pyr_scale=0.5,
            levels=4,
            winsize=15,
            iterations=3,
            poly_n=5,
            poly_sigma=1.2,
            flags=0,
        )
    raise ValueError(f"unknown flow method '{method}'; choose one of {', '.join(FLOW_METHODS)}")


def _grid(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = field.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs + field[..., 0], ys + field[..., 1]


def warp(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Sample `image` (H, W, C) of any dtype at x + field(x), bilinear, edges replicated."""
    map_x, map_y = _grid(field)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def reliable(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(H, W) float32 mask, 1 where the forward-backward check passes (see the module docstring).

    `backward` = flow(cur, prev) on the current frame's grid, `forward` = flow(prev, cur).
    """
    map_x, map_y = _grid(backward)
    h, w = backward.shape[:2]
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    forward_at = warp(forward, backward)  # the forward flow at each pixel's target in prev
    total = backward + forward_at
    bound = 0.01 * ((backward**2).sum(-1) + (forward_at**2).sum(-1)) + 0.5
    return (((total**2).sum(-1) <= bound) & inside).astype(np.float32)


def previous_onto_current(
    cur: np.ndarray, prev: np.ndarray, method: str = "dis"
) -> tuple[np.ndarray, np.ndarray]:
    """Original frames (H, W, 3) uint8 -> (backward flow cur->prev, reliability mask (H, W))."""
    backward = flow(cur, prev, method)
    return backward, reliable(backward, flow(prev, cur, method))
