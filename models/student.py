"""The student: a small convolutional encoder and a light decoder, distilled from the VGG16-HED
AdaIN release (training/distill.py) so a CPU stylizes a pair many times faster (issue 31).

    encoder (model.encoder.kind=student)   a 4x4 stride-4 patch conv 3 -> 32 (relu1), a 3x3
                                           stride-2 conv 32 -> 64 (relu2), a 3x3 conv 64 -> 64
                                           (relu3, stride 8: the AdaIN layer); ReLU after each
    decoder (model.decoder.kind=student)   a depthwise-separable 3x3 conv (depthwise + pointwise)
                                           + ReLU, nearest up, another halving the channels, a 1x1
                                           conv to 8 channels, bilinear x4 up, a 3x3 conv to RGB at
                                           full resolution; sigmoid

About 65k parameters (0.26 MB in fp32): no VGG at inference. Fully convolutional, so any input size
runs in one pass at full resolution (StyleTransferNet pads to the stride and crops back). Its width
and layer choices follow CPU time, not FLOPs: wide convs at stride 4 and 8 run near the CPU's peak,
few-channel convs and reflect pads at full resolution far below it (docs/results/student_design.md).

One encoder for content and style, not two as MicroAST (Wang et al., AAAI 2023) has: the one
composition in models/net.py (encode -> transform -> decode) stays the only one, AdaIN moves the
content's per-channel statistics onto the style's and so wants both in one feature space (two
encoders would have to learn to agree on it), and a style's statistics are then computed by the same
cheap network the content goes through. The encoder trains with the decoder
(model.encoder.trainable: true): random features carry no style statistics worth transferring.
The decoder's depthwise-separable convs are MobileNet's (Howard et al. 2017); it upsamples by
nearest or bilinear + conv, never a transposed conv (checkerboards: Odena et al. 2016).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.decoders import Decoder
from models.layers import IMAGENET_MEAN, IMAGENET_STD, OUTPUT_ACTIVATIONS, Normalize, encoder_norm
from models.registry import register_decoder, register_encoder

STUDENT_WIDTHS = (32, 64)  # the stem's (stride 4) and the stride-8 stages' channels
STUDENT_LAYERS = ("relu1", "relu2", "relu3")
STUDENT_STRIDES = {"relu1": 4, "relu2": 8, "relu3": 8}


def conv3x3(cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A 3x3 conv with reflect padding (no hard border for the statistics to see)."""
    return nn.Conv2d(cin, cout, 3, stride, padding=1, padding_mode="reflect", groups=groups)


