"""The two pieces of linear algebra the transforms, the colour matching and the losses share.

One rule for small eigenvalues everywhere: an eigenvalue at or below `rel_floor` * the largest
counts as 0 (its direction is dropped, for a negative power too, instead of being amplified). WCT
and colour matching use a relative floor of 1e-5 (Li et al.'s reference code drops eigenvalues below
an absolute 1e-5); w2's square root uses 0 (only round-off negatives are dropped, so w2(x, x) stays
0).
"""

from __future__ import annotations

import torch
from einops import rearrange


def mean_cov(
    feat: torch.Tensor, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> channel mean (B, C, 1) and biased covariance over H*W (B, C, C), in
    `dtype`."""
    x = rearrange(feat.to(dtype), "b c h w -> b c (h w)")
    mean = x.mean(dim=2, keepdim=True)
    centered = x - mean
    return mean, centered @ centered.transpose(1, 2) / x.shape[2]


def sym_power(m: torch.Tensor, power: float, rel_floor: float) -> torch.Tensor:
    """m^power for (B, C, C) symmetric PSD matrices by eigendecomposition (in m's dtype).

    Eigenvalues at or below rel_floor * the largest (and every negative one) map to 0.
    """
    vals, vecs = torch.linalg.eigh(m)
    kept = vals > vals.amax(dim=-1, keepdim=True).clamp_min(1e-30) * rel_floor
    scaled = torch.where(kept, vals.clamp_min(1e-30) ** power, torch.zeros_like(vals))
    return vecs @ torch.diag_embed(scaled) @ vecs.transpose(1, 2)
