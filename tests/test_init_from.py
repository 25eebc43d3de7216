"""model.init_from: training starts from a release file or a foreign state dict; its first logged \
loss is the
loaded model's loss on the same batch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from foreign_refs import random_adain_release
from train_helpers import tiny_overrides

from configs.read import load_config
from models.net import StyleTransferNet
from train import train
from training.data import build_streams
from training.objective import StyleTransferObjective
from weights.checkpoint import CheckpointError
from weights.load import load_model
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]
ONE_STEP = {"train.steps": 1, "train.log_every": 1, "train.save_every": 1, "train.val_pairs": 0}


def first_loss(cfg, run_dir: Path) -> float:
    return train(cfg, run_dir).metrics["loss/total"]


def loss_of(net: StyleTransferNet, cfg) -> float:
    """The objective of `net` on the run's first batch, built apart from train.py (a shared random
    loss network is the encoder's modules, so the loaded weights alone decide it)."""
    streams = build_streams(
        cfg.data, cfg.train.batch_size, cfg.train.seed, 0, 1, start_step=0, workers=0
    )
    content, style = next(streams.content_batches), next(streams.style_batches)
    with torch.no_grad():
        return StyleTransferObjective(net.train(), cfg.loss)(content, style, cfg.train.alpha)[
            "total"
        ].item()


def test_release_file(tmp_path, sample_root):
    cfg = load_config(REPO / "configs" / "smoke.yaml", tiny_overrides(sample_root, **ONE_STEP))
    torch.manual_seed(123)  # other weights than the run's own seed would build
    release = save_release(tmp_path / "start.safetensors", StyleTransferNet(cfg.model))
    started = first_loss(
        dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, init_from=str(release))),
        tmp_path / "run",
    )
    assert started == pytest.approx(loss_of(load_model(release), cfg), rel=1e-5)
    # init_from changed the start
    assert started != pytest.approx(first_loss(cfg, tmp_path / "scratch"), rel=1e-3)


def test_pytorch_adain_release_decoder(tmp_path, sample_root):
    """The released decoder.pth (a bare Sequential, matched by module order) fine-tuned with
    adain_original.yaml."""
    vgg, decoder = random_adain_release()
    torch.save(vgg.state_dict(), tmp_path / "vgg_normalised.pth")
    torch.save(decoder.state_dict(), tmp_path / "decoder.pth")
    vgg_file = str(tmp_path / "vgg_normalised.pth")
    overrides = tiny_overrides(
        sample_root,
        **ONE_STEP,
        **{
            "model.encoder.weights_file": vgg_file,
            "loss.loss_net_weights_file": vgg_file,
            "model.init_from": str(tmp_path / "decoder.pth"),
        },
    )
    cfg = load_config(REPO / "configs" / "adain_original.yaml", overrides)
    loaded = load_model(tmp_path / "decoder.pth", cfg.model)
    assert first_loss(cfg, tmp_path / "run") == pytest.approx(loss_of(loaded, cfg), rel=1e-5)


def test_another_network_is_refused_naming_the_keys(tmp_path, sample_root):
    cfg = load_config(REPO / "configs" / "smoke.yaml", tiny_overrides(sample_root, **ONE_STEP))
    linear = dataclasses.replace(
        cfg.model, decoder=dataclasses.replace(cfg.model.decoder, output="linear")
    )
    release = save_release(tmp_path / "linear.safetensors", StyleTransferNet(linear))
    with pytest.raises(
        CheckpointError,
        match=r"model\.init_from .*linear\.safetensors holds another network: it has "
        r"model\.decoder\.output='linear'",
    ):
        train(
            dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, init_from=str(release))),
            tmp_path / "r",
        )
    assert not (tmp_path / "r").exists()
