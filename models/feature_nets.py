"""Frozen feature networks for the per-image optimization (Gatys et al.), with their default layers.

Defaults and why:
  vgg19     content conv4_2, style relu1_1 ... relu5_1, equal layer weights: Gatys et al. 2016 exactly
            (their w_l = 1/5 per layer; our per-layer Gram loss is 4x their E_l, see models/losses.py).
  resnet50  content layer2, style conv1, layer1, layer2, layer3. layer2 ends at stride 8 like VGG's conv4_2
            and is similarly deep in conv count (~22 convs vs 10), so it keeps the content layout without
            pinning pixel detail. layer4 is left out of the style: at stride 32 it has 2048 channels (a 16 MB
            Gram per step) and mostly object identity. ResNet features are "peaky" (a few huge activations),
            which makes ResNet style transfer visibly weaker than VGG's (Wang et al. 2021, "Rethinking and
            Improving the Robustness of Image Style Transfer"); it is here as a comparison, not a recommendation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from models.resnet import RESNET50_LAYERS, ResNet50Features
from models.vgg import VGG19_LAYERS, VGG19Features, check_layers


@dataclass(frozen=True)
class FeatureNetSpec:
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    known_layers: tuple[str, ...]


FEATURE_NETS: dict[str, FeatureNetSpec] = {
    "vgg19": FeatureNetSpec(("conv4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"), tuple(VGG19_LAYERS)),
    "resnet50": FeatureNetSpec(("layer2",), ("conv1", "layer1", "layer2", "layer3"), RESNET50_LAYERS),
}


def feature_net_spec(name: str) -> FeatureNetSpec:
    if name not in FEATURE_NETS:
        raise ValueError(f"unknown feature network '{name}'; choose one of {', '.join(FEATURE_NETS)}")
    return FEATURE_NETS[name]


def build_feature_net(name: str, layers: Sequence[str], weights: str = "pretrained") -> nn.Module:
    """A frozen, eval-mode feature network returning {layer: features} for [0, 1] RGB images.

    Args:
        name: "vgg19" or "resnet50".
        layers: every layer the optimization reads (content and style); VGG is truncated after the deepest.
        weights: "pretrained" (torchvision ImageNet weights, cache or download; fails fast offline with the
            file to put where), "random" (torchvision's init: offline smoke runs only, results are not
            meaningful), or a path to a local state dict file.

    Raises:
        PretrainedWeightsError: pretrained or file weights unavailable.
    """
    spec = feature_net_spec(name)
    check_layers(layers, {k: 0 for k in spec.known_layers}, name)
    pretrained = weights == "pretrained"
    weights_file = "" if weights in ("pretrained", "random") else str(Path(weights))
    if name == "vgg19":
        net = VGG19Features(tuple(layers), pretrained=pretrained, weights_file=weights_file)
    else:
        net = ResNet50Features(tuple(layers), pretrained=pretrained, weights_file=weights_file)
    return net.eval()
