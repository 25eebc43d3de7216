"""Adaptive instance normalization and its variants, as pure functions on feature maps.

Every function takes and returns (B, C, H, W) features, computes its statistics in float32 (the
variance of ReLU features overflows float16 under autocast) and never modifies its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

EPS = 1e-5  # added to the variance before the square root (AdaIN paper's implementation uses 1e-5)


def mean_std(feat: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> per-sample, per-channel mean and std, each (B, C, 1, 1), float32.

    std = sqrt(biased variance over H*W + eps).
    """
    feat = feat.float()
    var, mean = torch.var_mean(feat, dim=(2, 3), keepdim=True, correction=0)
    return mean, (var + eps).sqrt()


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """AdaIN(c, s) = std(s) * (c - mean(c)) / std(c) + mean(s); float32 (B, C, H, W) output.

    Content and style may differ in spatial size; style may have batch 1 (broadcast over content).
    """
    c_mean, c_std = mean_std(content, eps)
    s_mean, s_std = mean_std(style, eps)
    return (content.float() - c_mean) / c_std * s_std + s_mean


def blend(content: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """alpha * target + (1 - alpha) * content: alpha 0 gives the content features, 1 the full transfer."""
    return alpha * target + (1.0 - alpha) * content.float()


def normalize_weights(weights: Sequence[float], count: int) -> list[float]:
    """Style weights as floats summing to 1 (the paper's convex interpolation); raise on bad input."""
    if len(weights) != count:
        raise ValueError(f"got {len(weights)} style weights for {count} styles")
    total = float(sum(weights))
    if any(w < 0 for w in weights) or total <= 0:
        raise ValueError(f"style weights must be >= 0 with a positive sum, got {list(weights)}")
    return [float(w) / total for w in weights]


def adain_mix(content: torch.Tensor, styles: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """Style interpolation: sum_k w_k * AdaIN(content, style_k), weights normalized to sum 1."""
    weights = normalize_weights(weights, len(styles))
    return sum(w * adain(content, s) for w, s in zip(weights, styles))


def masked_mean_std(
    feat: torch.Tensor, mask: torch.Tensor, eps: float = EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean/std of (B, C, H, W) features over the region where mask (B or 1, 1, H, W) is 1; float32."""
    feat, mask = feat.float(), mask.float()
    area = mask.sum(dim=(2, 3), keepdim=True).clamp_min(1.0)
    mean = (feat * mask).sum(dim=(2, 3), keepdim=True) / area
    var = ((feat - mean) ** 2 * mask).sum(dim=(2, 3), keepdim=True) / area
    return mean, (var + eps).sqrt()


def resize_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, H, W) or (B, N, H, W) region masks in {0, 1} -> (B|1, N, h, w) at feature size, nearest."""
    if masks.dim() == 3:
        masks = masks.unsqueeze(0)
    return F.interpolate(masks.float(), size=size, mode="nearest")


def adain_masked(content: torch.Tensor, styles: Sequence[torch.Tensor], masks: torch.Tensor) -> torch.Tensor:
    """Spatial control: region k of the content takes style k (AdaIN paper, Sec. 7.1), for N regions.

    The content statistics of each region are computed over that region only, so a single all-ones
    mask reproduces plain AdaIN. masks: (N, H, W) or (B, N, H, W), any resolution, one region per
    pixel; they are resized to the feature size with nearest neighbour.
    """
    masks = resize_masks(masks, content.shape[-2:])
    if masks.shape[1] != len(styles):
        raise ValueError(f"got {masks.shape[1]} mask regions for {len(styles)} styles")
    out = torch.zeros_like(content, dtype=torch.float32)
    for k, style in enumerate(styles):
        region = masks[:, k : k + 1]
        c_mean, c_std = masked_mean_std(content, region)
        s_mean, s_std = mean_std(style)
        out = out + region * ((content.float() - c_mean) / c_std * s_std + s_mean)
    return out
