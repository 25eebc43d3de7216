"""Build the frozen feature network that serves as a style-transfer encoder, from an EncoderConfig."""

from __future__ import annotations

from torch import nn

from configs.schema import EncoderConfig
from models.vgg import VGG19Features
from models.vit import ViTFeatures

DEFAULT_LAYERS = {"vgg19": "relu4_1", "vit": "final"}


def encoder_layer(cfg: EncoderConfig) -> str:
    """The feature layer AdaIN runs on: cfg.layer, or the kind's default."""
    if cfg.kind not in DEFAULT_LAYERS:
        raise ValueError(f"unknown encoder kind '{cfg.kind}'; choose vgg19 or vit (model.encoder.kind)")
    return cfg.layer or DEFAULT_LAYERS[cfg.kind]


def build_encoder(cfg: EncoderConfig) -> nn.Module:
    """A feature network whose forward returns {layer: (B, C, H/stride, W/stride)} (plus .strides/.channels)."""
    layer = encoder_layer(cfg)
    if cfg.kind == "vgg19":
        return VGG19Features([layer], cfg.pretrained, cfg.weights_file, cfg.trainable)
    if cfg.kind == "vit":
        return ViTFeatures(cfg.name, [layer], cfg.pretrained, cfg.weights_file, cfg.trainable)
    raise ValueError(f"unknown encoder kind '{cfg.kind}'; choose vgg19 or vit (model.encoder.kind)")


def uses_random_weights(cfg: EncoderConfig) -> bool:
    """True when the encoder's weights cannot be re-obtained from a library, so checkpoints must hold them."""
    return cfg.trainable or not (cfg.pretrained or cfg.weights_file)
