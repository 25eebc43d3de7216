"""Feature transforms by name: how content features (B, C, H, W) take on a style's statistics.

    adain  channel mean and std (Huang & Belongie 2017): (x - mu_c) / sigma_c * sigma_s + mu_s
    mean   the channel means only (EFDM's ablation): x - mu_c + mu_s
    std    the channel stds only (EFDM's ablation): (x - mu_c) / sigma_c * sigma_s + mu_c
    wct    whitening and colouring (Li et al. 2017): C_s^(1/2) C_c^(-1/2) (x - mu_c) + mu_s with the
           channel covariances over H*W (biased), symmetric square roots by eigendecomposition in
           float64; eigenvalues below WCT_EPS * the largest are dropped (a rank-deficient map, e.g.
           fewer positions than channels, is whitened on its span; a tile's features outside that
           span are projected out)
    efdm   exact feature distribution matching (Zhang et al. 2022): each content value takes the
           style value of the same rank in its channel. With N content and M style positions, rank r
           maps to the style's quantile at level r / (N - 1), linearly interpolated between its
           sorted values: exact sort-matching when N == M. Ties (ReLU zeros) are broken by position,
           as a sort does.

A style mix interpolates what the transform is affine in, so it equals blending the transform's
outputs exactly, as the papers interpolate: mean and std (adain, mean, std), mean and covariance
square root (wct), the quantile function (efdm). float32 (wct float64), out of place. The protocol
(stats, apply, mix, pool, accumulator) and how a transform is applied: models/transfer.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from einops import rearrange

from models.adain import EPS, Stats, adain_stats, mean_std, mix_stats, normalize_weights
from models.linalg import at_positions, mean_cov, quantiles, sorted_values, sym_power
from models.registry import register_transform
from models.transfer import Transform

WCT_EPS = 1e-5  # relative; Li et al.'s reference code drops eigenvalues below an absolute 1e-5


# ---- adain, mean, std: channel mean and std
def _pool_mean_std(styles: Sequence[Stats]) -> Stats:
    """(mean, std) of the pooled domain from averaged mean and E[x^2] = std^2 - eps + mean^2."""
    mean = sum(m for m, _ in styles) / len(styles)
    second = sum(s**2 - EPS + m**2 for m, s in styles) / len(styles)
    return mean, (second - mean**2).clamp_min(0).add(EPS).sqrt()


def _adain(feat: torch.Tensor, content: Stats | None, style: Stats) -> torch.Tensor:
    return adain_stats(feat, content or mean_std(feat), style)


def _mean_only(feat: torch.Tensor, content: Stats | None, style: Stats) -> torch.Tensor:
    c_mean, _ = content or mean_std(feat)
    return feat.float() - c_mean + style[0]


def _std_only(feat: torch.Tensor, content: Stats | None, style: Stats) -> torch.Tensor:
    c_mean, c_std = content or mean_std(feat)
    return (feat.float() - c_mean) / c_std * style[1] + c_mean


class _Sums:
    """Per-channel sums of x and of a second-order term over streamed (C, n) values, in float64."""

    def __init__(self):
        self.total, self.second, self.count = 0.0, 0.0, 0

    def add(self, values: torch.Tensor) -> None:
        values = values.double()
        self.total = self.total + values.sum(dim=1)
        self.second = self.second + self.second_order(values)
        self.count += values.shape[1]


class MomentAccumulator(_Sums):
    """Sums of x and x^2 -> (mean, std) exactly as mean_std computes them on the whole map."""

    @staticmethod
    def second_order(values: torch.Tensor) -> torch.Tensor:
        return (values**2).sum(dim=1)

    def result(self) -> Stats:
        mean = self.total / max(self.count, 1)
        std = (self.second / max(self.count, 1) - mean**2).clamp_min(0).add(EPS).sqrt()
        return mean.float().view(1, -1, 1, 1), std.float().view(1, -1, 1, 1)


_MOMENTS = dict(mix=mix_stats, pool=_pool_mean_std, accumulator=MomentAccumulator)
register_transform("adain", Transform(mean_std, _adain, **_MOMENTS))
register_transform("mean", Transform(mean_std, _mean_only, **_MOMENTS))
register_transform("std", Transform(mean_std, _std_only, **_MOMENTS))


# ---- wct: channel mean and covariance
def _sqrtm(cov: torch.Tensor, power: float) -> torch.Tensor:
    """cov^power on the span of the features: eigenvalues below WCT_EPS * the largest count as 0."""
    return sym_power(cov, power, WCT_EPS)


def whiten(feat: torch.Tensor, content: Stats | None = None) -> torch.Tensor:
    """C_c^(-1/2) (x - mu_c) as float64 (B, C, H*W): identity channel covariance on its span."""
    mean, cov = content or mean_cov(feat)
    return _sqrtm(cov, -0.5) @ (rearrange(feat.double(), "b c h w -> b c (h w)") - mean)


def _wct(feat: torch.Tensor, content: Stats | None, style: Stats) -> torch.Tensor:
    s_mean, s_cov = style
    out = _sqrtm(s_cov, 0.5) @ whiten(feat, content) + s_mean
    return rearrange(out, "b c (h w) -> b c h w", h=feat.shape[-2]).float()


def _mix_wct(styles: Sequence[Stats], weights: Sequence[float] | None) -> Stats:
    """Averaged means and covariance roots, squared back: WCT is affine in (mean, C^(1/2))."""
    weights = normalize_weights(weights or [1.0] * len(styles), len(styles))
    root = sum(w * _sqrtm(cov, 0.5) for w, (_, cov) in zip(weights, styles))
    return sum(w * m for w, (m, _) in zip(weights, styles)), root @ root


def _pool_wct(styles: Sequence[Stats]) -> Stats:
    return sum(m for m, _ in styles) / len(styles), sum(c for _, c in styles) / len(styles)


class CovarianceAccumulator(_Sums):
    """Sums of x and x x^T -> (mean, cov) exactly as mean_cov computes them on the whole map."""

    @staticmethod
    def second_order(values: torch.Tensor) -> torch.Tensor:
        return values @ values.T

    def result(self) -> Stats:
        mean = (self.total / max(self.count, 1))[:, None]
        return mean[None], (self.second / max(self.count, 1) - mean @ mean.T)[None]


register_transform("wct", Transform(mean_cov, _wct, _mix_wct, _pool_wct, CovarianceAccumulator))


def match_color(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Recolor (B, 3, H, W) `source` so its pixel colour mean and covariance equal `target`'s: WCT
    on the pixels (Gatys et al.'s colour matching, with symmetric square roots). A colour direction
    the source does not use (a grey image) is left out rather than amplified. Sizes may differ;
    target batch may be 1. Not clamped, so the statistics match exactly (values may leave [0, 1]
    slightly)."""
    return _wct(source, None, mean_cov(target))


