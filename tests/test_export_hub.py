"""python export.py --hub: a run's release as the folder to upload (model.safetensors + a model card
with valid YAML front matter, the run's config, its last logged losses and validation grid, the
usage commands); the folder is itself a --checkpoint giving the run's images exactly; an occupied
folder is refused in one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from foreign_refs import write_png
from PIL import Image
from train_helpers import tiny_config

import export
import infer
from eval.runs.tensorboard_io import read_scalars
from train import train

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(sample_root, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    train(tiny_config(sample_root), run_dir)
    return run_dir


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    head, _, _ = card[4:].partition("\n---\n")
    return yaml.safe_load(head)


def test_hub_folder_from_a_run(run, sample_root, tmp_path):
    out = tmp_path / "hub"
    assert export.main(["--checkpoint", str(run), "--hub", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "model.safetensors",
        "val_grid.png",
    ]
    card = (out / "README.md").read_text()
    meta = front_matter(card)
    assert (
        meta["pipeline_tag"] == "image-to-image"
        and meta["library_name"]
        and meta["license"] == "mit"
    )
    assert meta["datasets"] == [sample_root.name] and "style-transfer" in meta["tags"]
    assert "transform-adain" in meta["tags"] and "encoder-vgg19" in meta["tags"]
    last = {tag: points[-1] for tag, points in read_scalars(run).items() if tag.startswith("loss")}
    assert last and all(
        f"| {tag} | {step} | {value:.5g} |" in card for tag, (step, value) in last.items()
    )
    assert "![validation grid](val_grid.png)" in card
    assert yaml.safe_load(card.split("```yaml\n")[1].split("```")[0]) == yaml.safe_load(
        (run / "config.yaml").read_text()
    )
    assert "python infer.py --checkpoint hf:USER/REPO --content" in card


def test_the_hub_folder_is_a_checkpoint_with_the_runs_images(run, tmp_path):
    out = tmp_path / "hub"
    assert export.main(["--checkpoint", str(run / "model.safetensors"), "--hub", str(out)]) == 0
    write_png(tmp_path / "c.png", 40, 36, 1)
    write_png(tmp_path / "s.png", 32, 32, 2)
    images = {}
    for name, checkpoint in (("run", run), ("hub", out)):
        summary = infer.stylize(
            [
                "--content",
                str(tmp_path / "c.png"),
                "--style",
                str(tmp_path / "s.png"),
                "--checkpoint",
                str(checkpoint),
                "--out",
                str(tmp_path / name),
            ]
        )
        images[name] = Image.open(summary["written"][0]).convert("RGB").tobytes()  # pixels: the
        # settings chunk names the checkpoint
    assert images["run"] == images["hub"]


def test_an_occupied_folder_or_one_without_weights_is_refused(run, tmp_path, capsys):
    out = tmp_path / "hub"
    (out).mkdir()
    (out / "notes.txt").write_text("mine")
    assert export.main(["--checkpoint", str(run), "--hub", str(out)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and str(out) in err[0] and "--overwrite" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    empty = tmp_path / "empty_run"
    empty.mkdir()
    assert export.main(["--checkpoint", str(empty), "--hub", str(tmp_path / "h2")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "model.safetensors" in err[0] and not (tmp_path / "h2").exists()
