"""VGG16 and VGG19 feature extractors with named layers (relu1_1 ... relu5_1, conv4_2, ...).

Three weight layouts (model.encoder.weights_layout): torchvision's `vgg{16,19}().features` (zero
padding, floor pools, ImageNet input normalization); pytorch-AdaIN's released `vgg_normalised.pth`
(the Caffe VGG19 normalized by Gatys et al.: ceil-mode pools, reflection padding, its normalization
in a folded input conv); and `caffe`, a Caffe-trained VGG such as HED's VGG16 (models/hed.py: zero
padding, pools that round up like Keras' 'same' pooling, input 0-255 minus Caffe's mean). All run as
the same torchvision-shaped `body`, so the feature table and every state-dict key are shared;
models/vgg_weights.py reads the files into it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.config import HED_SOURCE
from models.layers import IMAGENET_MEAN, IMAGENET_STD, Normalize, encoder_norm
from models.registry import register_encoder, register_feature_net
from models.vgg_weights import require_keys, vgg_state

# torchvision's vgg{16,19}().features is conv, relu per conv and a max-pool after each block;
# VGG16's blocks hold 2, 2, 3, 3, 3 convs, VGG19's 2, 2, 4, 4, 4. The tables are derived from that,
# e.g. VGG19: relu1_1=1, relu2_1=6, relu3_1=11, relu4_1=20, conv4_2=21, relu5_1=29.
BLOCK_CONVS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_BLOCK_WIDTHS = (64, 128, 256, 512, 512)


def _layer_table(block_convs: tuple[int, ...]) -> dict[str, int]:
    table, index = {}, 0
    for block, convs in enumerate(block_convs, start=1):
        for conv in range(1, convs + 1):
            table[f"conv{block}_{conv}"] = index
            table[f"relu{block}_{conv}"] = index + 1
            index += 2
        table[f"pool{block}"] = index
        index += 1
    return table


VGG_LAYERS: dict[str, dict[str, int]] = {arch: _layer_table(c) for arch, c in BLOCK_CONVS.items()}
VGG19_LAYERS = VGG_LAYERS["vgg19"]
# feature stride and width of each named layer (pool k halves the resolution); the same names mean
# the same strides and widths in both depths
VGG19_STRIDES: dict[str, int] = {
    name: 2 ** (int(name[4]) - 1 + name.startswith("pool")) for name in VGG19_LAYERS
}
VGG19_CHANNELS: dict[str, int] = {name: _BLOCK_WIDTHS[int(name[4]) - 1] for name in VGG19_LAYERS}
# Caffe's VGG input: BGR 0-255 minus (103.939, 116.779, 123.68), here as RGB [0, 1] mean / std (the
# BGR order lives in the converted conv1_1, models/hed.py)
CAFFE_MEAN = (123.68 / 255, 116.779 / 255, 103.939 / 255)
CAFFE_STD = (1 / 255, 1 / 255, 1 / 255)


# model.encoder.padding, the convs' padding_mode: "reflect" pads like nn.ReflectionPad2d(1), as
# pytorch-AdaIN's Sequential does, so its weights see the borders they were trained with
VGG_PADDINGS = ("zeros", "reflect")


# model.encoder.weights_layout -> (ceil_pools, input mean, input std): the network a layout implies
# (models/vgg_weights.py reads its files). pytorch-AdaIN's pools round up (equal to floor on the
# net's stride-padded inputs); its folded input conv holds the release's normalization (BGR, mean
# subtraction, 0-255 scale), so the network's own is the identity. caffe: HED's Keras pools pad
# 'same' (round up); its 0-255 scale and mean are the normalization.
VGG_LAYOUTS: dict[str, tuple[bool, tuple[float, ...], tuple[float, ...]]] = {
    "torchvision": (False, IMAGENET_MEAN, IMAGENET_STD),
    "vgg_normalised": (True, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "caffe": (True, CAFFE_MEAN, CAFFE_STD),
}
# a weights source whose layout is fixed by the file it names: `hed` is always Caffe's
SOURCE_LAYOUTS = {HED_SOURCE: "caffe"}


def vgg_arch_for(weights: str) -> str:
    """The VGG a `pretrained | random | hed | PATH` weights spec runs on (metric networks chosen by
    their weights): hed's is a VGG16, every other the VGG19 of the losses' papers."""
    return "vgg16" if weights == HED_SOURCE else "vgg19"


class VGGFeatures(nn.Module):
    """Frozen-by-default VGG16/VGG19 returning a dict of named features for [0, 1] RGB input.

    The network is truncated after the deepest layer it will ever be asked for (`last_layer`), and
    its ReLUs are made out-of-place: torchvision's in-place ReLU would overwrite a stored conv4_2
    output with relu4_2.

    Args:
        layers: default layers returned by forward; `last_layer`: truncate after it instead.
        pretrained: torchvision's ImageNet weights (VGG19_Weights / VGG16_Weights.IMAGENET1K_V1);
            False and no `weights_file`: torchvision's init.
        weights_file: a local state dict of the network or its `features`, or `hed` (HED's VGG16,
            models/hed.py; it implies the caffe layout).
        padding, layout: a VGG_PADDINGS and a VGG_LAYOUTS name (how `weights_file` is read, and
            the pools and input norm it implies).
        norm: (mean, std) of the input normalization; None: the layout's.
        arch: vgg16 or vgg19 (BLOCK_CONVS).
    """

    def __init__(
        self,
        layers: Sequence[str] = ("relu4_1",),
        pretrained: bool = True,
        weights_file: str = "",
        trainable: bool = False,
        last_layer: str | None = None,
        padding: str = "zeros",
        layout: str = "torchvision",
        norm: tuple[Sequence[float], Sequence[float]] | None = None,
        arch: str = "vgg19",
    ):
        super().__init__()
        layout = SOURCE_LAYOUTS.get(str(weights_file), layout)
        ceil_pools, mean, std = VGG_LAYOUTS[layout]
        # what a network sharing this one's modules is built with
        self.arch = dict(padding=padding, layout=layout, norm=norm, arch=arch)
        table = VGG_LAYERS[arch]
        named = [*layers, *([last_layer] if last_layer else [])]
        if unknown := [name for name in named if name not in table]:
            raise ValueError(f"unknown {arch} layer(s) {unknown}; known: {', '.join(table)}")
        self.layers, last = tuple(layers), max(table[name] for name in named)
        self.table = table
        features = vgg_features(arch)
        state = vgg_state(arch, layout, pretrained, weights_file)
        if state is not None:
            needed = [k for k, _ in features[: last + 1].named_parameters()]
            state = require_keys(state, needed, weights_file, layout, arch)
            features.load_state_dict(state, strict=False)
        for m in features:
            if isinstance(m, nn.Conv2d):
                m.padding_mode = padding
            elif isinstance(m, nn.MaxPool2d):
                m.ceil_mode = ceil_pools
        # StyleTransferNet.pad: no stride padding needed (see there)
        self.ceil_pools = ceil_pools
        self.normalize = Normalize(*(norm or (mean, std)))
        self.body = nn.Sequential(
            *[nn.ReLU(inplace=False) if isinstance(m, nn.ReLU) else m for m in features[: last + 1]]
        )
        self.requires_grad_(trainable)
        self.strides = {name: VGG19_STRIDES[name] for name in table if table[name] <= last}
        self.channels = {name: VGG19_CHANNELS[name] for name in self.strides}

    def forward(
        self, images: torch.Tensor, layers: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """images (B, 3, H, W) in [0, 1] -> {layer: (B, C, H / stride, W / stride)}."""
        layers = self.layers if layers is None else tuple(layers)
        wanted = {self.table[name]: name for name in layers}
        if max(wanted) >= len(self.body):
            raise ValueError(
                f"layers {layers} go deeper than this truncated VGG ({len(self.body)} modules)"
            )
        out, x = {}, self.normalize(images)
        for index, module in enumerate(self.body[: max(wanted) + 1]):
            x = module(x)
            if index in wanted:
                out[wanted[index]] = x
        return out


class VGG19Features(VGGFeatures):
    """VGGFeatures with arch=vgg19 (the name every VGG19 caller and test uses)."""


class VGG16Features(VGGFeatures):
    """VGGFeatures with arch=vgg16: HED's VGG16 (`weights_file=hed`) or torchvision's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "arch": "vgg16"})


