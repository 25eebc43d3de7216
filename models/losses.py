"""Style-transfer losses as pure functions, always in float32, with a registry of style losses by name.

Normalizations (they set the style/content balance, so they are part of each function's contract):
  content_loss     mean squared error over all B*C*H*W elements.
  gram             per-sample Gram G = F F^T / (C*H*W) for F of shape (C, H*W); the layer loss is the
                   SUM of squared differences over the C*C entries, averaged over the batch: exactly 4x
                   Gatys et al.'s E_l. (Averaging over the C*C entries instead would divide the loss by
                   C^2 = 262,144 at relu5_1 and make the style term vanish.)
  mean_std         channel mean and std (biased var + 1e-5) per sample; the layer loss is
                   MSE(mean) + MSE(std), each averaged over B*C, as in the AdaIN paper's reference code.
  tv_loss          mean absolute difference of vertically and horizontally adjacent pixels (anisotropic).

A style_weight does NOT carry over between gram and mean_std. The Gram loss is quartic in the features
and the mean_std loss quadratic, so their ratio goes as 1 / (feature scale)^2 and depends on the loss
network's weights. Measured on random-weight VGG19 (seed 0; astronaut, coffee, chelsea and a stripes
texture at 256 px, all 6 pairs; `python docs/measure_style_loss_ratio.py`): mean_std is 11-35x the Gram
loss per layer and pair (median 14-22x by layer, relu1_1..relu5_1), 15x summed over relu1_1..relu4_1;
doubling the features divides the ratio by 4. A Gram run thus needs ~15x the mean_std style_weight on
that network. Pretrained VGG19 has other feature magnitudes: measure the factor there
(`--weights pretrained`) before comparing the two losses.

Statistics and losses run with autocast disabled: a float16 Gram of ReLU features overflows (max 65504).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from einops import rearrange

from models.adain import mean_std
from models.precision import fp32
from models.registry import lookup


def gram(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> per-sample Gram matrix (B, C, C) = F F^T / (C*H*W), float32 even under autocast."""
    with fp32(feat.device):
        b, c, h, w = feat.shape
        flat = rearrange(feat.float(), "b c h w -> b c (h w)")
        return flat @ flat.transpose(1, 2) / (c * h * w)


def mean_std_stat(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 2, C): channel mean and std (see models.adain.mean_std), float32."""
    with fp32(feat.device):
        mean, std = mean_std(feat)
        return torch.stack([mean.flatten(1), std.flatten(1)], dim=1)


def gram_distance(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum over the C*C Gram entries of the squared difference, mean over the batch; target may have B=1."""
    return ((out - target) ** 2).sum(dim=(1, 2)).mean()


def mean_std_distance(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE(mean) + MSE(std), each averaged over batch and channels; target may have B=1."""
    return ((out - target) ** 2).mean(dim=(0, 2)).sum()


@dataclass(frozen=True)
class StyleLoss:
    """A style loss: a per-layer statistic of features and a distance between statistics."""

    statistic: Callable[[torch.Tensor], torch.Tensor]
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


STYLE_LOSSES: dict[str, StyleLoss] = {
    "gram": StyleLoss(gram, gram_distance),
    "mean_std": StyleLoss(mean_std_stat, mean_std_distance),
}


def get_style_loss(name: str) -> StyleLoss:
    return lookup(STYLE_LOSSES, name, "style loss (loss.style_loss)")


def layer_weights(layers: Sequence[str], weights: Sequence[float] | None) -> dict[str, float]:
    """{layer: weight}; an empty/None `weights` means 1.0 for every layer."""
    if not weights:
        return {layer: 1.0 for layer in layers}
    if len(weights) != len(layers):
        raise ValueError(f"{len(weights)} layer weights for {len(layers)} layers {list(layers)}")
    return {layer: float(w) for layer, w in zip(layers, weights)}


def style_targets(name: str, feats: Mapping[str, torch.Tensor], layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Precompute the style statistics of `feats` once (reused over many outputs / steps)."""
    stat = get_style_loss(name).statistic
    return {layer: stat(feats[layer]) for layer in layers}


def style_losses(
    name: str, out_feats: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Unweighted per-layer style losses {layer: scalar} between output features and target statistics."""
    loss = get_style_loss(name)
    with fp32(next(iter(out_feats.values())).device):
        return {layer: loss.distance(loss.statistic(out_feats[layer]), target) for layer, target in targets.items()}


def content_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between feature maps, float32."""
    with fp32(out.device):
        return ((out.float() - target.float()) ** 2).mean()


def tv_loss(images: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation: mean |x[i+1, j] - x[i, j]| + mean |x[i, j+1] - x[i, j]|, float32."""
    with fp32(images.device):
        x = images.float()
        return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean()


def weighted_sum(losses: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    return sum(weights[k] * v for k, v in losses.items())
