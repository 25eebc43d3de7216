"""Decoders from an encoder's feature map back to a [0, 1] RGB image; chosen by name from config.

Any encoder stride works. A decoder upsamples by 2 per stage, n = ceil(log2(stride)) stages; when
the stride is not a power of two (DINOv2's patch 14) it decodes to 2**n per feature cell and
`to_stride` resizes the image down to `stride` per cell (antialiased bilinear, 16 -> 14 for DINOv2).
The alternative, a last stage that upsamples by a fraction (x1.75, bilinear) before a 3x3 conv,
reconstructed no better and costs more FLOPs (a 3x3 conv at full resolution costs more than the
stride-2 deconv at 16/14 of it): `python docs/measure_fractional_stride.py`, figures in
docs/results/design_figures.md. The resize also keeps the parameter shapes of the power-of-two
decoder, so a patch-16 decoder's weights load into a patch-14 model.
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
    """The 2x stages a decoder needs for an encoder `stride`: ceil(log2(stride)) (16 -> 4, 14 -> 4,
    8 -> 3)."""
    if stride < 2:
        raise ValueError(f"decoder needs an encoder stride >= 2, got {stride}")
    return (stride - 1).bit_length()


def to_stride(images: torch.Tensor, feat_size: tuple[int, int], stride: int) -> torch.Tensor:
    """(B, 3, h * 2**n, w * 2**n) decoded images -> (B, 3, h * stride, w * stride); unchanged for
    powers of two.

    Antialiased bilinear (a convex combination, so [0, 1] images stay in [0, 1]), in float32.
    """
    size = (feat_size[0] * stride, feat_size[1] * stride)
    if tuple(images.shape[-2:]) == size:
        return images
    resized = F.interpolate(
        images.float(), size=size, mode="bilinear", antialias=True, align_corners=False
    )
    return resized.to(images.dtype)


class ConvReLU(nn.Sequential):
    """Reflect-padded 3x3 conv + ReLU, the AdaIN decoder's unit (reflect padding avoids border
    artifacts)."""

    def __init__(self, cin: int, cout: int, relu: bool = True):
        super().__init__(nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3))
        if relu:
            self.append(nn.ReLU())


class MirrorVGGDecoder(nn.Module):
    """The AdaIN paper's decoder: VGG19 mirrored, nearest upsampling + 3x3 convs (Huang & Belongie
    2017).

    For a stride-8 relu4_1 input this is exactly the paper's layout (512->256, up, 3x256, 256->128,
    up, 128, 128->64, up, 64, 64->3), tensor for tensor the released pytorch-AdaIN decoder.pth.
    Other strides mirror the VGG blocks above/below (stride 16 for a ViT adds a block-4 mirror, 32 a
    block-5 one). `output` (layers.OUTPUT_ACTIVATIONS): the default sigmoid departs from the paper,
    whose output is unbounded and clipped at save time ("linear" here), to give [0, 1] with
    gradients everywhere.
    """

    def __init__(self, in_channels: int = 512, stride: int = 8, output: str = "sigmoid"):
        super().__init__()
        n = num_upsamples(stride)
        if n > len(_VGG_WIDTHS):
            raise ValueError(
                f"MirrorVGGDecoder supports strides up to {2 ** len(_VGG_WIDTHS)}, got {stride}"
            )
        self.stride = stride
        layers = [
            ConvReLU(in_channels, _VGG_WIDTHS[n - 1]),
            nn.Upsample(scale_factor=2, mode="nearest"),
        ]
        for level in range(n - 1, -1, -1):  # level k runs at stride 2**k
            width = _VGG_WIDTHS[level]
            layers += [ConvReLU(width, width) for _ in range(_VGG_CONVS[level] - 1)]
            if level > 0:
                layers += [
                    ConvReLU(width, _VGG_WIDTHS[level - 1]),
                    nn.Upsample(scale_factor=2, mode="nearest"),
                ]
            else:
                layers += [ConvReLU(width, 3, relu=False), OUTPUT_ACTIVATIONS[output]()]
        self.layers = nn.Sequential(*layers)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, 3, h * stride, w * stride) in [0, 1]."""
        return to_stride(self.layers(feat), feat.shape[-2:], self.stride)


class TransposedConvDecoder(nn.Module):
    """The ViT notebook's decoder: n x [ConvTranspose2d(4, stride 2, pad 1) + InstanceNorm + ReLU],
    a 3x3 conv.

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
            stages += [
                nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1),
                nn.InstanceNorm2d(cout, affine=norm_affine),
                nn.ReLU(),
            ]
            cin = cout
        self.layers = nn.Sequential(
            *stages, nn.Conv2d(cin, 3, 3, padding=1), OUTPUT_ACTIVATIONS[output]()
        )

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, 3, h * stride, w * stride) in [0, 1]."""
        return to_stride(self.layers(feat), feat.shape[-2:], self.stride)


@register_decoder("mirror_vgg")
def build_mirror_vgg(channels: int, stride: int, cfg) -> nn.Module:
    return MirrorVGGDecoder(channels, stride, cfg.output)


@register_decoder("transposed_conv")
def build_transposed_conv(channels: int, stride: int, cfg) -> nn.Module:
    return TransposedConvDecoder(
        channels, stride, cfg.width, tuple(cfg.widths), cfg.norm_affine, cfg.output
    )
