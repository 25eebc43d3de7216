"""Network building blocks: input normalization, stride padding, decoder output activations."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Normalize(nn.Module):
    """(x - mean) / std per channel, for images in [0, 1] of shape (B, 3, H, W).

    Each network owns one, so no caller ever normalizes by hand. Buffers are non-persistent: they
    come from the network's definition, not from weight files.
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        super().__init__()
        for name, values in (("mean", mean), ("std", std)):
            values = torch.tensor(values, dtype=torch.float32).view(1, -1, 1, 1)
            self.register_buffer(name, values, persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)


# the registry of model.encoder.input_norm (models/config.py InputNorm): (mean, std) of the config
# -> the (mean, std) the encoder normalizes with, or None for the network's own (torchvision VGG:
# ImageNet; vgg_normalised: none, its folded input conv normalizes; a timm ViT: its pretrained
# config). "timm" is checked to be a ViT when the config is read (configs/validate.py); "imagenet"
# is the ViT notebook's, for any encoder.
INPUT_NORMS: dict[str, Callable[[Sequence[float], Sequence[float]], tuple | None]] = {
    "auto": lambda mean, std: None,
    "timm": lambda mean, std: None,
    "imagenet": lambda mean, std: (IMAGENET_MEAN, IMAGENET_STD),
    "explicit": lambda mean, std: (tuple(mean), tuple(std)),  # model.encoder.input_mean / input_std
}


def encoder_norm(cfg) -> tuple | None:
    """model.encoder.input_norm of an EncoderConfig -> (mean, std), or None: the network's own."""
    return INPUT_NORMS[cfg.input_norm](cfg.input_mean, cfg.input_std)


def pad_to_multiple(images: torch.Tensor, multiple: int, minimum: int = 0) -> torch.Tensor:
    """Pad (B, C, H, W) bottom/right to H, W multiples of `multiple`, each at least `minimum`.

    Reflect padding (no hard border for the encoder to see); replicate where reflect is undefined
    (an image smaller than its pad).
    """
    h, w = images.shape[-2:]
    ph, pw = max(-h % multiple, minimum - h), max(-w % multiple, minimum - w)
    ph, pw = ph + -(h + ph) % multiple, pw + -(w + pw) % multiple
    if not (ph or pw):
        return images
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(images, (0, pw, 0, ph), mode=mode)


# ---- decoder outputs: every decoder ends in one of these, so its images are in [0, 1]
class ClampedLinear(nn.Module):
    """clamp(x, 0, 1) with the gradient of the identity (straight-through).

    pytorch-AdaIN's decoder has no output activation: it trains on the raw output and its test.py
    clamps when saving. The forward here clamps in training too, so the repo's images stay in [0, 1]
    everywhere; the gradient passes as if unclamped, as in the reference training (the loss differs
    from the reference's only on pixels outside [0, 1]).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + (x.clamp(0, 1) - x).detach()


class TanhDenormalize(Normalize):
    """clamp(tanh(x) * IMAGENET_STD + IMAGENET_MEAN, 0, 1): the ViT notebook's output and its
    display (Normalize's ImageNet buffers, inverted).

    The notebook's decoder ended in Tanh and was trained against ImageNet-normalized images, so
    tanh's [-1, 1] is read as normalized pixels; its images span mean +- std per channel (about
    0.26..0.71 for R).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(x) * self.std.to(x.dtype) + self.mean.to(x.dtype)).clamp(0, 1)


# the registry of model.decoder.output (models/config.py OutputActivation lists the same names)
OUTPUT_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,  # the repo's default: [0, 1] with gradients everywhere
    "tanh": TanhDenormalize,  # the ViT notebook's
    "linear": ClampedLinear,  # pytorch-AdaIN's
}
