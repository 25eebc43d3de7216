"""The two pieces of linear algebra the transforms, the colour matching and the losses share."""

from __future__ import annotations

import torch
from einops import rearrange


def mean_cov(
    feat: torch.Tensor, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> channel mean (B, C, 1), biased covariance over H*W (B, C, C), in `dtype`."""
    x = rearrange(feat.to(dtype), "b c h w -> b c (h w)")
    mean = x.mean(dim=2, keepdim=True)
    centered = x - mean
    return mean, centered @ centered.transpose(1, 2) / x.shape[2]


def sym_power(m: torch.Tensor, power: float, rel_floor: float) -> torch.Tensor:
    """m^power for (B, C, C) symmetric PSD matrices by eigendecomposition (in m's dtype).

    The one rule for small eigenvalues: at or below rel_floor * the largest (and every negative one)
    they map to 0, their direction dropped, for a negative power too, instead of amplified (WCT and
    colour matching: models.transforms.WCT_EPS; w2: 0, only round-off negatives).
    """
    vals, vecs = torch.linalg.eigh(m)
    kept = vals > vals.amax(dim=-1, keepdim=True).clamp_min(1e-30) * rel_floor
    scaled = torch.where(kept, vals.clamp_min(1e-30) ** power, torch.zeros_like(vals))
    return vecs @ torch.diag_embed(scaled) @ vecs.transpose(1, 2)
