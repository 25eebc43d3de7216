"""Training knobs checked by their effect through train.train(): train.epochs, optim.grad_clip,
data.content_dir / data.style_dir (random weights, 32 px, a few steps)."""

from __future__ import annotations

import shutil

import pytest
import torch
from accelerate.utils import set_seed
from train_helpers import release_weights, tiny_config

from eval.runs.tensorboard_io import read_scalars
from models.net import StyleTransferNet
from train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def test_epochs_stop_after_ceil_of_passes_over_the_content(sample_root, tmp_path):
    n = len(list((sample_root / "content" / "train").iterdir()))
    assert n == 4  # the sample set's layout; the expected count below depends on it
    cfg = tiny_config(
        sample_root,
        **{
            "train.epochs": 1,
            "train.steps": 100,
            "train.batch_size": 3,
            "train.val_pairs": 0,
            "train.save_every": 100,
        },
    )
    result = train(cfg, tmp_path)
    assert result.step == 2  # ceil(1 * 4 / 3): floor or round would stop after 1
    assert (tmp_path / "checkpoints" / "step_000002").is_dir()  # the final step is saved


def update_norm(cfg, run_dir) -> float:
    """Global L2 norm of (trained - initial) decoder weights; the initial ones are rebuilt from the
    seed."""
    set_seed(cfg.train.seed)  # train() seeds the same way before building the network
    initial = StyleTransferNet(cfg.model).state_dict()
    trained = release_weights(run_dir)
    return float(torch.sqrt(sum(((trained[k] - initial[k]) ** 2).sum() for k in trained)))


def test_grad_clip_bounds_the_update(sample_root, tmp_path):
    # Plain SGD moves the weights by lr * (clipped) gradient, so clipping the global norm to c
    # bounds the total update of 4 steps by 4 * lr * c. (Adam would hide the clip: it divides by the
    # gradient's scale.)
    lr, clip, steps = 1e-2, 1e-3, 4
    sgd = {
        "optim.name": "sgd",
        "optim.momentum": 0.0,
        "optim.lr": lr,
        "optim.lr_decay": 0.0,
        "train.val_pairs": 0,
        "train.log_every": 1,
    }
    free = tiny_config(sample_root, **sgd)
    clipped = tiny_config(sample_root, **sgd, **{"optim.grad_clip": clip})
    train(free, tmp_path / "free")
    train(clipped, tmp_path / "clipped")
    grad_norms = [v for _, v in read_scalars(tmp_path / "clipped")["grad_norm"]]
    # the clip is active at every step
    assert len(grad_norms) == steps and min(grad_norms) > 100 * clip
    assert update_norm(clipped, tmp_path / "clipped") <= steps * lr * clip * (1 + 1e-4)
    assert update_norm(free, tmp_path / "free") > 100 * steps * lr * clip


def test_content_and_style_dirs_replace_the_root_layout(sample_root, tmp_path):
    content, style = tmp_path / "my_content", tmp_path / "my_style"
    content.mkdir()
    for name in ("astronaut", "chelsea"):  # 2 contents, where root/content/train has 4
        shutil.copy(sample_root / "content" / "train" / f"{name}.jpg", content)
    shutil.copytree(sample_root / "style" / "train", style)
    # sorts first: read when the dataset is built
    (style / "a_broken.jpg").write_text("not an image")
    empty_root = tmp_path / "no_layout"  # no {content,style}/train: reading the root would fail
    empty_root.mkdir()
    cfg = tiny_config(
        empty_root,
        **{
            "data.content_dir": content,
            "data.style_dir": style,
            "train.epochs": 1,
            "train.steps": 100,
            "train.val_pairs": 0,
        },
    )
    result = train(cfg, tmp_path / "run")
    assert result.step == 2  # one pass over the 2 images of content_dir, batch 1
    assert list(result.bad_files) == [
        style / "a_broken.jpg"
    ]  # the style images came from style_dir

    missing = tmp_path / "missing_styles"
    cfg = tiny_config(sample_root, **{"data.style_dir": missing, "train.val_pairs": 0})
    with pytest.raises(FileNotFoundError, match=f"style training folder {missing} does not exist"):
        train(cfg, tmp_path / "run_missing")
