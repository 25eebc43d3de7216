"""A clip through infer.py --backend onnxruntime (an export.py folder): frames, timing, size and
audio kept, every frame within one 8-bit level of the PyTorch backend's, with the per-frame knobs
and each --temporal mode."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import vary_outputs, vgg_config
from PIL import Image
from test_video_io import _probe, knob_flags

import export
import infer
from data_prep.sample_clip import write_clip
from models.net import StyleTransferNet
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("video_onnx")
    torch.manual_seed(0)
    net = StyleTransferNet(vgg_config())
    vary_outputs(net)  # a decoder whose frames vary, so a backend difference would show
    save_release(root / "vgg.safetensors", net)
    assert (
        export.main(["--checkpoint", str(root / "vgg.safetensors"), "--out", str(root / "onnx")])
        == 0
    )
    write_clip(root / "clip.mp4", 7, (64, 48), rate=12, noise=0.05, cut=5, speed=2)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(root / "s1.png")
    Image.fromarray(np.full((40, 40, 3), (200, 40, 90), np.uint8)).save(root / "s2.png")
    mask = np.zeros((48, 64, 3), np.uint8)
    mask[:, 32:] = 255
    Image.fromarray(mask).save(root / "mask.png")
    return root


def _both(root: Path, tag: str, *flags: str) -> dict[str, dict]:
    """infer.py on the clip with each backend; {backend: summary}."""
    out = {}
    for backend, checkpoint in (("pytorch", "vgg.safetensors"), ("onnxruntime", "onnx")):
        summary = infer.stylize(
            [
                "--content",
                str(root / "clip.mp4"),
                "--checkpoint",
                str(root / checkpoint),
                "--backend",
                backend,
                "--weights",
                "random",
                "--out",
                str(root / f"{tag}_{backend}"),
                "--frames",
                *flags,
            ]
        )
        assert not summary["failed"], summary["failed"]
        out[backend] = summary
    return out


@pytest.mark.parametrize(
    "tag, flags",
    [
        ("knobs", [*knob_flags("s1.png", "s2.png", "mask.png"), "--temporal", "stats"]),
        ("flow", ["--style", "s1.png", "--temporal", "flow", "--batch-size", "3"]),
        ("off", ["--style", "s1.png", "--temporal", "off", "--batch-size", "4"]),
    ],
)
def test_a_clip_on_onnxruntime_matches_pytorch(env, tag, flags):
    flags = [str(env / f) if f.endswith(".png") else f for f in flags]
    runs = _both(env, tag, *flags)
    source = _probe(env / "clip.mp4")
    written = runs["onnxruntime"]["written"]
    assert len(written) == len(runs["pytorch"]["written"]) == (2 if tag == "knobs" else 1)
    for path in written:
        out = _probe(path)
        assert out["pts"] == source["pts"] and out["time_base"] == source["time_base"]
        assert out["rate"] == source["rate"] and out["size"] == (64, 48)
        assert out["audio"] and out["audio"] == source["audio"]
        stem = Path(path).stem
        frames = sorted((Path(path).parent / f"{stem}_frames").iterdir())
        assert len(frames) == 7
        for png in frames:
            mine = np.asarray(Image.open(png), int)
            ref = np.asarray(Image.open(env / f"{tag}_pytorch" / f"{stem}_frames" / png.name), int)
            assert np.abs(mine - ref).max() <= 1, (path, png.name)
