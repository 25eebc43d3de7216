"""Shared fixtures: tiny random-weight model configs (no downloads) and a fixed seed per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from configs.schema import DecoderConfig, EncoderConfig, ModelConfig  # noqa: E402

TINY_VIT = "vit_tiny_patch16_224"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def vgg_config(decoder: str = "mirror_vgg") -> ModelConfig:
    return ModelConfig(EncoderConfig(kind="vgg19", pretrained=False), DecoderConfig(kind=decoder))


def vit_config(decoder: str = "transposed_conv") -> ModelConfig:
    return ModelConfig(EncoderConfig(kind="vit", name=TINY_VIT, pretrained=False), DecoderConfig(kind=decoder))
