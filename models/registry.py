"""Name -> builder tables for everything a config or a flag chooses by name (timm's create_* in miniature).

Adding a variant is one entry here; configs/schema.py lists the same names as Literal types, and a test
checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from torch import nn

from configs.schema import DecoderConfig, EncoderConfig
from models.decoders import MirrorVGGDecoder, TransposedConvDecoder
from models.layers import INPUT_NORMS
from models.resnet import RESNET50_LAYERS, ResNet50Features
from models.vgg import VGG19_LAYERS, VGG19Features, check_layers
from models.vit import ViTFeatures
from weights.pretrained import parse_weights

T = TypeVar("T")


def lookup(table: Mapping[str, T], name: str, what: str) -> T:
    """table[name], or a one-line ValueError naming `what` (the config key or flag) and the known names."""
    if name not in table:
        raise ValueError(f"unknown {what} '{name}'; choose one of {', '.join(table)}")
    return table[name]


# ---- encoders: {layer: (B, C, H/stride, W/stride)} feature networks with .strides / .channels
@dataclass(frozen=True)
class EncoderSpec:
    build: Callable[[EncoderConfig, str], nn.Module]
    default_layer: str


def _norm(cfg: EncoderConfig) -> tuple | None:
    """model.encoder.input_norm -> (mean, std), or None for the network's own."""
    return lookup(INPUT_NORMS, cfg.input_norm, "model.encoder.input_norm")(cfg.input_mean, cfg.input_std)


ENCODERS: dict[str, EncoderSpec] = {
    "vgg19": EncoderSpec(lambda cfg, layer: VGG19Features([layer], cfg.pretrained, cfg.weights_file, cfg.trainable,
                                                          padding=cfg.padding, layout=cfg.weights_layout,
                                                          norm=_norm(cfg)), "relu4_1"),
    "vit": EncoderSpec(lambda cfg, layer: ViTFeatures(cfg.name, [layer], cfg.pretrained, cfg.weights_file,
                                                      cfg.trainable, norm=_norm(cfg)), "final"),
}


def encoder_layer(cfg: EncoderConfig) -> str:
    """The feature layer AdaIN runs on: cfg.layer, or the kind's default."""
    return cfg.layer or lookup(ENCODERS, cfg.kind, "model.encoder.kind").default_layer


def build_encoder(cfg: EncoderConfig) -> nn.Module:
    return lookup(ENCODERS, cfg.kind, "model.encoder.kind").build(cfg, encoder_layer(cfg))


# ---- decoders: (B, C, h, w) features -> (B, 3, h * stride, w * stride) images in [0, 1], any stride
DECODERS: dict[str, Callable[[int, int, DecoderConfig], nn.Module]] = {
    "mirror_vgg": lambda channels, stride, cfg: MirrorVGGDecoder(channels, stride, cfg.output),
    "transposed_conv": lambda channels, stride, cfg: TransposedConvDecoder(channels, stride, cfg.width,
                                                                           tuple(cfg.widths), cfg.norm_affine,
                                                                           cfg.output),
}


def build_decoder(cfg: DecoderConfig, in_channels: int, stride: int) -> nn.Module:
    return lookup(DECODERS, cfg.kind, "model.decoder.kind")(in_channels, stride, cfg)


# ---- feature networks of the per-image optimization, with their default layers
@dataclass(frozen=True)
class FeatureNetSpec:
    """A feature network and its defaults.

    vgg19: content relu4_2, style relu1_1 ... relu5_1, equal layer weights: the layers of Gatys et al. 2016.
        The paper names the content layer conv4_2, but its Caffe ReLUs run in place, so that blob holds the
        rectified output, and their PyTorch code (leongatys/PytorchNeuralStyleTransfer) reads 'r42', i.e.
        relu4_2. Their w_l = 1/5 per style layer is a constant folded into the style weight (models/gatys.py).
    resnet50: content layer2, style conv1, layer1, layer2, layer3. layer2 ends at stride 8 like VGG's
        relu4_2 and is similarly deep in conv count (~22 convs vs 10), so it keeps the content layout without
        pinning pixel detail. layer4 is left out of the style: at stride 32 it has 2048 channels (a 16 MB Gram
        per step) and mostly object identity. ResNet features are "peaky" (a few huge activations), which
        makes ResNet style transfer visibly weaker than VGG's (Wang et al. 2021, "Rethinking and Improving
        the Robustness of Image Style Transfer"); it is here as a comparison, not a recommendation.
    """

    build: Callable[..., nn.Module]  # (layers, pretrained=, weights_file=) -> module
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    known_layers: tuple[str, ...]


FEATURE_NETS: dict[str, FeatureNetSpec] = {
    "vgg19": FeatureNetSpec(VGG19Features, ("relu4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
                            tuple(VGG19_LAYERS)),
    "resnet50": FeatureNetSpec(ResNet50Features, ("layer2",), ("conv1", "layer1", "layer2", "layer3"),
                               RESNET50_LAYERS),
}


def feature_net_spec(name: str) -> FeatureNetSpec:
    return lookup(FEATURE_NETS, name, "feature network (--feature-net)")


def build_feature_net(name: str, layers: Sequence[str], weights: str = "pretrained") -> nn.Module:
    """A frozen, eval-mode feature network returning {layer: features} for [0, 1] RGB images.

    Args:
        name: a FEATURE_NETS name.
        layers: every layer the optimization reads (content and style); VGG is truncated after the deepest.
        weights: "pretrained" (torchvision ImageNet weights, cache or download; fails fast offline with the
            file to put where), "random" (torchvision's init: offline smoke runs only, results are not
            meaningful), or a path to a local state dict file.

    Raises:
        PretrainedWeightsError: pretrained or file weights unavailable.
    """
    spec = feature_net_spec(name)
    check_layers(layers, {k: 0 for k in spec.known_layers}, name)
    source = parse_weights(weights)
    return spec.build(tuple(layers), pretrained=source.pretrained, weights_file=source.file).eval()
