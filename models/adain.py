"""Adaptive instance normalization as pure functions on (B, C, H, W) feature maps: statistics, the
one formula (`adain_stats`, which plain, mixed, masked and tiled AdaIN all call; tiling passes
whole-image statistics gathered over its tiles), mixes, masks. Float32 (the variance of ReLU
features overflows float16 under autocast), inputs never modified.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

EPS = 1e-5  # added to the variance before the square root (AdaIN paper's implementation uses 1e-5)
# alpha in (1, MAX_ALPHA] extrapolates past the style (t + (alpha - 1) (t - f_c)); beyond 2 the
# features leave the range the decoder was trained on and the images break up into saturated noise
MAX_ALPHA = 2.0

Stats = tuple[torch.Tensor, torch.Tensor]  # (mean, std), each (B or 1, C, 1, 1) float32


def mean_std(feat: torch.Tensor, eps: float = EPS) -> Stats:
    """(B, C, H, W) -> per-sample channel mean and std = sqrt(biased variance over H*W + eps), each
    (B, C, 1, 1), float32."""
    var, mean = torch.var_mean(feat.float(), dim=(2, 3), keepdim=True, correction=0)
    return mean, (var + eps).sqrt()


def adain_stats(feat: torch.Tensor, content: Stats, style: Stats) -> torch.Tensor:
    """THE AdaIN formula: (feat - mean_c) / std_c * std_s + mean_s, float32 (B, C, H, W); statistics
    of batch 1 broadcast over feat's batch."""
    (c_mean, c_std), (s_mean, s_std) = content, style
    return (feat.float() - c_mean) / c_std * s_std + s_mean


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """AdaIN(c, s) = std(s) * (c - mean(c)) / std(c) + mean(s), float32 (B, C, H, W); content and
    style may differ in spatial size, style may have batch 1 (broadcast over content)."""
    return adain_stats(content, mean_std(content, eps), mean_std(style, eps))


def normalize_weights(weights: Sequence[float], count: int) -> list[float]:
    """Style weights as floats summing to 1 (the paper's convex interpolation)."""
    if len(weights) != count:
        raise ValueError(f"got {len(weights)} style weights for {count} styles")
    total = float(sum(weights))
    if any(w < 0 for w in weights) or total <= 0:
        raise ValueError(f"style weights must be >= 0 with a positive sum, got {list(weights)}")
    return [float(w) / total for w in weights]


def mix_stats(styles: Sequence[Stats], weights: Sequence[float] | None = None) -> Stats:
    """Style interpolation (AdaIN paper, Sec. 7.1) as one style (sum_k w_k mean_k, sum_k w_k std_k),
    w normalized to sum 1. AdaIN is affine in the style statistics, so AdaIN with the mixed
    statistics equals sum_k w_k * AdaIN(c, s_k) exactly (up to float rounding)."""
    weights = normalize_weights(weights or [1.0] * len(styles), len(styles))
    mean = sum(w * m for w, (m, _) in zip(weights, styles))
    return mean, sum(w * s for w, (_, s) in zip(weights, styles))


def blend(content: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """alpha * target + (1 - alpha) * content: 0 the content, 1 the transfer, > 1 extrapolates."""
    return alpha * target + (1.0 - alpha) * content.float()


def resize_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, H, W) or (B, N, H, W) masks in {0, 1} -> (B|1, N, h, w) at feature size, nearest."""
    masks = masks.unsqueeze(0) if masks.dim() == 3 else masks
    return F.interpolate(masks.float(), size=size, mode="nearest")
