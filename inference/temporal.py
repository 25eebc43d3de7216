"""Temporal stability of per-frame stylization: smoothed content statistics, flow-guided blending.

Why a clip flickers: each frame's content statistics (mean/std, covariance or sorted values,
whatever the transform uses) move with noise and small changes, the transform renormalizes the
whole frame by them, and the decoder amplifies the change. Two remedies (`infer.py --temporal`):

  stats  frame t's content statistics are replaced by an exponential moving average,
             s_bar_t = s_bar_{t-1} + k (s_t - s_bar_{t-1}),  k = 1 - exp(-1 / STATS_TIME_CONSTANT),
         so a change reaches 63% of its size after STATS_TIME_CONSTANT frames. A convex
         combination keeps every statistic valid (stds positive, covariances PSD, sorted values
         sorted). At a scene cut (media.flow.scene_cut) the average restarts from the new frame.
  flow   the previous stylized frame, warped onto the current one by the optical flow of the
         ORIGINAL frames (media/flow.py), replaces FLOW_BLEND of each reliable pixel
         (forward-backward check):
             out_t = m * (FLOW_BLEND * warp(out_{t-1}) + (1 - FLOW_BLEND) * y_t) + (1 - m) * y_t.
         ReCoNet's / MCCNet's idea applied at test time, without training. FLOW_BLEND < 1 lets
         new detail in: with 1, the first frame's strokes would be dragged along for the whole shot.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import torch

from models.adain import Stats, resize_masks
from models.transfer import Transform

STATS_TIME_CONSTANT = 4.0  # frames; ~0.17 s at 24 fps
FLOW_BLEND = 0.7


def region_stats(
    transform: Transform, feat: torch.Tensor, masks: torch.Tensor | None
) -> list[Stats]:
    """The content statistics the transform would compute: one batched Stats per mask region (one
    without masks), of (B, C, h, w) features; regions as in models.transforms.transfer."""
    if masks is None:
        return [transform.stats(feat.float())]
    maps = resize_masks(masks.to(feat.device), feat.shape[-2:]) > 0.5  # (B|1, N, h, w)
    out = []
    for k in range(maps.shape[1]):
        per_sample = []
        for b in range(feat.shape[0]):
            region = maps[min(b, maps.shape[0] - 1), k]
            # an empty region: the whole frame's statistics (transfer skips it anyway)
            values = feat[b][:, region] if region.any() else feat[b].flatten(1)
            per_sample.append(transform.stats(values[None, :, None, :].float()))
        out.append(tuple(torch.cat(parts) for parts in zip(*per_sample)))
    return out


class StatsSmoother:
    """The `stats` mode: called with each batch's per-region content statistics (B frames in order),
    returns the moving averages; `cuts` holds one flag per coming frame (True: restart the
    average)."""

    def __init__(self, time_constant: float | None = None):
        self.k = 1.0 - math.exp(-1.0 / (time_constant or STATS_TIME_CONSTANT))
        self.cuts: deque[bool] = deque()
        self.state: list[Stats] | None = None

    def __call__(self, stats: Sequence[Stats]) -> list[Stats]:
        batch = stats[0][0].shape[0]
        smoothed: list[list[Stats]] = []
        for b in range(batch):
            frame = [tuple(t[b : b + 1] for t in region) for region in stats]
            cut = self.cuts.popleft() if self.cuts else False
            if self.state is None or cut:
                self.state = frame
            else:
                self.state = [
                    tuple(torch.lerp(s, f, self.k) for s, f in zip(old, new))
                    for old, new in zip(self.state, frame)
                ]
            smoothed.append(self.state)
        return [
            tuple(torch.cat(parts) for parts in zip(*(frame[r] for frame in smoothed)))
            for r in range(len(stats))
        ]


def blend_previous(
    current: torch.Tensor, warped_prev: torch.Tensor, mask: torch.Tensor, weight: float = FLOW_BLEND
) -> torch.Tensor:
    """(3, H, W) stylized frame, previous stylized frame warped onto it, (H, W) reliability in [0,
    1] -> the `flow` mode's output (module docstring)."""
    keep = weight * mask[None]
    return current * (1 - keep) + warped_prev * keep