class StudentEncoder(nn.Module):
    """(B, 3, H, W) in [0, 1] -> {relu1: stride 4, 32 channels; relu2: 8, 64; relu3: 8, 64}.

    relu1 is a 4x4 stride-4 conv (a patch embedding, as ConvNeXt's stem: no padding, no overlap),
    relu2 a 3x3 stride-2 conv, relu3 a 3x3 conv; each reflect-padded where it pads, then a ReLU. H
    and W must be multiples of the deepest stride asked for (StyleTransferNet.pad sees to it). Input
    normalized with ImageNet's mean/std (model.encoder.input_norm may replace it).
    """

    def __init__(
        self,
        last_layer: str = "relu3",
        widths: Sequence[int] = STUDENT_WIDTHS,
        trainable: bool = True,
        norm: tuple[Sequence[float], Sequence[float]] | None = None,
    ):
        super().__init__()
        depth = STUDENT_LAYERS.index(last_layer) + 1
        self.normalize = Normalize(*(norm or (IMAGENET_MEAN, IMAGENET_STD)))
        stem, wide = widths
        stages = [
            nn.Conv2d(3, stem, 4, stride=4),
            conv3x3(stem, wide, stride=2),
            conv3x3(wide, wide),
        ]
        self.stages = nn.ModuleDict(
            {name: nn.Sequential(conv, nn.ReLU()) for name, conv in zip(STUDENT_LAYERS, stages)}
        )
        for name in STUDENT_LAYERS[depth:]:  # truncated after the layer the transform reads
            del self.stages[name]
        self.layers = (last_layer,)
        self.strides = {name: STUDENT_STRIDES[name] for name in self.stages}
        self.channels = dict(zip(self.stages, (stem, wide, wide)))
        self.requires_grad_(trainable)

    def forward(
        self, images: torch.Tensor, layers: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """images (B, 3, H, W) in [0, 1] -> {layer: (B, C, H / stride, W / stride)}."""
        layers = self.layers if layers is None else tuple(layers)
        if unknown := [name for name in layers if name not in self.stages]:
            raise ValueError(f"unknown student layer(s) {unknown}; known: {', '.join(self.stages)}")
        out, x = {}, self.normalize(images)
        deepest = max(STUDENT_LAYERS.index(name) for name in layers)
        for name, stage in list(self.stages.items())[: deepest + 1]:
            x = stage(x)
            if name in layers:
                out[name] = x
        return out


class SeparableConvReLU(nn.Sequential):
    """Depthwise 3x3 (reflect) + pointwise 1x1 + ReLU: 9 * cin + cin * cout weights instead of
    9 * cin * cout (MobileNet, Howard et al. 2017)."""

    def __init__(self, cin: int, cout: int):
        super().__init__(conv3x3(cin, cin, groups=cin), nn.Conv2d(cin, cout, 1), nn.ReLU())


class StudentDecoder(Decoder):
    """(B, C, h, w) features -> (B, 3, h * stride, w * stride) in [0, 1], stride 4 or 8.

    A separable conv at the feature resolution; for stride 8 a nearest up and a separable conv
    halving the channels; at stride 4 a 1x1 conv to 8 channels, a bilinear x4 up and a 3x3 conv to
    RGB at full resolution, then the output activation (sigmoid).

    Why one 8-channel conv at full resolution after a bilinear x4, not nearest-up + conv per 2x
    stage like the AdaIN decoder: on a CPU, few-channel convs and reflect pads at full and half
    resolution run far below the CPU's peak (docs/results/student_design.md), so those stages would
    cost more than the rest of the network. Not a sub-pixel conv either (ESPCN, Shi et al. 2016: a
    conv to 3 * 16 channels at stride 4, then PixelShuffle(4)), though it is faster: its
    per-position weights and biases tile a 4 x 4 pattern, and in a 300-step trial on the VGG16-HED
    losses that dot grid covered every image (a cheap way to raise the relu1_1 statistics the style
    loss asks for).
    """

    def __init__(self, in_channels: int = 64, stride: int = 8, output: str = "sigmoid"):
        super().__init__()
        if stride not in (4, 8):
            raise ValueError(f"the student decoder takes stride 4 or 8 features, got {stride}")
        self.stride = stride
        layers: list[nn.Module] = [SeparableConvReLU(in_channels, in_channels)]
        cin = in_channels
        if stride == 8:
            layers += [nn.Upsample(scale_factor=2, mode="nearest")]
            layers += [SeparableConvReLU(cin, cin // 2)]
            cin //= 2
        layers += [nn.Conv2d(cin, 8, 1), nn.Upsample(scale_factor=4, mode="bilinear")]
        layers += [conv3x3(8, 3), OUTPUT_ACTIVATIONS[output]()]
        self.layers = nn.Sequential(*layers)


@register_encoder("student", default_layer="relu3", layers=STUDENT_LAYERS)
def build_student_encoder(cfg, layer: str) -> nn.Module:
    """model.encoder.kind=student: the small encoder up to `layer` (relu3, stride 8, by default;
    relu1 gives stride 4)."""
    return StudentEncoder(layer, trainable=cfg.trainable, norm=encoder_norm(cfg))


@register_decoder("student")
def build_student_decoder(channels: int, stride: int, cfg) -> nn.Module:
    return StudentDecoder(channels, stride, cfg.output)
