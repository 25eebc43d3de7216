"""infer.stylize with --style-weights on the tiled path: equal to the untiled run, and the weights \
matter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import vary_outputs
from PIL import Image

import infer
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from media.images import load_image
from models.net import StyleTransferNet
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiled_mix")
    torch.manual_seed(0)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
    # else the grey output of a random decoder would hide both seams and the style mix
    vary_outputs(net)
    ckpt = save_release(root / "vgg.safetensors", net)
    y, x = np.mgrid[0:64, 0:160] / 10.0
    content = np.stack([np.sin(x), np.cos(y), np.sin(x + y)], -1) * 0.4 + 0.5
    Image.fromarray((content * 255).astype(np.uint8)).save(root / "content.png")
    rng = np.random.default_rng(0)
    red = np.zeros((40, 40, 3), np.uint8)
    red[..., 0] = rng.integers(150, 255, (40, 40))
    Image.fromarray(red).save(root / "a_red.png")
    blue = np.zeros((40, 48, 3), np.uint8)  # far from the red style, so the mix weights show
    blue[..., 2] = rng.integers(0, 256, (40, 48))
    Image.fromarray(blue).save(root / "b_blue.png")
    return root, str(ckpt)


def stylize(env, out: str, weights: str, *tiling: str) -> torch.Tensor:
    root, ckpt = env
    summary = infer.stylize(
        [
            "--checkpoint",
            ckpt,
            "--content",
            str(root / "content.png"),
            "--style",
            str(root / "a_red.png"),
            str(root / "b_blue.png"),
            "--style-weights",
            weights,
            "--out",
            str(root / out),
            "--weights",
            "random",
            *tiling,
        ]
    )
    assert len(summary["written"]) == 1
    return load_image(summary["written"][0])


def test_tiled_style_mix_equals_untiled_and_follows_the_weights(env):
    # 64 x 160 px: two tiles across. Smaller tiles drift further from the untiled image (the
    # decoder's receptive field is cut at tile borders): PSNR 24 dB at 64 px tiles, 38.5 dB at these
    tiles = ("--tile-size", "128", "--tile-overlap", "64")
    untiled = stylize(env, "untiled", "1,3", "--tile-size", "0")
    tiled = stylize(env, "tiled", "1,3", *tiles)
    equal = stylize(env, "tiled_equal", "1,1", *tiles)
    untiled_equal = stylize(env, "untiled_equal", "1,1", "--tile-size", "0")
    assert tiled.shape == untiled.shape == (3, 64, 160) and untiled.std() > 0.05
    assert _psnr(tiled, untiled) > 33 and _psnr(equal, untiled_equal) > 33
    # the weights change the image, and by several times more than tiling does
    assert (untiled - untiled_equal).abs().mean() > 0.01
    assert (tiled - equal).abs().mean() > 3 * (tiled - untiled).abs().mean()
