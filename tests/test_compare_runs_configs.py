"""compare_runs on a Gram and a mean/std run: the differing config keys are printed, `loss/style` is
marked as measuring two things (table, notes, plot), hparam/* stay out, and no "best" cell reads
nan.
"""

from __future__ import annotations

import csv

from train_helpers import tiny_config

from eval.runs.compare import main
from eval.runs.tensorboard_io import read_scalars
from train import train


def test_gram_and_mean_std_runs(sample_root, tmp_path, capsys):
    for name, loss in (("gram", "gram"), ("meanstd", "mean_std")):
        train(
            tiny_config(
                sample_root, **{"loss.style_loss": loss, "train.steps": 2, "train.val_pairs": 0}
            ),
            tmp_path / "runs" / name,
        )
    # the tag that names its definition
    assert "loss/style_gram" in read_scalars(tmp_path / "runs" / "gram")
    capsys.readouterr()
    rows = main([str(tmp_path / "runs"), "--out", str(tmp_path / "cmp")])
    out = capsys.readouterr().out
    assert "note: config differs: loss.style_loss (gram: gram, meanstd: mean_std)" in out, out
    assert "note: loss/style: not comparable across these runs" in out
    by_tag = {}
    for r in rows:
        by_tag.setdefault(r.tag, []).append(r)
    assert all(r.redefined_by == "loss.style_loss" for r in by_tag["loss/style"])
    assert all(r.redefined_by == "loss.style_loss" for r in by_tag["loss/total"])
    assert all(r.redefined_by == "" for r in by_tag["loss/content"] + by_tag["loss/style_gram"])
    assert not [
        t for t in by_tag if t.startswith("hparam/")
    ]  # add_hparams' one-point pseudo-curves
    assert all(r.best is None and "describes the run" in r.best_note for r in by_tag["lr"])

    md = (tmp_path / "cmp" / "summary.md").read_text()
    assert "`loss/style` (!)" in md and "`loss/content` (!)" not in md
    assert "nan" not in md.lower()
    with open(tmp_path / "cmp" / "summary.csv") as f:
        assert all(row["best"] != "nan" for row in csv.DictReader(f))
    assert (tmp_path / "cmp" / "loss_style.png").is_file()
