"""`python -m eval.variants`: the research variants' configs, smoke-trained, compared and \
evaluated in one call."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys

import pytest

from configs.read import load_config
from eval.variant_configs import CONFIGS, SMOKE, SMOKE_STEPS, variant_config, variants
from eval.variants import main, train_variant
from models.registry import STYLE_LOSSES, TRANSFORMS


def test_the_variants_cover_every_registered_transform_and_style_loss_in_one_field_each():
    recipe = load_config(CONFIGS / "vgg_adain_meanstd.yaml")
    seen = set()
    for name in variants():
        cfg = variant_config(name, True, "pretrained", None, None)
        assert cfg.name == name and cfg.data == recipe.data and cfg.train == recipe.train
        changed = {("transform", cfg.model.transform)} if cfg.model.transform != "adain" else set()
        changed |= {("loss", cfg.loss.style_loss)} if cfg.loss.style_loss != "mean_std" else set()
        assert len(changed) <= 1 and cfg.model.encoder == recipe.model.encoder, name
        seen |= changed
    assert seen == {("transform", t) for t in TRANSFORMS if t != "adain"} | {
        ("loss", s) for s in STYLE_LOSSES if s != "mean_std"
    }
    assert (
        variant_config("vgg_adain_gram", True, "pretrained", None, None).loss.style_weight
        == load_config(CONFIGS / "vgg_adain_gram.yaml").loss.style_weight
    )  # a variant's own config file wins


def test_smoke_takes_smoke_yaml_schedule_and_full_keeps_the_recipe():
    smoke, full = (
        variant_config("vgg_wct_meanstd", f, "random", None, None) for f in (False, True)
    )
    reference = load_config(SMOKE)
    assert (smoke.data, smoke.optim) == (reference.data, reference.optim)
    assert smoke.train == dataclasses.replace(reference.train, steps=SMOKE_STEPS)
    assert full.train.steps == 160_000 and full.data.crop == 256
    assert smoke.model.transform == full.model.transform == "wct"
    # --weights random
    assert not smoke.model.encoder.pretrained and not smoke.loss.loss_net_pretrained
    assert (
        variant_config(
            "vgg_wct_meanstd", True, "pretrained", "x", 7, ["train.batch_size=3"]
        ).train.batch_size
        == 3
    )


def test_unknown_variant_is_a_one_line_error_before_anything_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(["--out", str(tmp_path / "out"), "--variants", "vgg_nope"])
    assert err.value.code == 2 and "vgg_nope" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_trains_compares_and_evaluates_each_variant_with_the_optimization_reference(
    sample_root, tmp_path
):
    out = tmp_path / "out"
    args = [
        "--out",
        str(out),
        "--data-root",
        str(sample_root),
        "--steps",
        "2",
        "--set",
        "data.resize=36",
        "data.crop=32",
        "--eval-size",
        "32",
        "--baseline-steps",
        "1",
        "--variants",
    ]
    rows = main([*args, "vgg_adain_meanstd", "vgg_adain_w2"])
    assert [r["name"] for r in rows] == ["vgg_adain_meanstd", "vgg_adain_w2", "optimize"]
    assert "| vgg_adain_w2 | checkpoint |" in (out / "eval" / "metrics.md").read_text()
    with open(out / "curves" / "summary.csv") as f:
        curves = list(csv.DictReader(f))
    assert {r["run"] for r in curves} == {"vgg_adain_meanstd", "vgg_adain_w2"}
    assert {r["tag"] for r in curves} == {"loss/total", "loss/content", "loss/style"}
    resolved = load_config(out / "configs" / "vgg_adain_w2.yaml")
    assert (
        resolved.loss.style_loss == "w2" and resolved.train.steps == 2 and resolved.data.crop == 32
    )
    assert json.loads((out / "eval" / "pairs.json").read_text())  # the val pairs of --data-root

    # a rerun resumes the finished run (no retraining, no "already holds checkpoints" refusal)
    release = out / "runs" / "vgg_adain_w2" / "model.safetensors"
    before = release.read_bytes()
    assert train_variant(resolved, out, [sys.executable]) == release.parent
    assert release.read_bytes() == before
