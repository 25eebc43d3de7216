"""Style-transfer losses as pure functions with a registry of style losses by name; each function's
docstring states its normalization (they set the style/content balance).

Always float32, with autocast disabled: a float16 Gram of ReLU features overflows (max 65504). (w2
solves its C x C eigenproblems in float64; its statistics and its result are float32.)

A style_weight does NOT carry over between gram and mean_std. The Gram loss is quartic in the
features and the mean_std loss quadratic, so their ratio goes as 1 / (feature scale)^2 and depends
on the loss network's weights: measure it on yours with `python -m bench.style_loss_ratio`
before comparing the two (on random VGG19 a Gram run needed ~15x the mean_std weight:
docs/results/design_figures.md). w2 and efdm are quadratic like mean_std and contain it (the
Gaussian, resp. marginal, part beyond mean and std only adds), so mean_std's style_weight is their
starting point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from einops import rearrange

from models.adain import mean_std
from models.linalg import mean_cov, quantiles, sorted_values, sym_power
from models.precision import fp32
from models.registry import STYLE_LOSSES, register_style_loss
from models.style_loss import StyleLoss

Features = Mapping[str, torch.Tensor]  # {layer: (B, C, H, W) features}

# w2: eigenvalues of M = R S_o R at or below W2_FLOOR * the largest count as 0, with zero gradient.
# sqrt's slope is unbounded at 0, and float64 eigh returns the zero eigenvalues of a rank-deficient
# M (relu4_1 of a 64 px crop: 64 positions, 512 channels) as noise of ~1e-16 * the largest. The
# floor drops covariance eigenvalues below sqrt(W2_FLOOR) = 1e-6 * the largest from the cross term,
# biasing w2(x, x) upward by far less than the distance between two images
# (docs/results/design_figures.md); gradients stay finite.
W2_FLOOR = 1e-12


def gram(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> per-sample Gram matrix (B, C, C) = F F^T / (C*H*W), F = (C, H*W), float32."""
    with fp32(feat.device):
        b, c, h, w = feat.shape
        flat = rearrange(feat.float(), "b c h w -> b c (h w)")
        return flat @ flat.transpose(1, 2) / (c * h * w)


def gram_distance(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum over the C*C Gram entries of the squared difference, mean over the batch: exactly 4x
    Gatys et al.'s E_l. (Averaging over the C*C entries instead would divide the loss by
    C^2 = 262,144 at relu5_1 and make the style term vanish.)"""
    return ((out - target) ** 2).sum(dim=(1, 2)).mean()


def mean_std_stat(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 2, C): channel mean and std = sqrt(biased variance over H*W + 1e-5)
    (models.adain.mean_std), float32."""
    with fp32(feat.device):
        mean, std = mean_std(feat)
        return torch.stack([mean.flatten(1), std.flatten(1)], dim=1)


