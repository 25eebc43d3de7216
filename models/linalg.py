"""The linear algebra the transforms, the colour matching and the losses share: mean and covariance,
symmetric matrix powers, and the per-channel quantile function (sorted values) of efdm."""

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


def sorted_values(feat: torch.Tensor) -> tuple[torch.Tensor]:
    """(B, C, H, W) -> ((B, C, H*W) values sorted per channel,), float32."""
    return (rearrange(feat.float(), "b c h w -> b c (h w)").sort(dim=2).values,)


def quantiles(sorted_vals: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The (B, C, M) sorted values' quantiles at `levels` in [0, 1] ((N,) or (B, C, N)), linearly
    interpolated."""
    return at_positions(sorted_vals, levels.double().clamp(0, 1) * (sorted_vals.shape[-1] - 1))


def at_positions(sorted_vals: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """(B, C, M) values linearly interpolated at float64 positions in [0, M - 1] (whole: exact)."""
    m = sorted_vals.shape[-1]
    lo = pos.floor().long().clamp(0, m - 1)
    hi = (lo + 1).clamp(max=m - 1)
    frac = (pos - lo).float()
    expand = (lambda t: t.expand(*sorted_vals.shape[:2], -1)) if pos.dim() == 1 else (lambda t: t)
    low, high = sorted_vals.gather(2, expand(lo)), sorted_vals.gather(2, expand(hi))
    return torch.where(expand(frac) == 0, low, low + (high - low) * expand(frac))
