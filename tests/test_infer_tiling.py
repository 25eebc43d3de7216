"""Tiled stylization (global content statistics, ramp blending) agrees with the untiled pass."""

import pytest
import torch
from conftest import vary_outputs

from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from inference.engine import Engine
from inference.tiling import ramp, tile_intervals
from models.net import StyleTransferNet

pytestmark = pytest.mark.usefixtures("one_thread")


def _psnr(a, b):
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def test_intervals_cover_and_ramps_rise():
    iv = tile_intervals(200, 64, 16, 8)
    assert iv[0][0] == 0 and iv[-1][1] == 200 and all(s % 8 == 0 for s, _ in iv)
    assert all(b[0] < a[1] for a, b in zip(iv, iv[1:]))  # neighbours overlap
    w = ramp(10, 4, 4)
    assert w[0] < w[1] < w[3] <= w[4] == 1 and torch.allclose(w, w.flip(0))


def test_tiled_matches_untiled():
    torch.manual_seed(0)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig())).eval()
    vary_outputs(net)
    y, x = torch.meshgrid(torch.linspace(0, 6, 96), torch.linspace(0, 9, 160), indexing="ij")
    content = torch.stack([torch.sin(x), torch.cos(y), torch.sin(x + y)])[None] * 0.4 + 0.5
    style = torch.rand(1, 3, 40, 48)
    whole = Engine.for_net(net, torch.device("cpu"), tile_size=0)
    tiled = Engine.for_net(net, torch.device("cpu"), tile_size=96, tile_overlap=48)
    masks = torch.zeros(2, 96, 160)
    masks[0, :, :80], masks[1, :, 80:] = 1, 1
    for kwargs in [{}, {"masks": masks}]:
        feats = [whole.encode(style)] * (2 if kwargs else 1)
        a = whole.decode_batch(content, feats, (0.7,), **kwargs)[0]
        b = tiled.decode_batch(content, feats, (0.7,), **kwargs)[0]
        assert a.std() > 0.05 and a.shape == b.shape == (1, 3, 96, 160)
        assert _psnr(a, b) > 30, _psnr(a, b)
