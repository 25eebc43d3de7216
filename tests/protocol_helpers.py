"""Shared set-up of the protocol tests: random metric weights where the real loaders look, small
images.

Weights are written once per session under a temporary TORCH_HOME (torchvision's cache: VGG19,
AlexNet)
plus an art_inception.pth file, so the protocol and the tests' independent implementations (and the
`lpips` reference package) all read the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn

from models.pretrained import torchvision_cache_path

# relu3_1 is torchvision features index 11: convs 0, 2, 5, 7, 10 come before it.
VGG_RELU3_1_CONVS = (0, 2, 5, 7, 10)
VGG_GAIN = 2.5


def vgg_state() -> dict[str, torch.Tensor]:
    """Random torchvision VGG19 `features` weights, the convs up to relu3_1 scaled by VGG_GAIN.

    Why: with torchvision's init the relu3_1 features are ~0.1; CFSD divides them by C = 256 before
    F F^T, so every similarity row is a uniform softmax and every CFSD is ~0 whatever the code does.
    Five convs x 2.5 (~100x) bring the features to the O(10) of the pretrained network, where the
    rows
    differ and a wrong sign, scale or reduction changes the value.
    """
    # vgg19().features
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])
    # torchvision's init, without building the 120M-parameter classifier
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    for index in VGG_RELU3_1_CONVS:
        features[index].weight.data *= VGG_GAIN
    return {f"features.{k}": v for k, v in features.state_dict().items()}


def inception_state() -> dict[str, torch.Tensor]:
    """A random art_inception-like file: torchvision Inception3 backbone with He-normal convs (the
    default
    init gives ~0 features), plus the two classifier heads (fc1/fc2) the ArtFID authors' file
    has."""
    net = torchvision.models.Inception3(aux_logits=False, init_weights=False)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    state = {k: v for k, v in net.state_dict().items() if not k.startswith("fc.")}
    state.update({"fc1.weight": torch.zeros(1000, 2048), "fc2.weight": torch.zeros(1000, 2048)})
    return state


@pytest.fixture(scope="session")
def metric_weights(tmp_path_factory) -> dict[str, Path]:
    """TORCH_HOME (set for the session) holding random VGG19 and AlexNet, and an
    art_inception.pth."""
    root = tmp_path_factory.mktemp("protocol_weights")
    mp = pytest.MonkeyPatch()
    mp.setenv("TORCH_HOME", str(root / "torch"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        vgg_file = torchvision_cache_path(torchvision.models.VGG19_Weights.IMAGENET1K_V1.url)
        alex_file = torchvision_cache_path(torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url)
        vgg_file.parent.mkdir(parents=True)
        torch.save(vgg_state(), vgg_file)
        torch.save(torchvision.models.alexnet().state_dict(), alex_file)
        torch.save(inception_state(), root / "art_inception.pth")
    yield {
        "torch_home": root / "torch",
        "vgg": vgg_file,
        "alexnet": alex_file,
        "art_inception": root / "art_inception.pth",
    }
    mp.undo()


def picture(h: int, w: int, seed: int) -> Image.Image:
    """A smooth pattern plus noise: structure, and statistics that differ per seed."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack(
        [np.sin(x / (3 + seed)), np.cos(y / (4 + seed)), np.sin((x + y) / (5 + seed))], -1
    )
    arr = np.clip(base * 0.4 + 0.5 + np.random.default_rng(seed).normal(0, 0.05, (h, w, 3)), 0, 1)
    return Image.fromarray((arr * 255).astype(np.uint8))


def make_set(root: Path, contents: int = 3, styles: int = 2, size: int = 64) -> dict[str, Path]:
    """content/, style/ and stylized/ folders: outputs `c<i>_stylized_s<j>.png`, a blend of the
    content
    and the style resized to the content's size (so they depend on both)."""
    folders = {name: root / name for name in ("content", "style", "stylized")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for j in range(styles):
        picture(size + 16, size + 8, 10 + j).save(folders["style"] / f"s{j}.png")
    for i in range(contents):
        content = picture(size, size, i)
        content.save(folders["content"] / f"c{i}.png")
        for j in range(styles):
            style = Image.open(folders["style"] / f"s{j}.png").resize(content.size)
            Image.blend(content, style, 0.3 + 0.2 * j).save(
                folders["stylized"] / f"c{i}_stylized_s{j}.png"
            )
    return folders
