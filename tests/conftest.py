"""Shared fixtures: tiny random-weight model configs (no downloads) and a fixed seed per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from configs.schema import DecoderConfig, EncoderConfig, ModelConfig  # noqa: E402

TINY_VIT = "vit_tiny_patch16_224"


@pytest.fixture(scope="module")
def one_thread():
    """Tiny images gain nothing from a second thread, and on a shared CPU OpenMP's barriers make two
    threads up to 15x slower (measured: 1.44 vs 0.09 s per 64 px optimization step while another job
    ran)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def vgg_config(decoder: str = "mirror_vgg") -> ModelConfig:
    return ModelConfig(EncoderConfig(kind="vgg19", pretrained=False), DecoderConfig(kind=decoder))


def vit_config(decoder: str = "transposed_conv") -> ModelConfig:
    return ModelConfig(
        EncoderConfig(kind="vit", name=TINY_VIT, pretrained=False), DecoderConfig(kind=decoder)
    )


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory) -> Path:
    """The offline sample set (data_prep.sample) at 40 px: enough for 32 px training crops, fast to
    build."""
    from data_prep.sample import build_sample

    root = tmp_path_factory.mktemp("sample")
    build_sample(root, size=40)
    return root


def vary_outputs(net) -> None:
    """He init without biases for a mirror_vgg decoder, in place: a default-initialized random
    decoder outputs ~0.5 everywhere (activations shrink layer by layer), so effects and seams would
    drown in uint8 rounding."""
    for m in net.decoder.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    net.decoder.layers[-2][1].weight.data *= 8
