"""Step checkpoints are loadable like release files (infer, evaluate, load_model), and resuming \
checks the
number of processes a checkpoint was saved with."""

from __future__ import annotations

import csv
import json
import logging

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import release_weights, tiny_config

import infer
from eval.evaluate import main as evaluate_main
from eval.methods import method_names
from train import train
from training.checkpoints import MARKER
from weights.checkpoint import RELEASE_FILE, STEP_WEIGHTS, read_metadata
from weights.load import load_model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run_dir(sample_root, tmp_path_factory):
    """4 steps, checkpoints at steps 2 and 4 (tiny_overrides: save_every=2, keep_last=3)."""
    run = tmp_path_factory.mktemp("run")
    train(tiny_config(sample_root, **{"train.val_pairs": 0}), run)
    return run


def step(run_dir, n):
    return run_dir / "checkpoints" / f"step_{n:06d}"


def test_step_folder_holds_release_format_weights_and_no_model_safetensors(run_dir):
    folder = step(run_dir, 4)
    assert (folder / STEP_WEIGHTS).is_file() and not (folder / RELEASE_FILE).exists()
    keys = load_file(str(folder / STEP_WEIGHTS))
    # the release names, not the objective's
    assert keys and not any(k.startswith(("net.", "module.")) for k in keys)
    meta = read_metadata(folder)
    assert (
        meta["step"] == "4"
        and meta["config_name"] == "smoke"
        and '"kind": "vgg19"' in meta["model_config"]
    )
    assert json.loads((folder / MARKER).read_text())["world_size"] == 1
    # the last step's weights are the release file's, and load through the folder or the file alike
    release = release_weights(run_dir)
    for key, value in load_model(folder).state_dict().items():
        assert key not in release or torch.equal(value, release[key]), key
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            load_model(folder).state_dict().values(),
            load_model(folder / STEP_WEIGHTS).state_dict().values(),
        )
    )


def test_two_steps_of_one_run_evaluated_side_by_side(run_dir, sample_root, tmp_path):
    pairs = tmp_path / "pairs.json"
    content, style = (
        sorted((sample_root / side / "val").iterdir())[0] for side in ("content", "style")
    )
    pairs.write_text(json.dumps({"pairs": [{"content": str(content), "style": str(style)}]}))
    evaluate_main(
        [
            "--checkpoint",
            str(step(run_dir, 2)),
            str(step(run_dir, 4)),
            "--pairs",
            str(pairs),
            "--weights",
            "random",
            "--feature-net",
            "random",
            "--size",
            "32",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    with open(tmp_path / "out" / "metrics.csv", newline="") as f:
        rows = {row["name"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"step_000002", "step_000004"}
    numbers = [k for k in rows["step_000002"] if k not in ("name", "kind", "pairs")]
    # two different models
    assert any(rows["step_000002"][k] != rows["step_000004"][k] for k in numbers)


def test_infer_takes_a_step_folder(run_dir, sample_root, tmp_path):
    content, style = (
        sorted((sample_root / side / "val").iterdir())[0] for side in ("content", "style")
    )
    summary = infer.stylize(
        [
            "--checkpoint",
            str(step(run_dir, 2)),
            "--content",
            str(content),
            "--style",
            str(style),
            "--out",
            str(tmp_path),
            "--size",
            "32",
        ]
    )
    assert len(summary["written"]) == 1 and not summary["failed"]


def test_method_names_are_unique_and_readable(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for run in (a, b):
        for n in (2, 4):
            step(run, n).mkdir(parents=True)
            (step(run, n) / STEP_WEIGHTS).touch()
        (run / RELEASE_FILE).touch()
    assert method_names([step(a, 2), step(a, 4) / STEP_WEIGHTS]) == ["step_000002", "step_000004"]
    assert method_names([step(a, 4), step(b, 4)]) == ["a_step_000004", "b_step_000004"]
    assert method_names([a / RELEASE_FILE, b / RELEASE_FILE]) == ["a_model", "b_model"]


def test_resume_with_another_world_size_warns_once(run_dir, sample_root, tmp_path, caplog):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    marker = step(copy, 4) / MARKER
    state = json.loads(marker.read_text())
    marker.write_text(json.dumps({**state, "world_size": 2}))  # as if a 2-process run had saved it
    with caplog.at_level(logging.WARNING):
        train(
            tiny_config(sample_root, **{"train.val_pairs": 0, "train.steps": 5}),
            copy,
            resume="latest",
        )
    warned = [r.getMessage() for r in caplog.records if "data order is no longer" in r.getMessage()]
    assert (
        len(warned) == 1 and "2-process run and resumes on 1" in warned[0] and "\n" not in warned[0]
    )

    # the step-5 checkpoint records this run's single process: resuming it says nothing
    caplog.clear()
    assert json.loads((step(copy, 5) / MARKER).read_text())["world_size"] == 1
    with caplog.at_level(logging.WARNING):
        train(
            tiny_config(sample_root, **{"train.val_pairs": 0, "train.steps": 6}),
            copy,
            resume="latest",
        )
    assert not [r for r in caplog.records if "data order is no longer" in r.getMessage()]
