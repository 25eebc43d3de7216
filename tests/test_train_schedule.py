"""The learning-rate schedule: lr_at's values, the lr the optimizer really steps with, and exact \
resume
when the lr decays (a constant lr, as in tests/test_train_resume.py, cannot show a schedule bug)."""

from __future__ import annotations

import pytest
import torch
from train_helpers import release_weights, tiny_config

import training.optimizer as optimizer_module
from eval.runs.tensorboard_io import read_scalars
from train import train
from training.schedule import lr_at, total_steps

pytestmark = pytest.mark.usefixtures("one_thread")

LR, DECAY = 1e-3, 0.5  # decays to 0.4x over 4 steps: any off-by-one or restart changes the weights


def expected_lr(step: int) -> float:
    """The AdaIN paper's inverse-time decay, written out here rather than imported from the code
    under test."""
    return LR / (1 + DECAY * step)


def test_lr_at_values():
    assert [lr_at(t, LR, DECAY) for t in range(4)] == pytest.approx([1e-3, 1e-3 / 1.5, 5e-4, 4e-4])
    # the reference recipe after 100k steps
    assert lr_at(100_000, 1e-4, 5e-5) == pytest.approx(1e-4 / 6)
    assert [lr_at(t, LR, 0.0) for t in (0, 7, 10**6)] == [LR] * 3


def test_total_steps():
    assert total_steps(100, 0, 4, 3, 1) == 100  # epochs 0: train.steps alone
    # ceil(4 / 3): the last step straddles into the next pass
    assert total_steps(100, 1, 4, 3, 1) == 2
    assert total_steps(100, 3, 10, 2, 2) == 8  # ceil(30 / 4): both processes draw content
    assert total_steps(5, 3, 10, 2, 2) == 5  # whichever ends first


def test_optimizer_steps_with_the_scheduled_lr(sample_root, tmp_path, monkeypatch):
    used: list[float] = []

    class RecordingAdam(torch.optim.Adam):
        def step(self, closure=None):
            used.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.setitem(optimizer_module.OPTIMIZERS, "adam", RecordingAdam)
    cfg = tiny_config(
        sample_root,
        **{"optim.lr": LR, "optim.lr_decay": DECAY, "train.log_every": 1, "train.val_pairs": 0},
    )
    train(cfg, tmp_path)
    assert used == pytest.approx([expected_lr(t) for t in range(4)], rel=1e-12)
    # TensorBoard's "lr" at step t+1 (logged after the step) is the lr step t used; stored as
    # float32
    logged = read_scalars(tmp_path)["lr"]
    assert [s for s, _ in logged] == [1, 2, 3, 4]
    assert [v for _, v in logged] == pytest.approx([expected_lr(t) for t in range(4)], rel=1e-6)


def test_resume_with_decaying_lr_equals_uninterrupted_run(sample_root, tmp_path):
    schedule = {"optim.lr": LR, "optim.lr_decay": DECAY, "train.val_pairs": 0}
    full, split = tmp_path / "full", tmp_path / "split"
    train(tiny_config(sample_root, **schedule, **{"train.steps": 4}), full)
    train(tiny_config(sample_root, **schedule, **{"train.steps": 2}), split)
    train(tiny_config(sample_root, **schedule, **{"train.steps": 4}), split, resume="latest")
    a, b = release_weights(full), release_weights(split)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
    # and the decay mattered: a constant lr ends elsewhere
    constant = tmp_path / "constant"
    train(
        tiny_config(sample_root, **{**schedule, "optim.lr_decay": 0.0, "train.steps": 4}), constant
    )
    c = release_weights(constant)
    assert any(not torch.equal(a[key], c[key]) for key in a)
