"""VGG19 feature extractor with named layers (relu1_1 ... relu5_1, conv4_2, ...).

Two weight layouts (model.encoder.weights_layout): torchvision's `vgg19().features` (zero padding,
floor pools, ImageNet input normalization) and pytorch-AdaIN's released `vgg_normalised.pth` (the
Caffe VGG19 normalized by Gatys et al.: ceil-mode pools, reflection padding, its normalization in a
folded input conv). Both run as the same torchvision-shaped `body`, so the feature table and every
state-dict key are shared; weights/vgg19.py reads both files into it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.layers import IMAGENET_MEAN, IMAGENET_STD, Normalize, encoder_norm
from models.registry import register_encoder, register_feature_net
from weights.vgg19 import require_keys, vgg19_state

# torchvision's vgg19().features is conv, relu per conv and a max-pool after each block; blocks hold
# 2, 2, 4, 4, 4 convs. The table is derived from that, e.g. relu1_1=1, relu2_1=6, relu3_1=11,
# relu4_1=20, conv4_2=21, relu5_1=29.
_BLOCK_CONVS = (2, 2, 4, 4, 4)
_BLOCK_WIDTHS = (64, 128, 256, 512, 512)


def _layer_table() -> dict[str, int]:
    table, index = {}, 0
    for block, convs in enumerate(_BLOCK_CONVS, start=1):
        for conv in range(1, convs + 1):
            table[f"conv{block}_{conv}"] = index
            table[f"relu{block}_{conv}"] = index + 1
            index += 2
        table[f"pool{block}"] = index
        index += 1
    return table


VGG19_LAYERS: dict[str, int] = _layer_table()
# feature stride of each named layer relative to the input (pool k halves the resolution)
VGG19_STRIDES: dict[str, int] = {
    name: 2 ** (int(name[4]) - 1 + name.startswith("pool")) for name in VGG19_LAYERS
}
VGG19_CHANNELS: dict[str, int] = {name: _BLOCK_WIDTHS[int(name[4]) - 1] for name in VGG19_LAYERS}


# model.encoder.padding, the convs' padding_mode: "reflect" pads like nn.ReflectionPad2d(1), as
# pytorch-AdaIN's Sequential does, so its weights see the borders they were trained with
VGG_PADDINGS = ("zeros", "reflect")


# model.encoder.weights_layout -> (ceil_pools, input mean, input std): the network a layout implies
# (weights/vgg19.py reads its files). pytorch-AdaIN's pools round up (equal to floor on the net's
# stride-padded inputs); its folded input conv holds the release's normalization (BGR, mean
# subtraction, 0-255 scale), so the network's own is the identity.
VGG_LAYOUTS: dict[str, tuple[bool, tuple[float, ...], tuple[float, ...]]] = {
    "torchvision": (False, IMAGENET_MEAN, IMAGENET_STD),
    "vgg_normalised": (True, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}


class VGG19Features(nn.Module):
    """Frozen-by-default VGG19 (ImageNet) returning a dict of named features for [0, 1] RGB input.

    The network is truncated after the deepest layer it will ever be asked for (`last_layer`), and
    its ReLUs are made out-of-place: torchvision's in-place ReLU would overwrite a stored conv4_2
    output with relu4_2.

    Args:
        layers: default layers returned by forward; `last_layer`: truncate after it instead.
        pretrained: torchvision's ImageNet weights (VGG19_Weights.IMAGENET1K_V1); False and no
            `weights_file` (a local state dict of vgg19 or its `features`): torchvision's init.
        padding, layout: a VGG_PADDINGS and a VGG_LAYOUTS name (how `weights_file` is read, and
            the pools and input norm it implies).
        norm: (mean, std) of the input normalization; None: the layout's.
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
    ):
        super().__init__()
        ceil_pools, mean, std = VGG_LAYOUTS[layout]
        # what a network sharing this one's modules is built with
        self.arch = dict(padding=padding, layout=layout, norm=norm)
        named = [*layers, *([last_layer] if last_layer else [])]
        if unknown := [name for name in named if name not in VGG19_LAYERS]:
            raise ValueError(f"unknown VGG19 layer(s) {unknown}; known: {', '.join(VGG19_LAYERS)}")
        self.layers, last = tuple(layers), max(VGG19_LAYERS[name] for name in named)
        features = _vgg19_features()
        state = vgg19_state(layout, pretrained, weights_file)
        if state is not None:
            needed = [k for k, _ in features[: last + 1].named_parameters()]
            state = require_keys(state, needed, weights_file, layout)
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
        self.strides = {
            name: VGG19_STRIDES[name] for name in VGG19_LAYERS if VGG19_LAYERS[name] <= last
        }
        self.channels = {name: VGG19_CHANNELS[name] for name in self.strides}

    def forward(
        self, images: torch.Tensor, layers: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """images (B, 3, H, W) in [0, 1] -> {layer: (B, C, H / stride, W / stride)}."""
        layers = self.layers if layers is None else tuple(layers)
        wanted = {VGG19_LAYERS[name]: name for name in layers}
        if max(wanted) >= len(self.body):
            raise ValueError(
                f"layers {layers} go deeper than this truncated VGG19 ({len(self.body)} modules)"
            )
        out, x = {}, self.normalize(images)
        for index, module in enumerate(self.body[: max(wanted) + 1]):
            x = module(x)
            if index in wanted:
                out[wanted[index]] = x
        return out


def _vgg19_features() -> nn.Sequential:
    """torchvision's vgg19().features, defined here, without the 120M-parameter classifier.

    Modules, order, state-dict keys and random init are torchvision's (`make_layers(cfgs["E"])` then
    `VGG.__init__`'s kaiming-normal convs): the same modules are created in the same order, so each
    draws the same random numbers, and a seeded random VGG19 is torchvision's bitwise
    (tests/test_startup.py).
    """
    layers: list[nn.Module] = []
    cin = 3
    for width, convs in zip(_BLOCK_WIDTHS, _BLOCK_CONVS):
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


@register_encoder("vgg19", default_layer="relu4_1", layers=list(VGG19_LAYERS))
def build_vgg19_encoder(cfg, layer: str) -> nn.Module:
    """model.encoder.kind=vgg19: VGG19 up to `layer` (relu4_1 by default, the AdaIN paper's)."""
    return VGG19Features(
        [layer],
        cfg.pretrained,
        cfg.weights_file,
        cfg.trainable,
        padding=cfg.padding,
        layout=cfg.weights_layout,
        norm=encoder_norm(cfg),
    )


# The optimization's layers are Gatys et al. 2016's: content relu4_2, style relu1_1 ... relu5_1,
# equal layer weights. The paper names the content layer conv4_2, but its Caffe ReLUs run in place,
# so that blob holds the rectified output, and their PyTorch code
# (leongatys/PytorchNeuralStyleTransfer) reads 'r42', i.e. relu4_2. Their w_l = 1/5 per style layer
# is a constant folded into the style weight (models/gatys.py).
register_feature_net(
    "vgg19",
    ("relu4_2",),
    ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
    tuple(VGG19_LAYERS),
)(VGG19Features)
