"""The model options foreign networks need: config rules, output activations, input norms."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import TINY_VIT

from configs.read import load_config
from configs.schema import (
    ConfigError,
    DecoderConfig,
    EncoderConfig,
    ModelConfig,
)
from configs.validate import check_model
from models.layers import IMAGENET_MEAN, IMAGENET_STD, OUTPUT_ACTIVATIONS
from models.net import StyleTransferNet


@pytest.mark.parametrize(
    "overrides, key",
    [
        (
            ["model.encoder.input_norm=explicit", "model.encoder.input_mean=0.5,0.5"],
            "input_mean/input_std",
        ),
        (
            ["model.encoder.input_mean=0.5,0.5,0.5", "model.encoder.input_std=1,1,1"],
            "input_mean/input_std",
        ),
        (["model.encoder.input_norm=timm"], r"input_norm: 'timm' with model\.encoder\.kind=vgg19"),
        (
            ["model.encoder.weights_layout=vgg_normalised", "model.encoder.weights_file=x.pth"],
            "padding: 'zeros'",
        ),
        (
            [
                "model.encoder.weights_layout=vgg_normalised",
                "model.encoder.padding=reflect",
                "model.encoder.pretrained=true",
            ],
            "no library download",
        ),
        (
            [
                "model.encoder.weights_layout=vgg_normalised",
                "model.encoder.padding=reflect",
                "model.encoder.weights_file=x.pth",
                "model.encoder.input_norm=imagenet",
            ],
            "input_norm: 'imagenet'",
        ),
        (["model.decoder.widths=64,32,16"], r"model\.decoder\.widths.*transposed_conv only"),
        (
            ["model.decoder.kind=transposed_conv", "model.decoder.widths=64,0,16"],
            r"model\.decoder\.widths",
        ),
        (["model.decoder.norm_affine=false"], r"model\.decoder\.norm_affine"),
        (["model.decoder.output=relu"], r"model\.decoder\.output: 'relu' is not allowed"),
    ],
)
def test_inconsistent_options_are_one_line_errors_naming_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key) as err:
        load_config("configs/smoke.yaml", overrides)
    assert "\n" not in str(err.value)


def test_vit_padding_options_are_refused():
    enc = EncoderConfig(kind="vit", name=TINY_VIT, pretrained=False, padding="reflect")
    with pytest.raises(
        ConfigError, match="padding/weights_layout: reflect/torchvision with model.encoder.kind=vit"
    ):
        check_model(ModelConfig(enc, DecoderConfig(kind="transposed_conv")))


def test_output_activations_reach_zero_one_and_keep_gradients():
    x = torch.linspace(-6, 6, 97).view(1, 1, 1, 97).expand(1, 3, 1, 97).clone().requires_grad_(True)
    linear = OUTPUT_ACTIVATIONS["linear"]()(x)
    assert linear.min() == 0 and linear.max() == 1 and torch.equal(linear, x.clamp(0, 1))
    linear.sum().backward()
    # straight through, as the reference trains unclamped
    assert torch.equal(x.grad, torch.ones_like(x))
    tanh = OUTPUT_ACTIVATIONS["tanh"]()(x.detach())
    mean, std = (
        torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
        torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
    )
    # the notebook's de-normalization
    assert torch.allclose(tanh, torch.tanh(x.detach()) * std + mean)


@pytest.mark.parametrize(
    "kind, norm, expected",
    [
        ("vit", "auto", ((0.5,) * 3, (0.5,) * 3)),  # vit_tiny's augreg weights: timm's config
        ("vit", "imagenet", (IMAGENET_MEAN, IMAGENET_STD)),  # the notebook's
        ("vgg19", "auto", (IMAGENET_MEAN, IMAGENET_STD)),
        ("vgg19", "explicit", ((0.1, 0.2, 0.3), (0.4, 0.5, 0.6))),
    ],
)
def test_input_norm_reaches_the_encoder(kind, norm, expected):
    enc = EncoderConfig(
        kind=kind,
        name=TINY_VIT,
        pretrained=False,
        input_norm=norm,
        **(
            {"input_mean": [0.1, 0.2, 0.3], "input_std": [0.4, 0.5, 0.6]}
            if norm == "explicit"
            else {}
        ),
    )
    dec = DecoderConfig(kind="transposed_conv" if kind == "vit" else "mirror_vgg")
    net = StyleTransferNet(ModelConfig(enc, dec))
    mean, std = (
        net.encoder.normalize.mean.flatten().tolist(),
        net.encoder.normalize.std.flatten().tolist(),
    )
    assert mean == pytest.approx(expected[0]) and std == pytest.approx(expected[1])


def test_release_config_without_the_new_fields_still_loads():
    from configs.read import model_config_from_json

    old = {
        "encoder": {"kind": "vgg19", "pretrained": False},
        "decoder": {"kind": "mirror_vgg", "width": 64},
    }
    import json

    cfg = model_config_from_json(json.dumps(old))
    assert (cfg.decoder.output, cfg.encoder.padding, cfg.encoder.input_norm) == (
        "sigmoid",
        "zeros",
        "auto",
    )
    assert dataclasses.replace(cfg) == cfg
