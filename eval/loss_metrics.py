"""Content and style losses as evaluation metrics, measured with the VGG19 loss network at a fixed \
resolution.

These are the numbers the AdaIN / Gatys papers' tables report ("content loss", "style loss"),
computed the
same way for every method so that rows are comparable:

- Resolution: every image (output, content, style) is brought to EVAL_SIZE x EVAL_SIZE = 256 x 256
  by resizing its short side to 256 (bilinear, antialiased) and center cropping (`prepare`). Losses
  depend on resolution (feature statistics change with scale), so numbers at other sizes are not
  comparable.
- Network: torchvision VGG19, ImageNet weights (`VGGFeatures`, normalization inside the module),
  or with `--weights hed` HED's VGG16 (its Caffe normalization inside; the same layer names);
  with random weights (tests, offline smoke runs) the numbers only check the code path.
- Content loss: MSE between the output's and the content image's features
  (models.losses.content_loss, mean over C*H*W), reported at relu4_1 (AdaIN paper) and at conv4_2
  (the layer Gatys et al. name; their code reads it after the ReLU, relu4_2, which the optimization
  minimises). Note that the AdaIN paper's training content loss compares against the AdaIN target t,
  not the content image; for evaluation the content image is the only target every method shares.
- Style losses: summed with equal weights over relu1_1, relu2_1, relu3_1, relu4_1, relu5_1, as
  `gram` (per-sample Gram / (C*H*W), sum of squared differences over the C*C entries) and `mean_std`
  (MSE of channel means + MSE of channel stds), the normalizations of models/losses.py, against the
  output's own style image.

Every metric is per sample ((B,) float32, computed in float32 with autocast off); lower is
better and 0 means identical features. The content loss of the content image itself is exactly 0.
"""

from __future__ import annotations

import torch

from media.resize import fit_square
from models.config import parse_weights
from models.losses import content_loss, style_losses, style_targets
from models.pretrained import seeded
from models.vgg import VGGFeatures, vgg_arch_for

EVAL_SIZE = 256
CONTENT_LAYERS = ("relu4_1", "conv4_2")
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_LOSS_NAMES = ("gram", "mean_std")
# Metric keys in table order: content_<layer>, style_<loss> (sum over STYLE_LAYERS).
LOSS_METRIC_KEYS = tuple(f"content_{layer}" for layer in CONTENT_LAYERS) + tuple(
    f"style_{name}" for name in STYLE_LOSS_NAMES
)

__all__ = ["EVAL_SIZE", "LOSS_METRIC_KEYS", "build_loss_net", "loss_metrics", "prepare"]


def prepare(images: torch.Tensor, size: int = EVAL_SIZE) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> (B, 3, size, size): short side resized to `size` (antialiased),
    center crop."""
    if images.shape[-2:] != (size, size):
        images = fit_square(images, size)
    return images.float().contiguous()  # one dense batch, not a strided view of the crop


def build_loss_net(weights: str = "pretrained", seed: int = 0) -> VGGFeatures:
    """The frozen VGG19 (up to relu5_1) the metrics are measured with; with `hed`, HED's VGG16.

    Args:
        weights: "pretrained" (ImageNet; fails fast offline naming the file to provide), "hed"
            (HED's VGG16, installable offline: models/hed.py), "random"
            (torchvision init from `seed`, for tests and offline smoke runs: numbers are not
            meaningful), or a local state dict path.
        seed: seed of the random init; the global RNG is left as it was.
    """
    layers = tuple(dict.fromkeys([*CONTENT_LAYERS, *STYLE_LAYERS]))
    source = parse_weights(weights)
    with seeded(seed):
        return VGGFeatures(
            layers, source.pretrained, source.file, arch=vgg_arch_for(weights)
        ).eval()


@torch.no_grad()
def loss_metrics(
    outputs: torch.Tensor,
    contents: torch.Tensor,
    styles: torch.Tensor,
    loss_net: VGGFeatures,
    size: int = EVAL_SIZE,
) -> dict[str, torch.Tensor]:
    """Per-sample content and style losses of stylized outputs, at `size` x `size`.

    Args:
        outputs: (B, 3, H, W) stylized images in [0, 1].
        contents: (B, 3, H', W') the content image of each output.
        styles: (B, 3, H'', W'') the style image of each output, or (1, 3, ...) shared by all.
        loss_net: a VGGFeatures that can reach relu5_1 (see `build_loss_net`).
        size: evaluation resolution (EVAL_SIZE for reportable numbers; smaller only in tests).

    Returns:
        {key: (B,) float32} for the keys in LOSS_METRIC_KEYS: `content_relu4_1`, `content_conv4_2`
        (MSE of features), `style_gram`, `style_mean_std` (sum over relu1_1..relu5_1).
    """
    if styles.shape[0] not in (1, outputs.shape[0]) or contents.shape[0] != outputs.shape[0]:
        raise ValueError(
            f"batch sizes do not pair up: {outputs.shape[0]} outputs, {contents.shape[0]} "
            f"contents, {styles.shape[0]} styles (styles may also be 1)"
        )
    device = next(loss_net.parameters()).device
    layers = list(dict.fromkeys([*CONTENT_LAYERS, *STYLE_LAYERS]))
    feats = {
        name: loss_net(prepare(x, size).to(device), layers)
        for name, x in (("out", outputs), ("content", contents), ("style", styles))
    }
    out: dict[str, list[torch.Tensor]] = {key: [] for key in LOSS_METRIC_KEYS}
    for i in range(outputs.shape[0]):
        # One sample at a time through the batch-averaging loss functions: the per-sample value is
        # then exactly models/losses.py's definition, with no batch-size-dependent reduction to
        # re-derive.
        o = {k: v[i : i + 1] for k, v in feats["out"].items()}
        c = {k: v[i : i + 1] for k, v in feats["content"].items()}
        j = i if styles.shape[0] > 1 else 0
        s = {k: v[j : j + 1] for k, v in feats["style"].items()}
        for layer in CONTENT_LAYERS:
            out[f"content_{layer}"].append(content_loss(o[layer], c[layer]))
        for name in STYLE_LOSS_NAMES:
            per_layer = style_losses(name, o, style_targets(name, s, STYLE_LAYERS))
            out[f"style_{name}"].append(sum(per_layer.values()))
    return {key: torch.stack(values).float().cpu() for key, values in out.items()}
