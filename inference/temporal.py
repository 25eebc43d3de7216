"""Temporal stability of per-frame stylization: smoothed frame statistics, flow-guided blending.

Two remedies (`infer.py --temporal`), chosen by the warping error (eval/protocol.md, "Video"):

  stats  each stylized frame's per-channel colour statistics (RGB mean and standard deviation over
         the frame) are replaced by their exponential moving average,
             m_bar_t = m_bar_{t-1} + k (m_t - m_bar_{t-1}),  k = 1 - exp(-1 / STATS_TIME_CONSTANT),
         and likewise s_bar_t, by the affine map out_t = (y_t - m_t) * s_bar_t / s_t + m_bar_t
         per channel: a global brightness/contrast/tint change between frames is spread over the
         time constant, the frame's own detail is untouched. The average restarts at a scene cut
         (media.flow.scene_cut). No flow, no model access (it works on any backend and method):
         Reinhard et al. 2001's mean/std colour transfer, in RGB rather than their l-alpha-beta,
         from the running average of the past frames to the current one (tonal stabilization in
         its simplest, global form; Farbman & Lischinski 2011 do it locally, with
         correspondences).
  flow   the previous stylized frame, warped onto the current one by the optical flow of the
         ORIGINAL frames (media/flow.py), replaces FLOW_BLEND of each reliable pixel
         (forward-backward check):
             out_t = m * (FLOW_BLEND * warp(out_{t-1}) + (1 - FLOW_BLEND) * y_t) + (1 - m) * y_t.
         ReCoNet's / MCCNet's idea applied at test time, without training. FLOW_BLEND < 1 lets
         new detail in: with 1, the first frame's strokes would be dragged along for the whole shot.

Why not the moving average of the CONTENT statistics (the transform's mean/std at relu4_1), the
textbook answer and this mode's first version: measured (docs/results/video_stats.md, a random VGG19
+ He-initialized decoder on generated clips) it raised the warping error on every clip without
motion, +6% (time constant 4) on a static shot with grain of varying strength and +21% with exposure
flicker, and the statistics of the same frames WITHOUT grain or flicker raised it 9-31% on all six
clips. The content statistics are not noise laid over the features: they are the normalizer of
those very features. When grain or exposure changes a frame's features, its own mean/std change with
them and per-frame AdaIN divides the change out; an average lags that change and lets it through.
It helped only on the clip of docs/video.md (-3%), where new content entering the view moves the
statistics while the features of the content that stays do not.

The output statistics carry no such coupling, but only a global change can be taken out:
the rest of the warping error is local (grain, the encoder's shift variance), which only
`flow` reaches. With STATS_TIME_CONSTANT = 3 the warping error fell 1.8-3.1% on five clips
(the tests' and docs/video.md's included) and rose 1.3% on the fastest (3 px/frame, strong
grain and flicker), where the average lags real changes of the frame's colours; 2 frames:
1.4-2.8% lower there, +0.9% on the fastest; 8: 1.8-4.3% lower, +2.3% on the fastest. A change
reaches 63% of its size after the time constant (0.125 s at 24 fps); an EMA keeps k / (2 - k)
of a white frame-to-frame jitter's variance (17% at 3).
"""

from __future__ import annotations

import math

import torch

STATS_TIME_CONSTANT = 3.0  # frames; ~0.125 s at 24 fps (module docstring)
FLAT_STD = 1 / 255  # a channel flatter than one 8-bit level is not rescaled by its noise
FLOW_BLEND = 0.7


class StatsSmoother:
    """The `stats` mode for one output stream (one style entry at one alpha): called with each
    stylized frame in order and whether a scene starts there, returns the frame with its channels'
    mean/std replaced by their moving averages (module docstring)."""

    def __init__(self, time_constant: float | None = None):
        self.k = 1.0 - math.exp(-1.0 / (time_constant or STATS_TIME_CONSTANT))
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None

    def __call__(self, frame: torch.Tensor, cut: bool) -> torch.Tensor:
        """(3, H, W) float frame in [0, 1] (clamped first) -> (3, H, W), not clamped."""
        frame = frame.clamp(0, 1)
        mean = frame.mean(dim=(1, 2), keepdim=True)  # (3, 1, 1)
        std = frame.std(dim=(1, 2), keepdim=True, correction=0)
        if self.state is None or cut:  # the frame is its own average: returned as it is
            self.state = mean, std
            return frame
        self.state = tuple(torch.lerp(s, f, self.k) for s, f in zip(self.state, (mean, std)))
        gain = self.state[1].clamp_min(FLAT_STD) / std.clamp_min(FLAT_STD)
        return (frame - mean) * gain + self.state[0]


def blend_previous(
    current: torch.Tensor, warped_prev: torch.Tensor, mask: torch.Tensor, weight: float = FLOW_BLEND
) -> torch.Tensor:
    """(3, H, W) stylized frame, previous stylized frame warped onto it, (H, W) reliability in [0,
    1] -> the `flow` mode's output (module docstring)."""
    keep = weight * mask[None]
    return current * (1 - keep) + warped_prev * keep
