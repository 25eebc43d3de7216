"""Two figures of a stylized image against its content and its style: style distance (lower = more
of the style) and edge correlation (higher = more of the content's edges).

Every image is first brought to EVAL_SIZE x EVAL_SIZE = 256 x 256 (eval.loss_metrics.prepare: short
side resized to 256, antialiased bilinear, center crop), the size data/offline stores its held-out
pairs at (short side 256); both figures change with resolution, so numbers at other sizes are not
comparable.

- style distance: on HED's VGG16 (`build_feature_net("vgg16", ..., weights="hed")`: ImageNet VGG16
  fine-tuned for edges on BSDS500, the one trained VGG installable offline), per layer l in
  relu1_1, relu2_1, relu3_1, relu4_1 the Gram matrix G_l = F F^T / (C*H*W) of each image's (C, H*W)
  features (models.losses.gram), and
      D = (1/4) sum_l ||G_l(output) - G_l(style)||_F / ||G_l(style)||_F.
  Relative, so every layer counts alike whatever its feature scale (Gatys et al.'s absolute E_l is
  dominated by whichever layer has the largest activations, and that depends on the network's
  weights); Frobenius rather than squared, so D is linear in how far the statistics are off and
  reads as "off by a fraction D of the style's own Gram". relu5_1 is left out: at 256 px it is a
  16x16 map, whose Gram says more about the style image's layout than its texture. 0 exactly when
  the output is the style image; about 1 when the output's statistics are no closer to the
  style's than zero would be. It has no upper bound.
- edge correlation: both images blurred with a Gaussian of sigma EDGE_SIGMA = 2 px (kernel
  2*ceil(3 sigma) + 1 = 13, reflect padding; torchvision's gaussian_blur), then
  eval.image_metrics.edge_similarity: the Pearson correlation over all pixels of the 3x3 Sobel
  gradient magnitudes of the BT.601 luminances (replicate padding). The blur is what departs from
  edge_similarity: a stylized image is meant to carry the style's strokes, and at full resolution
  their 1-3 px edges outnumber the content's contours, so the unblurred figure measures texture as
  much as structure. sigma 2 keeps the contours of a 256 px photo (objects, faces, the edges a
  viewer recognises) and removes texture finer than about 6 px. Range [-1, 1]; 1 when the output
  is the content (or its edge map equals the content's up to scale and offset); a flat image has
  no edges and gives 0 (edge_similarity's floor), not NaN.

Both are computed without gradients, the Grams in float32 and the blur in float64 (a flat image
stays exactly flat); edge_similarity's luminance is float32, so identical images correlate to 1
within about 1e-6. Both are pure functions of the images given and the network's weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.transforms.v2.functional import gaussian_blur

from eval.image_metrics import edge_similarity
from eval.loss_metrics import EVAL_SIZE
from media.progress import tqdm
from models.losses import gram
from models.registry import build_feature_net

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
EDGE_SIGMA = 2.0
QUALITY_NET = "vgg16"
QUALITY_WEIGHTS = "hed"

__all__ = [
    "EDGE_SIGMA",
    "EVAL_SIZE",
    "STYLE_LAYERS",
    "PairScores",
    "build_quality_net",
    "edge_correlation",
    "score_pairs",
    "style_distance",
]


def build_quality_net(weights: str = QUALITY_WEIGHTS) -> nn.Module:
    """HED's VGG16 up to relu4_1, frozen (`weights`: "hed"; "random" only exercises the code)."""
    return build_feature_net(QUALITY_NET, STYLE_LAYERS, weights)


@torch.no_grad()
def style_grams(net: nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """(B, 3, H, W) in [0, 1] -> {layer: (B, C, C) Gram = F F^T / (C*H*W)} at STYLE_LAYERS."""
    return {layer: gram(feat) for layer, feat in net(images, STYLE_LAYERS).items()}


def relative_gram_distance(
    out: Mapping[str, torch.Tensor], style: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """Per sample, the mean over layers of ||G(out) - G(style)||_F / ||G(style)||_F: (B,).

    The floor on the denominator only keeps an all-zero style Gram (never seen on real images) from
    dividing by zero.
    """
    per_layer = [
        (out[k] - style[k]).flatten(1).norm(dim=1)
        / style[k].flatten(1).norm(dim=1).clamp_min(1e-12)
        for k in STYLE_LAYERS
    ]
    return torch.stack(per_layer).mean(dim=0)


def style_distance(net: nn.Module, outputs: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) outputs and styles in [0, 1] -> (B,) relative Gram distance (module
    docstring)."""
    return relative_gram_distance(style_grams(net, outputs), style_grams(net, styles))


def edge_correlation(
    outputs: torch.Tensor, contents: torch.Tensor, sigma: float = EDGE_SIGMA
) -> torch.Tensor:
    """(B, 3, H, W) outputs and contents in [0, 1] -> (B,) Pearson correlation of their blurred
    Sobel edge maps (module docstring); sigma 0 is edge_similarity unblurred."""
    if sigma > 0:
        size = 2 * math.ceil(3 * sigma) + 1  # +-3 sigma: the weights it cuts off sum to < 0.3%
        outputs, contents = (
            gaussian_blur(x.double(), [size, size], [sigma, sigma]) for x in (outputs, contents)
        )
    return edge_similarity(outputs, contents)


@dataclass(frozen=True)
class PairScores:
    """Per-pair figures, (N,) each, in pair order."""

    style_distance: torch.Tensor
    edge_correlation: torch.Tensor

    def means(self) -> dict[str, float]:
        return {
            "style_distance": self.style_distance.mean().item(),
            "edge_correlation": self.edge_correlation.mean().item(),
        }


def score_pairs(
    net: nn.Module,
    outputs: Mapping[str, torch.Tensor],
    contents: torch.Tensor,
    styles: torch.Tensor,
    batch_size: int = 4,
) -> dict[str, PairScores]:
    """Both figures of each named set of N outputs against the N pairs' contents and styles, all
    (N, 3, S, S) at the evaluation size.

    In batches of `batch_size` pairs, so memory stays bounded (relu1_1 of a 256 px image is
    16 MiB); each batch's style Grams are computed once for every set.
    """
    for name, out in outputs.items():
        if not out.shape == contents.shape == styles.shape:
            raise ValueError(
                f"outputs '{name}', contents and styles must have one shape (N, 3, S, S), got "
                f"{tuple(out.shape)}, {tuple(contents.shape)}, {tuple(styles.shape)}"
            )
    distances = {name: [] for name in outputs}
    correlations = {name: [] for name in outputs}
    starts = range(0, contents.shape[0], batch_size)
    for i in tqdm(starts, desc="score", leave=False, dynamic_ncols=True):
        part = slice(i, i + batch_size)
        target = style_grams(net, styles[part])
        for name, out in outputs.items():
            distances[name].append(relative_gram_distance(style_grams(net, out[part]), target))
            correlations[name].append(edge_correlation(out[part], contents[part]))
    return {
        name: PairScores(torch.cat(distances[name]), torch.cat(correlations[name]))
        for name in outputs
    }
