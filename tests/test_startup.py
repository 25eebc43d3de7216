"""Start-up: a VGG run imports neither torchvision nor timm; VGG19 defined here is torchvision's."""

import subprocess
import sys
from pathlib import Path

import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from media.images import save_image
from models.net import StyleTransferNet
from models.vgg import VGG19Features, vgg_features
from weights.release import save_release

REPO = Path(__file__).resolve().parents[1]
# what a VGG decoder run has no use for (torch._dynamo: imported by torchvision.ops)
HEAVY = (
    "torchvision",
    "timm",
    "torch._dynamo",
    "accelerate",
    "gradio",
    "scipy",
    "matplotlib",
    "skimage",
    "tensorboard",
)


def _torchvision_vgg19_features() -> nn.Sequential:
    """What models/vgg.py built before defining the layers: torchvision's modules and conv init."""
    features = make_layers(cfgs["E"], batch_norm=False)
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return features


def test_vgg19_defined_here_is_torchvisions_bitwise():
    torch.manual_seed(3)
    theirs = _torchvision_vgg19_features()
    after_theirs = torch.rand(4)  # the generator advanced exactly as much
    torch.manual_seed(3)
    ours = vgg_features("vgg19")
    assert torch.equal(torch.rand(4), after_theirs)
    assert [type(m).__name__ for m in theirs] == [
        type(m).__name__.replace("Padded", "") for m in ours
    ]
    a, b = theirs.state_dict(), ours.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    x = torch.rand(1, 3, 40, 48)
    for padding in ("zeros", "reflect"):  # the reflect-padded convs (pytorch-AdaIN's layout) too
        for net in (theirs, ours):
            for m in net:
                if isinstance(m, nn.Conv2d):
                    m.padding_mode = padding
        with torch.no_grad():
            assert torch.equal(theirs(x), ours(x))


def test_seeded_random_encoder_is_unchanged():
    """VGG19Features(pretrained=False) draws the numbers it drew before (every test's nets)."""
    torch.manual_seed(0)
    reference = _torchvision_vgg19_features()
    torch.manual_seed(0)
    net = VGG19Features(["relu4_1"], pretrained=False)
    assert all(torch.equal(v, reference.state_dict()[k]) for k, v in net.body.state_dict().items())


def test_a_vgg_run_imports_neither_torchvision_nor_timm(tmp_path):
    torch.manual_seed(0)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
    ckpt = save_release(tmp_path / "vgg.safetensors", net)
    save_image(torch.rand(3, 32, 32), tmp_path / "c.png")
    save_image(torch.rand(3, 32, 32), tmp_path / "s.png")
    argv = [
        "--checkpoint",
        str(ckpt),
        "--content",
        str(tmp_path / "c.png"),
        "--style",
        str(tmp_path / "s.png"),
        "--out",
        str(tmp_path / "out"),
    ]
    code = (
        f"import sys, infer\nrc = infer.main({argv!r})\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules), 'RC', rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert "HEAVY [] RC 0" in proc.stdout, proc.stdout + proc.stderr
