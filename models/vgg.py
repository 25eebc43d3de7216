"""VGG19 feature extractor with named layers (relu1_1 ... relu5_1, conv4_2, ...)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torchvision.models import VGG19_Weights
from torchvision.models.vgg import cfgs, make_layers

from models.layers import Normalize
from models.pretrained import load_torchvision_weights, read_state_dict

# torchvision's vgg19().features is conv, relu per conv and a max-pool after each block; blocks hold
# 2, 2, 4, 4, 4 convs. The table is derived from that, e.g. relu1_1=1, relu2_1=6, relu3_1=11,
# relu4_1=20, conv4_2=21, relu5_1=29.
_BLOCK_CONVS = (2, 2, 4, 4, 4)


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
VGG19_CHANNELS: dict[str, int] = {
    name: (64, 128, 256, 512, 512)[int(name[4]) - 1] for name in VGG19_LAYERS
}


def check_layers(layers: Sequence[str], table: dict[str, int], net: str) -> None:
    unknown = [name for name in layers if name not in table]
    if unknown:
        raise ValueError(f"unknown {net} layer(s) {unknown}; known layers: {', '.join(table)}")


class VGG19Features(nn.Module):
    """Frozen-by-default VGG19 (ImageNet) returning a dict of named features for [0, 1] RGB input.

    The network is truncated after the deepest layer it will ever be asked for (`last_layer`), and its
    ReLUs are made out-of-place: torchvision's in-place ReLU would overwrite a stored conv4_2 output
    with relu4_2.

    Args:
        layers: default layers returned by forward.
        pretrained: load ImageNet weights (VGG19_Weights.IMAGENET1K_V1); False: torchvision's random init.
        weights_file: explicit local state dict for the full torchvision vgg19 (or its `features`).
        trainable: leave requires_grad on.
        last_layer: truncate after this layer (default: the deepest of `layers`).
    """

    def __init__(
        self,
        layers: Sequence[str] = ("relu4_1",),
        pretrained: bool = True,
        weights_file: str = "",
        trainable: bool = False,
        last_layer: str | None = None,
    ):
        super().__init__()
        check_layers([*layers, *([last_layer] if last_layer else [])], VGG19_LAYERS, "VGG19")
        self.layers = tuple(layers)
        last = max(VGG19_LAYERS[name] for name in [*layers, *([last_layer] if last_layer else [])])
        features = _vgg19_features()
        if weights_file:
            state = _features_only(read_state_dict(weights_file))
            _require_keys(state, features, weights_file, last)
            features.load_state_dict(state, strict=False)
        elif pretrained:
            features.load_state_dict(_features_only(load_torchvision_weights(VGG19_Weights.IMAGENET1K_V1.url, "VGG19")))
        self.normalize = Normalize()
        self.body = nn.Sequential(
            *[nn.ReLU(inplace=False) if isinstance(m, nn.ReLU) else m for m in features[: last + 1]]
        )
        self.requires_grad_(trainable)
        self.strides = {name: VGG19_STRIDES[name] for name in VGG19_LAYERS if VGG19_LAYERS[name] <= last}
        self.channels = {name: VGG19_CHANNELS[name] for name in self.strides}

    def forward(self, images: torch.Tensor, layers: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """images (B, 3, H, W) in [0, 1] -> {layer: (B, C, H / stride, W / stride)}."""
        layers = self.layers if layers is None else tuple(layers)
        wanted = {VGG19_LAYERS[name]: name for name in layers}
        if max(wanted) >= len(self.body):
            raise ValueError(f"layers {layers} go deeper than this truncated VGG19 ({len(self.body)} modules)")
        out, x = {}, self.normalize(images)
        for index, module in enumerate(self.body[: max(wanted) + 1]):
            x = module(x)
            if index in wanted:
                out[wanted[index]] = x
        return out


def _vgg19_features() -> nn.Sequential:
    """torchvision's vgg19().features without building the 120M-parameter classifier, with its init."""
    features = make_layers(cfgs["E"], batch_norm=False)
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return features


def _features_only(state: dict) -> dict:
    """A torchvision vgg19 state dict (or one of its `features`) -> the `features` keys without prefix."""
    if any(k.startswith("features.") for k in state):
        return {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    return {k: v for k, v in state.items() if not k.startswith("classifier.")}


def _require_keys(state: dict, features: nn.Module, path: str, last: int) -> None:
    needed = [k for k, _ in features[: last + 1].named_parameters()]
    missing = [k for k in needed if k not in state]
    if missing:
        raise ValueError(f"weights file {path} lacks VGG19 keys {missing[:6]}; expected torchvision vgg19 names")
