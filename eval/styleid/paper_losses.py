"""The classic losses as papers report them: StyTr2's and MicroAST's content and style losses,
StyleID's Gram loss.

Features: torchvision VGG19 relu1_1..relu5_1 with ImageNet normalization (the network of StyleID's
GramLoss, image_metrics.py:136-158). StyTr2 and MicroAST use pytorch-AdaIN's Caffe `vgg_normalised`
weights, so their absolute numbers are on another scale: compare methods within one table.
Images as they are (ToTensor, no resize), each output against its own content and style.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def calc_mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, H, W) -> channel mean and sqrt(unbiased variance + eps), each (N, C, 1, 1).

    StyTR-2 function.py:4-12 (pytorch-AdaIN's function); torch.var is unbiased (N - 1)."""
    n, c = feat.shape[:2]
    var = feat.reshape(n, c, -1).var(dim=2) + eps
    return feat.reshape(n, c, -1).mean(dim=2).reshape(n, c, 1, 1), var.sqrt().reshape(n, c, 1, 1)


def normal(feat: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Mean/std-normalized features (StyTR-2 function.py:23-26)."""
    mean, std = calc_mean_std(feat, eps)
    return (feat - mean) / std


def content_loss(out: dict[str, torch.Tensor], content: dict[str, torch.Tensor]) -> float:
    """MSE of normalized relu5_1 plus MSE of normalized relu4_1 (StyTR-2 models/StyTR.py:209)."""
    return sum(
        F.mse_loss(normal(out[k]), normal(content[k])).item() for k in ("relu5_1", "relu4_1")
    )


def style_loss(out: dict[str, torch.Tensor], style: dict[str, torch.Tensor]) -> float:
    """Sum over relu1_1..relu5_1 of MSE(means) + MSE(stds) (StyTR-2 models/StyTR.py:172-178,
    211-213)."""
    total = 0.0
    for k in LAYERS:
        (mo, so), (ms, ss) = calc_mean_std(out[k]), calc_mean_std(style[k])
        total += (F.mse_loss(mo, ms) + F.mse_loss(so, ss)).item()
    return total


def content_loss_microast(out: dict[str, torch.Tensor], content: dict[str, torch.Tensor]) -> float:
    """MicroAST metrics/calc_cs_loss.py:210-226: MSE of the raw (not normalized) relu4_1 and relu5_1
    features, averaged over the two layers."""
    return sum(F.mse_loss(out[k], content[k]).item() for k in ("relu4_1", "relu5_1")) / 2


def style_loss_microast(out: dict[str, torch.Tensor], style: dict[str, torch.Tensor]) -> float:
    """MicroAST metrics/calc_cs_loss.py:156-182: StyTr2's style loss averaged over the 5 layers."""
    return style_loss(out, style) / len(LAYERS)


def styleid_gram(feat: torch.Tensor) -> torch.Tensor:
    """StyleID's `gram_matrix` (image_metrics.py:160-165): the whole (a, b*c*d) tensor as ONE row
    divided by sqrt(b*c*d), times its transpose, summed: a scalar, mean(feat^2) for a = 1, not a
    C x C Gram."""
    a, b, c, d = feat.shape
    rows = feat.reshape(a, 1, b * c * d) / (b * c * d) ** 0.5
    return torch.bmm(rows, rows.transpose(1, 2)).sum()


def gram_loss(out: dict[str, torch.Tensor], style: dict[str, torch.Tensor]) -> float:
    """StyleID's GramLoss.forward (image_metrics.py:174-182): mean over the 5 layers of the squared
    difference of `styleid_gram` values."""
    return sum(
        F.mse_loss(styleid_gram(out[k]), styleid_gram(style[k])).item() for k in LAYERS
    ) / len(LAYERS)


def gram_matrix_loss(out: dict[str, torch.Tensor], style: dict[str, torch.Tensor]) -> float:
    """A corrected variant beside StyleID's: mean over the 5 layers of the MSE between C x C Gram
    matrices
    F F^T / (C*H*W) (the repo's normalization, DESIGN.md), so channel correlations count."""
    total = 0.0
    for k in LAYERS:
        grams = []
        for feat in (out[k], style[k]):
            flat = feat.reshape(feat.shape[0], feat.shape[1], -1)
            grams.append(flat @ flat.transpose(1, 2) / flat[0].numel())
        total += F.mse_loss(*grams).item()
    return total / len(LAYERS)
