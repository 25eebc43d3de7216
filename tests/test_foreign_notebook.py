"""The ViT notebook's checkpoints give the notebook's images through infer.py and through a \
converted release.

The files are written by tests/foreign_refs.py's re-implementation of the notebook (random weights,
a ViT-Ti in place of its ViT-B, 224 px inputs as the notebook's fixed-size ViT requires) under three
decoder naming schemes, two width schemes, with and without nn.DataParallel's `module.`, affine and
plain InstanceNorm.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from conftest import TINY_VIT
from foreign_refs import (
    DECODER_SCHEMES,
    ViTStyleTransfer,
    notebook_image,
    quantized,
    read_png,
    write_png,
)
from safetensors import safe_open

import infer
from weights.checkpoint import CheckpointError
from weights.convert import convert
from weights.load import load_model

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]
TOL = 4e-3  # one 8-bit level (1/255 = 3.9e-3): the PNGs may round a value on either side of a level
ALPHA = 0.7


def notebook_config(tmp_path: Path) -> Path:
    """configs/vit_notebook.yaml as it is, with the test's ViT-Ti for its ViT-B."""
    text = (REPO / "configs" / "vit_notebook.yaml").read_text()
    assert "vit_base_patch16_224" in text
    path = tmp_path / "vit_notebook_tiny.yaml"
    path.write_text(text.replace("vit_base_patch16_224", TINY_VIT))
    return path


def notebook_file(
    tmp_path: Path, scheme: str, widths: tuple[int, ...], affine: bool, wrap: bool, seed: int = 0
):
    torch.manual_seed(seed)
    model = ViTStyleTransfer(TINY_VIT, DECODER_SCHEMES[scheme](192, widths, affine)).eval()
    with torch.no_grad():
        for m in model.decoder.modules():
            # away from (1, 0), so they matter
            if isinstance(m, torch.nn.InstanceNorm2d) and m.affine:
                m.weight.normal_(1, 0.3)
                m.bias.normal_(0, 0.3)
    state = (torch.nn.DataParallel(model) if wrap else model).state_dict()
    assert any(k.startswith("module.") for k in state) == wrap
    path = tmp_path / "notebook.pth"
    torch.save(state, path)
    return model, path


def stylized(tmp_path: Path, name: str, *flags: str) -> torch.Tensor:
    out = tmp_path / name
    summary = infer.stylize(
        [
            "--content",
            str(tmp_path / "content.png"),
            "--style",
            str(tmp_path / "style.png"),
            "--out",
            str(out),
            "--alpha",
            str(ALPHA),
            "--device",
            "cpu",
            *flags,
        ]
    )
    assert not summary["failed"] and len(summary["written"]) == 1
    return read_png(summary["written"][0])


CASES = {  # scheme, stage widths, affine InstanceNorm, saved from nn.DataParallel
    "notebook_widths": ("sequential", (512, 256, 128, 64), False, True),
    "named_stages": ("named", (40, 40, 24, 8), True, False),
    "convs_before_norms": ("convs_first", (64, 32, 16, 8), True, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_infer_and_converted_release_reproduce_the_notebook(tmp_path, case):
    scheme, widths, affine, wrap = CASES[case]
    model, checkpoint = notebook_file(tmp_path, scheme, widths, affine, wrap)
    content, style = (
        write_png(tmp_path / "content.png", 224, 224, 1),
        write_png(tmp_path / "style.png", 224, 224, 2),
    )
    expected = quantized(notebook_image(model, content, style, ALPHA))
    assert expected.std() > 0.03  # a real image, not a constant that any pipeline would match

    config = notebook_config(tmp_path)
    direct = stylized(tmp_path, "direct", "--config", str(config), "--checkpoint", str(checkpoint))
    assert (direct - expected).abs().max() <= TOL

    release = convert(
        [
            "--from",
            "vit-notebook",
            "--checkpoint",
            str(checkpoint),
            "--config",
            str(config),
            "--out",
            str(tmp_path / "release.safetensors"),
        ]
    )
    # random ViT weights are no library download: the file holds them
    with safe_open(str(release), "pt") as f:
        assert (
            any(k.startswith("encoder.") for k in f.keys())
            and '"output": "tanh"' in f.metadata()["model_config"]
        )
    converted = stylized(tmp_path, "converted", "--checkpoint", str(release))  # no other flag
    assert (converted - expected).abs().max() <= TOL


def test_decoder_widths_and_affinity_are_read_from_the_file(tmp_path):
    _, checkpoint = notebook_file(tmp_path, "named", (40, 40, 24, 8), True, False)
    cfg = load_model(checkpoint, _tiny_notebook_model(tmp_path)).cfg.decoder
    assert (cfg.widths, cfg.norm_affine, cfg.output) == ([40, 40, 24, 8], True, "tanh")


def _tiny_notebook_model(tmp_path):
    from configs.read import load_config

    return load_config(notebook_config(tmp_path)).model


def test_an_ambiguous_order_is_refused_listing_both_sides(tmp_path):
    # three stages of equal shape, defined out of forward order: which norm belongs to which stage
    # is a guess
    _, checkpoint = notebook_file(tmp_path, "convs_first", (32, 32, 32, 32), True, True)
    with pytest.raises(
        CheckpointError,
        match=r"neither by name nor by module order.*File: decoder\.deconvs\.0 .*"
        r"Model: decoder\.layers\.0 ",
    ):
        load_model(checkpoint, _tiny_notebook_model(tmp_path))


class _RunsCode:
    """Unpickling this calls open(marker, "w"): a file that exists afterwards proves code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_wrong_files_fail_naming_the_problem_and_run_nothing(tmp_path, capsys):
    model_cfg = _tiny_notebook_model(tmp_path)
    _, checkpoint = notebook_file(tmp_path, "sequential", (64, 32, 16, 8), False, True)

    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_model(truncated, model_cfg)

    marker, evil = tmp_path / "code_ran", tmp_path / "evil.pth"
    torch.save({"decoder.weight": _RunsCode(marker)}, evil)
    with pytest.raises(CheckpointError, match=r"refers to code \(io\.open\).*nothing was executed"):
        load_model(evil, model_cfg)
    assert not marker.exists()

    # another architecture: a VGG mirror decoder's file under the notebook's config, through the CLI
    other = tmp_path / "other.pth"
    torch.save({f"decoder.layers.{i}.1.weight": torch.zeros(8, 8, 3, 3) for i in range(3)}, other)
    write_png(tmp_path / "c.png", 32, 32, 3)
    code = infer.main(
        [
            "--config",
            str(notebook_config(tmp_path)),
            "--checkpoint",
            str(other),
            "--content",
            str(tmp_path / "c.png"),
            "--style",
            str(tmp_path / "c.png"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert (
        "not a transposed-conv decoder: 0 ConvTranspose2d(k=4) weights" in err
        and "decoder.layers.0.1" in err
    )
    assert not os.path.exists(tmp_path / "o")
