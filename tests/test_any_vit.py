"""Any timm ViT patch size: decoders reach h * stride for strides that are not powers of two \
(DINOv2's 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from foreign_refs import read_png, write_png
from train_helpers import tiny_overrides

import infer
from configs.read import load_config
from models.decoders import MirrorVGGDecoder, TransposedConvDecoder, num_upsamples
from train import train

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("stride", [8, 14, 16, 32])
@pytest.mark.parametrize("decoder", [MirrorVGGDecoder, TransposedConvDecoder])
def test_decoders_reach_h_times_stride(decoder, stride):
    kwargs = {"width": 4} if decoder is TransposedConvDecoder else {}
    net = decoder(16, stride, **kwargs)
    feat = torch.randn(1, 16, 3, 2)
    image = net(feat)
    assert image.shape == (1, 3, 3 * stride, 2 * stride) and 0 <= image.min() and image.max() <= 1
    image.mean().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_a_patch16_decoder_loads_into_a_patch14_model():
    # same stage count (ceil(log2 14) == 4): weights move between the two, e.g. as model.init_from
    assert num_upsamples(14) == num_upsamples(16) == 4
    state = TransposedConvDecoder(32, 16, width=8).state_dict()
    TransposedConvDecoder(32, 14, width=8).load_state_dict(state)


def test_dinov2_trains_three_steps_and_keeps_a_250x190_content_size(tmp_path, sample_root):
    overrides = tiny_overrides(
        sample_root,
        **{
            "model.encoder.name": "vit_small_patch14_dinov2",
            "train.steps": 3,
            "train.save_every": 3,
            "train.log_every": 1,
            "train.eval_every": 3,
        },
    )
    cfg = load_config(REPO / "configs" / "smoke_vit.yaml", overrides)
    assert not cfg.model.encoder.pretrained  # random weights: nothing is downloaded
    result = train(cfg, tmp_path / "run")
    assert (
        result.step == 3
        and result.trained_steps == 3
        and torch.isfinite(torch.tensor(result.metrics["loss/total"]))
    )

    write_png(tmp_path / "content.png", 190, 250, 1)
    write_png(tmp_path / "style.png", 64, 64, 2)
    summary = infer.stylize(
        [
            "--checkpoint",
            str(tmp_path / "run"),
            "--content",
            str(tmp_path / "content.png"),
            "--style",
            str(tmp_path / "style.png"),
            "--out",
            str(tmp_path / "out"),
            "--device",
            "cpu",
        ]
    )
    assert not summary["failed"] and len(summary["written"]) == 1
    assert read_png(summary["written"][0]).shape == (1, 3, 190, 250)
