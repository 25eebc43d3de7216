"""Small building blocks shared by the networks: input normalization, stride padding, channels-last InstanceNorm."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Normalize(nn.Module):
    """(x - mean) / std per channel, for images in [0, 1] of shape (B, 3, H, W).

    Each network owns one, so no caller ever normalizes by hand. Buffers are non-persistent: they come
    from the network's definition, not from weight files.
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)


def pad_to_multiple(images: torch.Tensor, multiple: int, minimum: int = 0) -> torch.Tensor:
    """Pad (B, C, H, W) on the bottom/right to H, W multiples of `multiple`, and to at least `minimum`.

    Reflect padding (no hard border for the encoder to see); replicate when the image is smaller than
    the pad, where reflect is undefined.
    """
    h, w = images.shape[-2:]
    ph, pw = max(-h % multiple, minimum - h), max(-w % multiple, minimum - w)
    ph, pw = ph + -(h + ph) % multiple, pw + -(w + pw) % multiple
    if not (ph or pw):
        return images
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(images, (0, pw, 0, ph), mode=mode)


class InstanceNorm2d(nn.InstanceNorm2d):
    """nn.InstanceNorm2d (instance statistics, affine) that keeps a channels_last input channels_last.

    torch's CPU instance_norm returns a contiguous tensor, so every later conv in an NHWC network pays
    two layout conversions; here the statistics are taken over (H, W) in float32 (biased variance, as
    torch's), with the same parameters and state-dict keys.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.track_running_stats or not x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        x = x.float()
        mean = x.mean(dim=(2, 3), keepdim=True)  # two passes: torch's Welford var_mean is ~4x slower here
        var = (x - mean).square_().mean(dim=(2, 3), keepdim=True)  # in place: one full-size temporary, not two
        scale = self.weight.float().view(1, -1, 1, 1) * (var + self.eps).rsqrt()
        return (x * scale).add_(self.bias.float().view(1, -1, 1, 1) - mean * scale)