# ---- efdm: the sorted values of each channel (its quantile function: models/linalg.py)
def _efdm(feat: torch.Tensor, content: Stats | None, style: Stats) -> torch.Tensor:
    x = rearrange(feat.float(), "b c h w -> b c (h w)")
    (s_sorted,) = style
    # exact: the rank of each position within its own channel (a stable sort breaks ties)
    if content is None:
        # one sort; scattering positions gives each value its rank
        order = x.argsort(dim=2, stable=True)
        positions = torch.arange(x.shape[-1], device=x.device).expand_as(order)
        ranks = torch.empty_like(order).scatter_(2, order, positions).double()
        last = x.shape[-1] - 1
    else:  # tiling: the rank among the whole image's sorted values (equal values share a rank)
        (c_sorted,) = content
        whole = c_sorted.expand(x.shape[0], -1, -1).contiguous()
        ranks = torch.searchsorted(whole, x.contiguous()).double()
        last = c_sorted.shape[-1] - 1
    # whole when N == M
    pos = (ranks * (s_sorted.shape[-1] - 1) / max(last, 1)).clamp(max=s_sorted.shape[-1] - 1)
    out = at_positions(s_sorted.expand(x.shape[0], -1, -1), pos)
    return rearrange(out, "b c (h w) -> b c h w", h=feat.shape[-2])


def _common_length(styles: Sequence[Stats]) -> list[torch.Tensor]:
    """Each style's sorted values resampled to the longest's length (one quantile grid)."""
    m = max(s.shape[-1] for (s,) in styles)
    levels = torch.linspace(0, 1, m, device=styles[0][0].device)
    return [s if s.shape[-1] == m else quantiles(s, levels) for (s,) in styles]


def _mix_efdm(styles: Sequence[Stats], weights: Sequence[float] | None = None) -> Stats:
    """Averaged quantile functions (equal weights: a domain's pool)."""
    weights = normalize_weights(weights or [1.0] * len(styles), len(styles))
    return (sum(w * s for w, s in zip(weights, _common_length(styles))),)


class ValueAccumulator:
    """All streamed (C, n) values -> ((1, C, N) sorted,): the whole image's quantile function."""

    def __init__(self):
        self.parts: list[torch.Tensor] = []

    def add(self, values: torch.Tensor) -> None:
        self.parts.append(values.float())

    def result(self) -> Stats:
        return (torch.cat(self.parts, dim=1).sort(dim=1).values[None],)


register_transform("efdm", Transform(sorted_values, _efdm, _mix_efdm, _mix_efdm, ValueAccumulator))
