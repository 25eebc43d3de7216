"""A config wrong for this machine in several ways says so in one run (issue 33: the paper's recipe
on a CPU took three runs: fp16 without CUDA, then the missing data folder, then the VGG19 download),
and a small validation folder is not called unreadable."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from PIL import Image

import train
from data_prep.datasets import load_fixed_images

RECIPE = Path(__file__).resolve().parents[1] / "configs" / "vgg_adain_meanstd.yaml"


@pytest.mark.skipif(torch.cuda.is_available(), reason="the fp16 rule is a CPU machine's")
def test_the_papers_recipe_on_a_cpu_reports_every_problem_at_once(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no data/coco_wikiart here
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no VGG19 cached
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # and none downloadable
    code = train.main(["--config", str(RECIPE), "train.batch_size=0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    line = err[0]
    assert line.startswith("error: 5 problems: (1) train.batch_size: 0"), line
    assert "(2) train.mixed_precision: 'fp16' but CUDA is not available" in line, line
    assert "content training folder data/coco_wikiart/content/train does not exist" in line
    assert "(4) data.root: style training folder data/coco_wikiart/style/train" in line
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    assert "(5) model.encoder.pretrained: true needs torchvision's vgg19 weights" in line, line
    assert f"put vgg19-dcbb9e9d.pth at {cached}" in line, line
    assert not (tmp_path / "runs").exists()


def test_a_small_folder_is_not_called_unreadable(tmp_path, caplog):
    for k in range(2):
        Image.new("RGB", (40, 40), (60 * k, 90, 30)).save(tmp_path / f"{k}.png")
    with caplog.at_level(logging.WARNING):
        assert len(load_fixed_images(tmp_path, 4, 32)) == 2
    assert "holds 2 images, fewer than the 4 requested" in caplog.text
    assert "readable" not in caplog.text
    caplog.clear()
    (tmp_path / "2.png").write_bytes(b"not a png")
    with caplog.at_level(logging.WARNING):
        assert len(load_fixed_images(tmp_path, 4, 32)) == 2
    assert "only 2 of the 4 requested images are readable" in caplog.text
