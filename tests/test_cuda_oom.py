"""CUDA out of memory in infer.py, raised on purpose on the CPU: the run leaves the handler, frees,
retries smaller (one image at a time, then tiles) and says so on stderr; what cannot fit is
recorded, not fatal."""

import sys

import numpy as np
import pytest
import torch
from conftest import vgg_config
from PIL import Image

import infer
import inference.run
from inference.engine import Engine
from models.net import StyleTransferNet
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("oom")
    torch.manual_seed(0)
    ckpt = save_release(root / "m.safetensors", StyleTransferNet(vgg_config()))
    rng = np.random.default_rng(0)
    (root / "c").mkdir()
    for name in ("one", "two"):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(
            root / "c" / f"{name}.png"
        )
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(root / "s.png")
    return dict(root=root, ckpt=str(ckpt))


def memory_limit(monkeypatch, fits):
    """Engine.decode_batch raises CUDA's OOM unless fits(batch, tile_size); returns the calls made,
    each with whether an exception was being handled then (a retry inside `except` keeps the failed
    tensors), and the devices freed."""
    calls, stylize = [], Engine.decode_batch

    def limited(self, contents, *args, tile_size=None, **kwargs):
        calls.append((len(contents), tile_size, sys.exc_info()[0] is not None))
        if not fits(len(contents), tile_size):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0)")
        return stylize(self, contents, *args, tile_size=tile_size, **kwargs)

    monkeypatch.setattr(Engine, "decode_batch", limited)
    freed = []
    monkeypatch.setattr(inference.run, "free_memory", lambda device: freed.append(device.type))
    return calls, freed


def run(world, out, *flags):
    return infer.stylize(
        [
            "--checkpoint",
            world["ckpt"],
            "--content",
            str(world["root"] / "c"),
            "--style",
            str(world["root"] / "s.png"),
            "--out",
            str(world["root"] / out),
            *flags,
        ]
    )


def test_batch_then_image_then_tiles_until_it_fits(world, monkeypatch, capsys):
    calls, freed = memory_limit(
        monkeypatch, lambda batch, tile: batch == 1 and tile is not None and tile <= 32
    )
    summary = run(world, "tiled", "--batch-size", "2")
    assert len(summary["written"]) == 2 and not summary["failed"]
    # the batch of 2, then per image: whole, 32 px tiles (half the long side 64)
    assert [c[:2] for c in calls] == [(2, None), (1, None), (1, 32), (1, None), (1, 32)]
    assert not any(handling for *_, handling in calls), "retried inside the except block"
    assert len(freed) == 3  # before each retry
    err = capsys.readouterr().err
    assert "out of memory on a batch of 2 contents: retrying one at a time" in err
    assert "out of memory on one.png (64x48 px): retrying in 32 px tiles" in err


def test_what_never_fits_is_recorded_with_advice(world, monkeypatch):
    calls, _ = memory_limit(monkeypatch, lambda batch, tile: False)
    summary = run(world, "never")
    assert not summary["written"] and len(summary["failed"]) == 2
    error = summary["failed"][0]["error"]
    assert (
        error.startswith("OutOfMemoryError: CUDA out of memory") and "also in 32 px tiles" in error
    )
    assert "--size" in error and "\n" not in error
    assert [c[:2] for c in calls][:2] == [
        (1, None),
        (1, 32),
    ]  # 32 px = 4 VGG strides: the smallest tile


def test_free_memory_empties_the_cuda_cache(monkeypatch):
    emptied = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(1))
    inference.run.free_memory(torch.device("cpu"))
    assert not emptied
    inference.run.free_memory(torch.device("cuda", 1))
    assert emptied == [1]
