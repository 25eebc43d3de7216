"""The one-pass config check also names a timm ViT encoder whose hub weights are neither in the
Hugging Face cache nor downloadable (issue 33: it probed only torchvision's VGGs), without
downloading anything."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants as hf_constants
import pytest

import train

SMOKE_VIT = Path(__file__).resolve().parents[1] / "configs" / "smoke_vit.yaml"
# timm's default tag of vit_tiny_patch16_224 and the repo its weights come from
REPO_ID = "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def offline_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache, offline (huggingface_hub read both once, at its import)."""
    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # no data/sample here either: a second problem in the same line
    return cache


def _train_error(capsys, *overrides: str) -> str:
    code = train.main(["--config", str(SMOKE_VIT), *overrides])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    return err[0]


def test_uncached_vit_weights_offline_are_one_problem_of_the_pass(offline_cache, capsys):
    line = _train_error(capsys, "model.encoder.pretrained=true")
    assert line.startswith("error: 3 problems:"), line  # the two data folders and the weights
    assert "model.encoder.pretrained: true needs timm's vit_tiny_patch16_224 weights" in line
    assert f"of the hub repo {REPO_ID}" in line and "HF_HUB_OFFLINE is set" in line, line
    assert str(offline_cache / f"models--{REPO_ID.replace('/', '--')}") in line, line
    assert "run once online" in line and "model.encoder.pretrained=false" in line, line
    assert not (offline_cache.parent.parent / "runs").exists()


def test_cached_or_random_vit_weights_are_no_problem(offline_cache, capsys):
    repo = offline_cache / f"models--{REPO_ID.replace('/', '--')}"
    (repo / "snapshots" / COMMIT).mkdir(parents=True)
    (repo / "snapshots" / COMMIT / "model.safetensors").write_bytes(b"weights")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    cached = _train_error(capsys, "model.encoder.pretrained=true")
    random = _train_error(capsys)  # smoke_vit.yaml: pretrained: false
    for line in (cached, random):
        assert line.startswith("error: 2 problems:") and "timm" not in line, line
