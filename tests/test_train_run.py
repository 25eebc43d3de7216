"""A smoke run's outputs (events, grid, hparams, config, checkpoints, throughput), overrides, the \
ViT path."""

from __future__ import annotations

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from train_helpers import REPO, SMOKE, tiny_config, tiny_overrides

from configs.read import load_config
from train import main, train
from weights.checkpoint import read_metadata
from weights.load import load_model

STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]


@pytest.fixture(scope="module")
def smoke_run(sample_root, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run") / "smoke"
    result = train(tiny_config(sample_root, **{"train.keep_last": 1}), run_dir)
    return run_dir, result


def test_events_hold_scalars_grid_and_hparams(smoke_run):
    run_dir, _ = smoke_run
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    expected = {
        "loss/total",
        "loss/content",
        "loss/style",
        "loss/tv",
        "lr",
        "grad_norm",
        "throughput/images_per_s",
        "throughput/data_wait_fraction",
        "train/skipped_steps",
        *(f"loss/style/{layer}" for layer in STYLE_LAYERS),
    }
    assert expected <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("loss/total")] == [2, 4]
    assert [e.step for e in events.Images("val/grid")] == [2, 4]
    # add_hparams wrote into this folder
    assert "_hparams_/session_start_info" in events.summary_metadata
    assert not [
        p for p in run_dir.iterdir() if p.is_dir() and p.name != "checkpoints"
    ]  # no extra run folders


def test_run_folder_contents(smoke_run):
    run_dir, result = smoke_run
    assert result.step == 4 and result.skipped_steps == 0
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    # the resolved config, overrides applied
    assert saved["data"]["crop"] == 32 and saved["train"]["steps"] == 4
    assert (run_dir / "val_grid.png").is_file() and (run_dir / "val_grid_step_000002.png").is_file()
    # keep_last=1: only the newest checkpoint survives rotation
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["step_000004"]
    meta = read_metadata(run_dir / "model.safetensors")
    assert (
        meta["step"] == "4"
        and meta["config_name"] == "smoke"
        and '"style_loss"' in meta["loss_config"]
    )
    load_model(run_dir / "model.safetensors")  # the release file rebuilds the network on its own


def test_throughput_is_measured(smoke_run):
    _, result = smoke_run
    assert result.images_per_s > 0 and 0 <= result.data_wait_fraction < 1


def test_cli_prints_throughput_and_rejects_unknown_keys(sample_root, tmp_path, capsys):
    assert (
        main(
            [
                "--config",
                str(SMOKE),
                "--run-dir",
                str(tmp_path / "cli"),
                *tiny_overrides(sample_root, **{"train.steps": 1, "train.val_pairs": 0}),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "images/s" in out and "waiting for data" in out
    assert main(["--config", str(SMOKE), "train.stepz=3"]) == 2  # could not start (configs/cli.py)
    err = capsys.readouterr().err
    assert "train.stepz" in err and "steps" in err  # names the bad key and the valid ones


def test_vit_smoke_config_trains(sample_root, tmp_path):
    cfg = load_config(
        REPO / "configs" / "smoke_vit.yaml",
        tiny_overrides(
            sample_root, **{"train.steps": 2, "train.val_pairs": 1, "train.batch_size": 1}
        ),
    )
    result = train(cfg, tmp_path)
    assert result.step == 2 and torch.isfinite(torch.tensor(result.metrics["loss/total"]))
    load_model(tmp_path / "model.safetensors")
