"""The pretrained-weight paths, exercised offline: random weights placed where the real loaders \
look."""

import time

import pytest
import timm
import torch
from safetensors.torch import save_file
from torchvision.models import ResNet50_Weights, VGG19_Weights, resnet50
from torchvision.models.vgg import cfgs, make_layers

from models.pretrained import PretrainedWeightsError, torchvision_cache_path
from models.resnet import ResNet50Features
from models.vgg import VGG19Features
from models.vit import ViTFeatures


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home"


def test_vgg19_pretrained_reads_the_torchvision_cache(torch_home):
    path = torchvision_cache_path(VGG19_Weights.IMAGENET1K_V1.url)
    assert path == torch_home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    features = make_layers(cfgs["E"])
    state = {f"features.{k}": torch.randn_like(v) for k, v in features.state_dict().items()}
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    net = VGG19Features(["relu4_1"], pretrained=True)
    torch.testing.assert_close(net.body[0].weight, state["features.0.weight"])
    torch.testing.assert_close(net.body[19].weight, state["features.19.weight"])


def test_resnet50_pretrained_reads_the_torchvision_cache(torch_home):
    path = torchvision_cache_path(ResNet50_Weights.IMAGENET1K_V1.url)
    state = {
        k: torch.randn_like(v) if v.is_floating_point() else v
        for k, v in resnet50().state_dict().items()
    }
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    net = ResNet50Features(pretrained=True)
    torch.testing.assert_close(net.stages["conv1"][0].weight, state["conv1.weight"])


def test_vgg19_missing_weights_fail_fast_naming_the_path(torch_home):
    start = time.monotonic()
    with pytest.raises(PretrainedWeightsError) as err:
        VGG19Features(["relu4_1"], pretrained=True)
    assert time.monotonic() - start < 10
    assert str(torch_home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth") in str(err.value)


def test_vit_local_weights_file(tmp_path):
    reference = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0)
    state = {k: torch.randn_like(v) for k, v in reference.state_dict().items()}
    file = tmp_path / "vit_tiny.safetensors"
    save_file(state, str(file))
    net = ViTFeatures("vit_tiny_patch16_224", weights_file=str(file))
    torch.testing.assert_close(net.model.patch_embed.proj.weight, state["patch_embed.proj.weight"])
    assert net(torch.rand(1, 3, 40, 56))["final"].shape == (1, 192, 3, 4)


def test_vit_normalization_comes_from_the_pretrained_config():
    net = ViTFeatures("vit_tiny_patch16_224", pretrained=False)
    assert net.normalize.mean.flatten().tolist() == pytest.approx(net.model.pretrained_cfg["mean"])


def test_vit_hub_offline_fails_fast_with_instructions(tmp_path, monkeypatch):
    # never reachable, even on a networked machine
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    start = time.monotonic()
    with pytest.raises(PretrainedWeightsError) as err:
        ViTFeatures("vit_tiny_patch16_224", pretrained=True)
    assert time.monotonic() - start < 10
    assert "model.safetensors" in str(err.value) and str(tmp_path / "hf") in str(err.value)


def test_vit_missing_local_file_names_it(tmp_path):
    with pytest.raises(PretrainedWeightsError, match="nope.safetensors"):
        ViTFeatures("vit_tiny_patch16_224", weights_file=str(tmp_path / "nope.safetensors"))
