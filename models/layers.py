"""Small building blocks shared by the networks: input normalization, stride padding,
layout-preserving reflection padding, channels-last InstanceNorm, and the decoders' output
activations."""

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
        self.register_buffer(
            "mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)


# the registry of model.encoder.input_norm (configs/schema.py InputNorm): (mean, std) of the config
# -> the (mean, std) the encoder normalizes with, or None for the network's own (torchvision VGG:
# ImageNet; vgg_normalised: none, its folded input conv normalizes; a timm ViT: its pretrained
# config). "timm" is checked to be a ViT when the config is read (configs/validate.py).
INPUT_NORMS: dict[str, Callable[[Sequence[float], Sequence[float]], tuple | None]] = {
    "auto": lambda mean, std: None,
    "timm": lambda mean, std: None,
    "imagenet": lambda mean, std: (
        IMAGENET_MEAN,
        IMAGENET_STD,
    ),  # the ViT notebook's, for any encoder
    "explicit": lambda mean, std: (tuple(mean), tuple(std)),  # model.encoder.input_mean / input_std
}


def encoder_norm(cfg) -> tuple | None:
    """model.encoder.input_norm of an EncoderConfig -> (mean, std), or None for the network's
    own."""
    return INPUT_NORMS[cfg.input_norm](cfg.input_mean, cfg.input_std)


def pad_to_multiple(images: torch.Tensor, multiple: int, minimum: int = 0) -> torch.Tensor:
    """Pad (B, C, H, W) on the bottom/right to H, W multiples of `multiple`, and to at least
    `minimum`.

    Reflect padding (no hard border for the encoder to see); replicate when the image is smaller
    than the pad, where reflect is undefined.
    """
    h, w = images.shape[-2:]
    ph, pw = max(-h % multiple, minimum - h), max(-w % multiple, minimum - w)
    ph, pw = ph + -(h + ph) % multiple, pw + -(w + pw) % multiple
    if not (ph or pw):
        return images
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(images, (0, pw, 0, ph), mode=mode)


def reflect_pad(x: torch.Tensor, pad: Sequence[int]) -> torch.Tensor:
    """F.pad(x, pad, mode="reflect") for (B, C, H, W): same values and gradients, layout kept.

    CUDA's reflection_pad2d writes a contiguous (NCHW) output whatever its input, so in a
    channels_last network every reflect-padded conv paid two layout conversions forward and two
    backward. Here a channels_last input is padded as its NHWC view (B, H, W, C) with
    reflection_pad3d over (H, W, C) and no padding of C: one kernel, one copy, and the result is
    channels_last on every device (on CPU as fast as F.pad's own channels_last kernel).
    pad = (left, right, top, bottom).
    """
    channels_last = x.is_contiguous(memory_format=torch.channels_last)
    if x.dim() == 4 and not x.is_contiguous() and channels_last:
        nhwc = x.permute(0, 2, 3, 1)  # a contiguous view: no copy
        return F.pad(nhwc, (0, 0, *pad), mode="reflect").permute(0, 3, 1, 2)
    return F.pad(x, tuple(pad), mode="reflect")


class ReflectionPad2d(nn.ReflectionPad2d):
    """nn.ReflectionPad2d that keeps a channels_last input so (`reflect_pad`); no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reflect_pad(x, self.padding)


class PaddedConv2d(nn.Conv2d):
    """nn.Conv2d whose padding_mode "reflect" pads with `reflect_pad` (layout kept); same keys."""

    def _conv_forward(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        if self.padding_mode != "reflect":
            return super()._conv_forward(x, weight, bias)
        padded = reflect_pad(x, self._reversed_padding_repeated_twice)
        return F.conv2d(padded, weight, bias, self.stride, 0, self.dilation, self.groups)


class InstanceNorm2d(nn.InstanceNorm2d):
    """nn.InstanceNorm2d (instance statistics, affine) that keeps a channels_last input
    channels_last.

    torch's CPU instance_norm returns a contiguous tensor, so every later conv in an NHWC network
    pays two layout conversions; here the statistics are taken over (H, W) in float32 (biased
    variance, as torch's), with the same parameters and state-dict keys.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.track_running_stats or not x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        x = x.float()
        mean = x.mean(dim=(2, 3), keepdim=True)  # two passes: faster than Welford var_mean here
        # in place: one full-size temporary, not two
        var = (x - mean).square_().mean(dim=(2, 3), keepdim=True)
        scale = (var + self.eps).rsqrt()
        # nn.InstanceNorm2d's default (the ViT notebook's decoder): no weight, no bias
        if not self.affine:
            return (x * scale).sub_(mean * scale)
        scale = self.weight.float().view(1, -1, 1, 1) * scale
        return (x * scale).add_(self.bias.float().view(1, -1, 1, 1) - mean * scale)


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


class TanhDenormalize(nn.Module):
    """clamp(tanh(x) * IMAGENET_STD + IMAGENET_MEAN, 0, 1): the ViT notebook's output and its
    display.

    The notebook's decoder ended in Tanh and was trained against ImageNet-normalized images, so
    tanh's [-1, 1] is read as normalized pixels; its images span mean +- std per channel (about
    0.26..0.71 for R).
    """

    def __init__(self):
        super().__init__()
        self.register_buffer(
            "mean", torch.tensor(IMAGENET_MEAN).view(1, -1, 1, 1), persistent=False
        )
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(x) * self.std.to(x.dtype) + self.mean.to(x.dtype)).clamp(0, 1)


# the registry of model.decoder.output (configs/schema.py OutputActivation lists the same names)
OUTPUT_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,  # the repo's default: [0, 1] with gradients everywhere
    "tanh": TanhDenormalize,  # the ViT notebook's
    "linear": ClampedLinear,  # pytorch-AdaIN's (no activation; clamped as its test.py saves)
}
