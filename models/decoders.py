"""Decoders from an encoder's feature map back to a [0, 1] RGB image; chosen by name from config.

Any encoder stride works. A decoder upsamples by 2 per stage, n = ceil(log2(stride)) stages; when
the stride is not a power of two (DINOv2's patch 14) it decodes to 2**n per feature cell and
`Decoder.forward` resizes the image down to `stride` per cell (16 -> 14 for DINOv2). A fractional
last stage (x1.75 bilinear + 3x3 conv) instead reconstructed no better at more FLOPs
(docs/results/design_figures.md); the resize also keeps the power-of-two decoder's parameter
shapes, so a patch-16 decoder's weights load into a patch-14 model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.layers import OUTPUT_ACTIVATIONS
from models.registry import register_decoder

# VGG19 block widths and conv counts, mirrored by MirrorVGGDecoder (level k works at stride 2**k)
_VGG_WIDTHS = (64, 128, 256, 512, 512)
_VGG_CONVS = (2, 2, 4, 4, 4)


def num_upsamples(stride: int) -> int:
    """The 2x stages for an encoder `stride`: ceil(log2(stride)) (16 -> 4, 14 -> 4, 8 -> 3)."""
    if stride < 2:
        raise ValueError(f"decoder needs an encoder stride >= 2, got {stride}")
    return (stride - 1).bit_length()


class Decoder(nn.Module):
    """Base: `layers` decodes to 2**n pixels per feature cell, the forward resizes to `stride`."""

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, 3, h * stride, w * stride) in [0, 1]."""
        images = self.layers(feat)
        size = (feat.shape[-2] * self.stride, feat.shape[-1] * self.stride)
        if tuple(images.shape[-2:]) == size:  # a power-of-two stride
            return images
        # antialiased bilinear in float32: a convex combination, so [0, 1] images stay in [0, 1]
        resized = F.interpolate(
            images.float(), size=size, mode="bilinear", antialias=True, align_corners=False
        )
        return resized.to(images.dtype)


class ConvReLU(nn.Sequential):
    """Reflect-padded 3x3 conv + ReLU, the AdaIN decoder's unit (reflect: no border artifacts)."""

    def __init__(self, cin: int, cout: int, relu: bool = True):
        super().__init__(nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3))
        if relu:
            self.append(nn.ReLU())


class MirrorVGGDecoder(Decoder):
    """The AdaIN paper's decoder (Huang & Belongie 2017): VGG19 mirrored, nearest up + 3x3 convs.

    For a stride-8 relu4_1 input this is exactly the paper's layout (512->256, up, 3x256, 256->128,
    up, 128, 128->64, up, 64, 64->3), tensor for tensor the released pytorch-AdaIN decoder.pth.
    Other strides mirror the VGG blocks above/below (stride 16 for a ViT adds a block-4 mirror, 32 a
    block-5 one). The default `output`, sigmoid, departs from the paper's unbounded output clipped
    at save time ("linear" here) to give [0, 1] with gradients everywhere.
    """

    def __init__(self, in_channels: int = 512, stride: int = 8, output: str = "sigmoid"):
        super().__init__()
        n = num_upsamples(stride)
        if n > len(_VGG_WIDTHS):
            raise ValueError(
                f"MirrorVGGDecoder supports strides up to {2 ** len(_VGG_WIDTHS)}, got {stride}"
            )
        self.stride = stride
        layers, cin = [], in_channels
        for level in range(n - 1, -1, -1):  # into level k (stride 2**k): conv to its width, up x2
            width = _VGG_WIDTHS[level]
            layers += [ConvReLU(cin, width), nn.Upsample(scale_factor=2, mode="nearest")]
            layers += [ConvReLU(width, width) for _ in range(_VGG_CONVS[level] - 1)]
            cin = width
        layers += [ConvReLU(cin, 3, relu=False), OUTPUT_ACTIVATIONS[output]()]
        self.layers = nn.Sequential(*layers)


class TransposedConvDecoder(Decoder):
    """The ViT notebook's decoder: n x (4x4 stride-2 deconv, InstanceNorm, ReLU), then a 3x3 conv.

    Stage widths, coarse to fine: `widths`, or halving toward the output and ending at `width`
    (stride 16: 512, 256, 128, 64, the notebook's). The notebook's nn.InstanceNorm2d had no affine
    parameters (`norm_affine=False`) and its output was tanh read as ImageNet-normalized pixels
    (`output="tanh"`); the repo's default is affine norms and a sigmoid. Transposed convs can leave
    checkerboard artifacts (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts");
    MirrorVGGDecoder is the upsample+conv alternative.
    """

    def __init__(
        self,
        in_channels: int = 768,
        stride: int = 16,
        width: int = 64,
        widths: tuple[int, ...] = (),
        norm_affine: bool = True,
        output: str = "sigmoid",
    ):
        super().__init__()
        n = num_upsamples(stride)
        if widths and len(widths) != n:
            raise ValueError(
                f"model.decoder.widths {list(widths)} has {len(widths)} entries; a stride-{stride} "
                f"encoder needs {n}, one per 2x stage (or leave it empty to derive them from width)"
            )
        widths = list(widths) or [width * 2 ** (n - 1 - i) for i in range(n)]
        self.stride = stride
        stages, cin = [], in_channels
        for cout in widths:
            up = nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1)
            stages += [up, nn.InstanceNorm2d(cout, affine=norm_affine), nn.ReLU()]
            cin = cout
        self.layers = nn.Sequential(
            *stages, nn.Conv2d(cin, 3, 3, padding=1), OUTPUT_ACTIVATIONS[output]()
        )


@register_decoder("mirror_vgg")
def build_mirror_vgg(channels: int, stride: int, cfg) -> nn.Module:
    return MirrorVGGDecoder(channels, stride, cfg.output)


@register_decoder("transposed_conv")
def build_transposed_conv(channels: int, stride: int, cfg) -> nn.Module:
    return TransposedConvDecoder(
        channels, stride, cfg.width, tuple(cfg.widths), cfg.norm_affine, cfg.output
    )
