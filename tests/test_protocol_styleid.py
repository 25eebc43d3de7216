"""`python -m eval.styleid styleid`: stylize content x style per method under StyleID's names
through
infer.stylize, measure each; resumable (same settings reused, other settings refused) and
deterministic."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import vary_outputs
from PIL import Image
from protocol_helpers import make_set

from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from eval.styleid.command import main
from models.net import StyleTransferNet
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")
PLUGIN = Path(__file__).parent / "plugins" / "dummy_plugin.py"


def release(path: Path) -> str:
    torch.manual_seed(0)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
    vary_outputs(net)
    return str(save_release(path, net))


def styleid(folders: dict[str, Path], out: Path, *methods: str) -> tuple[int, list[dict], str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(
            [
                "styleid",
                "--content",
                str(folders["content"]),
                "--style",
                str(folders["style"]),
                "--out",
                str(out),
                "--weights",
                "random",
                "--metric-weights",
                "random",
                "--resize",
                "80",
                "--device",
                "cpu",
                *methods,
            ]
        )
    rows = (
        list(csv.DictReader(open(out / "metrics.csv"))) if (out / "metrics.csv").is_file() else []
    )
    return code, rows, err.getvalue()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("styleid")
    folders = make_set(root, contents=2, styles=2, size=48)
    checkpoint = release(root / "vgg.safetensors")
    methods = [
        "--checkpoint",
        checkpoint,
        "--transform",
        "wct",
        "swap_mean",
        "--plugins",
        str(PLUGIN),
        "--method",
        "optimize",
        "--steps",
        "2",
    ]
    code, rows, err = styleid(folders, root / "out", *methods)
    return root, folders, methods, code, rows, err


def test_outputs_under_styleid_names_and_a_row_per_method(first_run):
    root, _, _, code, rows, err = first_run
    assert code == 0, err
    assert [r["method"] for r in rows] == ["vgg", "vgg_wct", "vgg_swap_mean", "optimize"]
    for label in ("vgg", "vgg_wct", "vgg_swap_mean", "optimize"):
        names = sorted(p.name for p in (root / "out" / label).glob("*.png"))
        assert names == [f"c{i}_stylized_s{j}.png" for i in range(2) for j in range(2)]
        assert (root / "out" / label / "settings.json").is_file()
    for row in rows:
        assert (
            row["images"] == "4"
            and float(row["s_per_image"]) > 0
            and float(row["peak_memory_mib"]) >= 0
        )
        assert row["cfsd"] != "" and float(row["artfid"]) >= 1
    # a transform changes the pictures: the rows differ
    assert rows[0]["content_loss"] != rows[1]["content_loss"] != rows[2]["content_loss"]
    assert "RANDOM WEIGHTS" in (root / "out" / "metrics.md").read_text()


def test_rerun_reuses_outputs_and_refuses_other_settings(first_run):
    root, folders, methods, _, rows, _ = first_run
    out = root / "out"
    stamps = {
        p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.suffix in (".png",)
    }
    timing = {p: p.stat().st_mtime_ns for p in out.glob("*/timing.json")}
    changed = [
        m if m != "2" else "3" for m in methods
    ]  # the optimization with 3 steps: other settings
    code, again, err = styleid(folders, out, *changed)
    assert code == 1
    lines = [line for line in err.splitlines() if "holds outputs of other settings" in line]
    assert len(lines) == 1 and lines[0].startswith("optimize:")
    assert again == rows[:3]  # same numbers, same stored timing: nothing recomputed
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert {p: p.stat().st_mtime_ns for p in timing} == timing


def test_deterministic_fresh_run(first_run):
    root, folders, methods, _, rows, _ = first_run
    code, fresh, err = styleid(folders, root / "fresh", *methods[:2])
    assert code == 0, err
    for path in (root / "out" / "vgg").glob("*.png"):
        # pixels, not bytes: infer.py writes its options (--plugins differs) into a PNG text chunk
        fresh_pixels = np.asarray(Image.open(root / "fresh" / "vgg" / path.name))
        assert np.array_equal(fresh_pixels, np.asarray(Image.open(path)))
    assert {k: v for k, v in fresh[0].items() if k not in ("s_per_image", "peak_memory_mib")} == {
        k: v for k, v in rows[0].items() if k not in ("s_per_image", "peak_memory_mib")
    }


def test_offline_metric_weights_fail_fast_one_note_each_and_progress(tmp_path, monkeypatch):
    """Offline (HF_HUB_OFFLINE set after huggingface_hub was imported) with no metric weights and
    two methods: no download is tried, each missing network is one note (stderr and metrics.md)
    naming its file and --metric-weights random, and every phase shows a progress bar."""
    import tempfile

    import huggingface_hub
    import huggingface_hub.constants as hub

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", False)  # the library read the variable at import
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    downloads = []
    monkeypatch.setattr(
        huggingface_hub, "hf_hub_download", lambda *a, **k: downloads.append(a) or 1 / 0
    )
    folders = make_set(tmp_path, contents=1, styles=1, size=48)
    checkpoint = release(tmp_path / "vgg.safetensors")
    methods = ("--checkpoint", checkpoint, "--transform", "mean", "--metric-weights", "pretrained")
    code, rows, err = styleid(folders, tmp_path / "out", *methods)
    assert code == 1 and [r["method"] for r in rows] == ["vgg", "vgg_mean"], err
    assert not downloads, downloads
    empty = [line for line in err.splitlines() if "left empty" in line]
    assert len(empty) == 3 and all(line.startswith("note: ") for line in empty), err
    assert all("--metric-weights random" in line for line in empty), empty
    art = [line for line in empty if "art_inception" in line]
    assert len(art) == 1 and "art_inception.pth" in art[0] and "HF_HUB_OFFLINE" in art[0], art
    assert any("vgg19-dcbb9e9d.pth" in line for line in empty), empty
    table = (tmp_path / "out" / "metrics.md").read_text()
    assert all(table.count(line.removeprefix("note: ")) == 1 for line in empty), table
    for bar in ("methods", "metric networks", "metrics vgg_mean"):
        assert f"{bar}: 100%" in err, (bar, err)


def test_a_resize_too_small_for_fid_is_one_line_before_any_work(tmp_path, capsys):
    """--resize under Inception v3's least side is refused at the flags (exit 2, one line), not
    a convolution's traceback after every method has stylized."""
    from eval.styleid.command import main

    args = ["metrics", "--stylized", str(tmp_path), "--content", str(tmp_path)]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--style", str(tmp_path), "--out", str(tmp_path / "out"), "--resize", "64"])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1, err
    assert "--resize 64" in err and "75" in err, err
    assert not (tmp_path / "out").exists()
