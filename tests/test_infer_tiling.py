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


def test_infer_says_which_inputs_are_tiled_and_counts_tiles(tmp_path, capsys, monkeypatch):
    """infer.py: one line per tiled content (size, tile count, tile and overlap), none for a small
    one; the tiles pass through a progress bar (2 steps per tile: encode, decode)."""
    import numpy as np
    from PIL import Image

    import infer
    import inference.tiling
    from weights.release import save_release

    bars = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.kwargs = total, 0, kwargs
            bars.append(self)

        def update(self, n=1):
            self.n += n

        def close(self):
            pass

    monkeypatch.setattr(inference.tiling, "tqdm", Bar)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
    release = save_release(tmp_path / "m.safetensors", net)
    rng = np.random.default_rng(0)
    for name, (h, w) in {"big.png": (56, 80), "small.png": (32, 32), "style.png": (32, 32)}.items():
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(tmp_path / name)
    code = infer.main(
        [
            *("--checkpoint", str(release), "--weights", "random", "--out", str(tmp_path / "out")),
            *("--content", str(tmp_path / "big.png"), str(tmp_path / "small.png")),
            *("--style", str(tmp_path / "style.png"), "--tile-size", "48", "--tile-overlap", "16"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("tiled:")]
    # 56 x 80 (whole strides), 48 px tiles overlapping by >= 16 px on the 8 px grid: rows 0-48 and
    # 8-56, columns 0-48 and 32-80
    assert lines == [
        "tiled: big.png: 80x56 px in 4 tiles (2 x 2) of 48 px, 16 px overlap, whole-image "
        "statistics (--tile-size, --tile-overlap; 0: untiled)"
    ], err
    assert [(b.total, b.n) for b in bars] == [(8, 8)]