def mean_std_distance(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE(mean) + MSE(std), each averaged over B*C, as in the AdaIN paper's reference code."""
    return ((out - target) ** 2).mean(dim=(0, 2)).sum()


# ---- w2: Gaussians fitted to the features
def mean_cov_stat(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, 1 + C): channel mean (column 0) and biased covariance over H*W
    (columns 1..), one tensor so targets stay a {layer: tensor} dict that blends linearly
    (models/gatys.py). float32: a T4 runs float64 at 1/32 of its float32 rate, and w2's error
    against scipy's sqrtm was the same with float64 covariances."""
    with fp32(feat.device):
        mean, cov = mean_cov(feat, torch.float32)
        return torch.cat([mean, cov], dim=2)


def _trace_sqrt(m: torch.Tensor) -> torch.Tensor:
    """tr(M^(1/2)) of (B, C, C) symmetric PSD M: the sum of sqrt(eigenvalues above W2_FLOOR's)."""
    # its backward V diag(g) V^T is stable at repeated eigenvalues, unlike eigh's
    vals = torch.linalg.eigvalsh(m)
    kept = vals > vals[..., -1:].clamp_min(torch.finfo(vals.dtype).tiny) * W2_FLOOR
    return torch.where(kept, vals, torch.ones_like(vals)).sqrt().mul(kept).sum(dim=-1)


def w2_distance(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared 2-Wasserstein distance between the Gaussians of two mean_cov_stat's, DIVIDED BY C,
    mean over the batch: per channel, so for uncorrelated channels it is MSE(mean) + MSE(std) over
    C, mean_std's scale (without its 1e-5).

    W2^2 = ||mu_o - mu_t||^2 + tr(S_o) + tr(S_t) - 2 tr((R S_o R)^(1/2)), R = S_t^(1/2). The target
    is a constant (detached): its root R needs eigh, whose gradient is unstable
    at repeated eigenvalues. The output enters only through eigvalsh of R S_o R, whose gradient is
    stable.

    Float64 eigendecomposition, not Newton-Schulz (matmuls only, the usual GPU choice): on
    random-VGG19 features eigh matched scipy's sqrtm closely where Newton-Schulz was 10-100x further
    off or overflowed in float32, and was faster on CPU at 256-512 channels
    (docs/results/design_figures.md).
    """
    out, target = out.double(), target.detach().double()
    mu_o, cov_o = out[..., 0], out[..., 1:]
    mu_t, cov_t = target[..., 0], target[..., 1:]
    root = sym_power(cov_t, 0.5, 0.0)  # keeps every eigenvalue > 0: w2(x, x) == 0
    cross = _trace_sqrt(root @ cov_o @ root)
    trace = lambda m: m.diagonal(dim1=-2, dim2=-1).sum(dim=-1)  # noqa: E731
    w2 = ((mu_o - mu_t) ** 2).sum(dim=-1) + trace(cov_o) + trace(cov_t) - 2 * cross
    return (w2 / out.shape[1]).mean().float()


# ---- efdm: each channel's sorted values (its quantile function)
def sorted_stat(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H*W) each channel's values sorted ascending, float32."""
    with fp32(feat.device):
        return sorted_values(feat)[0]


def efdm_distance(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over B, C and the output's N positions of (sorted output - target quantile)^2: the mean
    over channels of the squared 1-D Wasserstein-2 distance between the value distributions. Equals
    mean_std (without its 1e-5) when the channels differ only by shift and scale.

    The output's r-th smallest value (r = 0..N-1) is compared with the target's quantile at level r
    / (N - 1), linearly interpolated (models.linalg.quantiles: the efdm transform's convention),
    so the sizes may differ.
    """
    n = out.shape[-1]
    if target.shape[-1] != n:
        target = quantiles(target, torch.linspace(0, 1, n, device=out.device))
    return ((out - target) ** 2).mean()


register_style_loss("gram", StyleLoss(gram, gram_distance))
register_style_loss("mean_std", StyleLoss(mean_std_stat, mean_std_distance))
register_style_loss("w2", StyleLoss(mean_cov_stat, w2_distance))
register_style_loss("efdm", StyleLoss(sorted_stat, efdm_distance))


def layer_weights(layers: Sequence[str], weights: Sequence[float] | None) -> dict[str, float]:
    """{layer: weight}; an empty/None `weights` means 1.0 for every layer."""
    if not weights:
        return {layer: 1.0 for layer in layers}
    if len(weights) != len(layers):
        raise ValueError(f"{len(weights)} layer weights for {len(layers)} layers {list(layers)}")
    return {layer: float(w) for layer, w in zip(layers, weights)}


def style_targets(name: str, feats: Features, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Precompute the style statistics of `feats` once (reused over many outputs / steps)."""
    stat = STYLE_LOSSES[name].statistic
    return {layer: stat(feats[layer]) for layer in layers}


def style_losses(name: str, out_feats: Features, targets: Features) -> dict[str, torch.Tensor]:
    """Unweighted per-layer style losses {layer: scalar} of output features vs target statistics."""
    loss = STYLE_LOSSES[name]
    with fp32(next(iter(out_feats.values())).device):
        return {k: loss.distance(loss.statistic(out_feats[k]), t) for k, t in targets.items()}


def weighted_sum(losses: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """sum_l w_l * loss_l (the per-layer style losses weighted by layer_weights)."""
    return sum(weights[k] * v for k, v in losses.items())


def content_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all B*C*H*W elements of two feature maps, float32."""
    with fp32(out.device):
        return ((out.float() - target.float()) ** 2).mean()


def tv_loss(images: torch.Tensor) -> torch.Tensor:
    """Anisotropic TV, float32: mean |x[i+1, j] - x[i, j]| + mean |x[i, j+1] - x[i, j]|."""
    with fp32(images.device):
        x = images.float()
        down, right = x[..., 1:, :] - x[..., :-1, :], x[..., 1:] - x[..., :-1]
        return down.abs().mean() + right.abs().mean()
