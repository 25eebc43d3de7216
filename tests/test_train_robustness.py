"""Training survives bad image files (and reports them) and stops cleanly on a persistently \
non-finite loss."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from train_helpers import tiny_config

from train import train
from training.checkpoints import complete_checkpoints
from training.loop import NonFiniteLossError
from weights.checkpoint import read_metadata
from weights.load import load_model


def write_bad_and_odd_images(folder):
    """Two good photos, plus every awkward file a scraped data set contains."""
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(
            folder / f"good{i}.jpg"
        )
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(buf, format="JPEG")
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (folder / "text.jpg").write_text("this is not an image")
    Image.new("CMYK", (48, 48), (10, 200, 30, 0)).save(folder / "cmyk.jpg")
    Image.fromarray(rng.integers(0, 65535, (48, 48), dtype=np.uint16)).save(folder / "deep16.png")
    Image.fromarray(rng.integers(0, 255, (48, 48, 4), dtype=np.uint8), mode="RGBA").save(
        folder / "alpha.png"
    )
    # < the crop
    Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(folder / "small.png")


def test_bad_files_are_skipped_and_reported(sample_root, tmp_path, caplog):
    root = tmp_path / "data"
    shutil.copytree(sample_root, root)
    train_dir = root / "content" / "train"
    shutil.rmtree(train_dir)
    train_dir.mkdir()
    write_bad_and_odd_images(train_dir)
    # 8 files, batch 2, 4 steps: the first pass over the content set draws every file once
    result = train(
        tiny_config(root, **{"train.batch_size": 2, "train.steps": 4, "train.val_pairs": 1}),
        tmp_path / "run",
    )
    assert result.step == 4
    assert sorted(p.name for p in result.bad_files) == ["text.jpg", "truncated.jpg"]
    assert "truncated.jpg" in caplog.text and "text.jpg" in caplog.text


def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(sample_root, tmp_path):
    cfg = tiny_config(
        sample_root,
        **{
            "train.steps": 10,
            "train.save_every": 2,
            "train.debug_nan_at_step": 3,
            "train.max_nonfinite": 3,
            "train.val_pairs": 1,
        },
    )
    with pytest.raises(NonFiniteLossError, match="non-finite at 3 steps in a row") as err:
        train(cfg, tmp_path)
    assert "step_000004" in str(err.value)  # the message names the checkpoint to resume from
    # steps 0-2 trained, steps 3-5 skipped: the save at step 4 holds the step-3 weights (finite),
    # none after
    steps = [step for step, _ in complete_checkpoints(tmp_path)]
    assert steps[-1] == 4
    net = load_model(tmp_path / "model.safetensors")
    assert read_metadata(tmp_path / "model.safetensors")["step"] == "4"
    assert all(torch.isfinite(p).all() for p in net.parameters())