def vgg_features(arch: str) -> nn.Sequential:
    """torchvision's vgg16/vgg19().features, defined here, without the 120M-parameter classifier.

    Modules, order, state-dict keys and random init are torchvision's (`make_layers(cfgs[...])` then
    `VGG.__init__`'s kaiming-normal convs): the same modules are created in the same order, so each
    draws the same random numbers, and a seeded random VGG19 is torchvision's bitwise
    (tests/test_startup.py).
    """
    layers: list[nn.Module] = []
    cin = 3
    for width, convs in zip(_BLOCK_WIDTHS, BLOCK_CONVS[arch]):
        for _ in range(convs):
            layers += [nn.Conv2d(cin, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            cin = width
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    features = nn.Sequential(*layers)
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return features


def _build_encoder(arch: str):
    def build(cfg, layer: str) -> nn.Module:
        return VGGFeatures(
            [layer],
            cfg.pretrained,
            cfg.weights_file,
            cfg.trainable,
            padding=cfg.padding,
            layout=cfg.weights_layout,
            norm=encoder_norm(cfg),
            arch=arch,
        )

    build.__doc__ = f"model.encoder.kind={arch}: {arch.upper()} up to `layer` (relu4_1 by default)."
    return build


# model.encoder.kind=vgg19 / vgg16: the network up to `layer` (relu4_1 by default, the AdaIN
# paper's)
for _arch in BLOCK_CONVS:
    register_encoder(_arch, default_layer="relu4_1", layers=list(VGG_LAYERS[_arch]))(
        _build_encoder(_arch)
    )


# The optimization's layers are Gatys et al. 2016's: content relu4_2, style relu1_1 ... relu5_1,
# equal layer weights. The paper names the content layer conv4_2, but its Caffe ReLUs run in place,
# so that blob holds the rectified output, and their PyTorch code
# (leongatys/PytorchNeuralStyleTransfer) reads 'r42', i.e. relu4_2. Their w_l = 1/5 per style layer
# is a constant folded into the style weight (models/gatys.py). VGG16 (HED's, or torchvision's) has
# every one of these layers too.
_GATYS_LAYERS = (("relu4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"))
register_feature_net("vgg19", *_GATYS_LAYERS, tuple(VGG19_LAYERS))(VGG19Features)
register_feature_net("vgg16", *_GATYS_LAYERS, tuple(VGG_LAYERS["vgg16"]))(VGG16Features)
