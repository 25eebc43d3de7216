"""Decoders from an encoder's feature map back to a [0, 1] RGB image; chosen by name from config."""

from __future__ import annotations

import math

import torch
from torch import nn

from models.layers import InstanceNorm2d

# VGG19 block widths and conv counts, mirrored by MirrorVGGDecoder (level k works at stride 2**k)
_VGG_WIDTHS = (64, 128, 256, 512, 512)
_VGG_CONVS = (2, 2, 4, 4, 4)


def _num_upsamples(stride: int) -> int:
    n = int(math.log2(stride))
    if 2**n != stride or n < 1:
        raise ValueError(f"decoder needs a power-of-two encoder stride >= 2, got {stride}")
    return n


class ConvReLU(nn.Sequential):
    """Reflect-padded 3x3 conv + ReLU, the AdaIN decoder's unit (reflect padding avoids border artifacts)."""

    def __init__(self, cin: int, cout: int, relu: bool = True):
        super().__init__(nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3))
        if relu:
            self.append(nn.ReLU())


class MirrorVGGDecoder(nn.Module):
    """The AdaIN paper's decoder: VGG19 mirrored, nearest upsampling + 3x3 convs (Huang & Belongie 2017).

    For a stride-8 relu4_1 input this is exactly the paper's layout (512->256, up, 3x256, 256->128, up,
    128, 128->64, up, 64, 64->3). Other strides mirror the VGG blocks above/below (stride 16 for a ViT
    adds a block-4 mirror). Departure from the paper: a final sigmoid keeps outputs in [0, 1] with
    gradients everywhere, instead of an unbounded output clipped at save time.
    """

    def __init__(self, in_channels: int = 512, stride: int = 8):
        super().__init__()
        n = _num_upsamples(stride)
        if n > 4:
            raise ValueError(f"MirrorVGGDecoder supports strides up to 16, got {stride}")
        layers = [ConvReLU(in_channels, _VGG_WIDTHS[n - 1]), nn.Upsample(scale_factor=2, mode="nearest")]
        for level in range(n - 1, -1, -1):  # level k runs at stride 2**k
            width = _VGG_WIDTHS[level]
            layers += [ConvReLU(width, width) for _ in range(_VGG_CONVS[level] - 1)]
            if level > 0:
                layers += [ConvReLU(width, _VGG_WIDTHS[level - 1]), nn.Upsample(scale_factor=2, mode="nearest")]
            else:
                layers += [ConvReLU(width, 3, relu=False), nn.Sigmoid()]
        self.layers = nn.Sequential(*layers)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, 3, h * stride, w * stride) in [0, 1]."""
        return self.layers(feat)


class TransposedConvDecoder(nn.Module):
    """The ViT notebook's decoder: log2(stride) x [ConvTranspose2d(4, stride 2) + InstanceNorm + ReLU], 3x3 conv.

    Stage widths halve toward the output and end at `width` (stride 16: 512, 256, 128, 64). Transposed
    convs can leave checkerboard artifacts (Odena et al. 2016, "Deconvolution and Checkerboard
    Artifacts"); MirrorVGGDecoder is the upsample+conv alternative to compare against. Sigmoid output.
    """

    def __init__(self, in_channels: int = 768, stride: int = 16, width: int = 64):
        super().__init__()
        n = _num_upsamples(stride)
        widths = [width * 2 ** (n - 1 - i) for i in range(n)]
        stages, cin = [], in_channels
        for cout in widths:
            stages += [
                nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1),
                InstanceNorm2d(cout, affine=True),
                nn.ReLU(),
            ]
            cin = cout
        self.layers = nn.Sequential(*stages, nn.Conv2d(cin, 3, 3, padding=1), nn.Sigmoid())

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, 3, h * stride, w * stride) in [0, 1]."""
        return self.layers(feat)
