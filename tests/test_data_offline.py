"""The offline training set (data_prep.offline): deterministic, held out, readable by training."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from configs.schema import DataConfig
from data_prep.offline import build_offline, main
from eval.pairs import read_pairs
from training.data import training_datasets, validation_images

SIZE = 32  # val short side; train images are 48 px (1.5x), enough for 32 px crops
KINDS = {
    "brush",
    "mosaic",
    "ink",
    "pointillism",
    "stained_glass",
    "cubist",
    "watercolour",
    "woodcut",
}
# (side, split) -> images: 5 + 2 colour photos; 5 bundled styles + 8 kinds x 6 seeds; 1 + 5 held out
COUNTS = {
    ("content", "train"): 11,
    ("content", "val"): 2,
    ("style", "train"): 53,
    ("style", "val"): 6,
}
# Pixel std (0-255) that every image clears: the darkest real style, the Hubble deep field, has
# 12.6 at 32 px; the paintings clear a higher bar (their lowest is 32, a pastel mosaic).
MIN_STD, MIN_STD_PAINTING = 10.0, 25.0


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("offline")
    return out, build_offline(out, size=SIZE, progress=False)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_two_builds_write_identical_files(built, tmp_path, capsys):
    out, _ = built
    main(["--out", str(tmp_path), "--size", str(SIZE)])  # the CLI path, in a fresh folder
    assert _files(tmp_path) == _files(out)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "content: train 11, val 2",
        "style: train 53, val 6",
        f"wrote {tmp_path} (val_pairs.json: every val content x val style)",
    ]
    # a rebuild in place rewrites nothing (write_if_changed keeps every mtime)
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    build_offline(tmp_path, size=SIZE, progress=False)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == mtimes


def test_layout_counts_and_manifest(built):
    out, manifest = built
    for (side, split), n in COUNTS.items():
        names = sorted(p.name for p in (out / side / split).iterdir())
        assert len(names) == n and all(name.endswith(".jpg") for name in names), (side, split)
        assert manifest["summary"][side][split] == {"kept": n, "dropped": 0}
    assert {f["output"] for f in manifest["files"]} | {"manifest.json", "val_pairs.json"} == set(
        _files(out)
    )
    assert all(f["source"] for f in manifest["files"])


def test_training_reads_it_unchanged(built):
    out, _ = built
    cfg = DataConfig(root=str(out), resize=48, crop=32)
    content, style = training_datasets(cfg)
    assert (len(content), len(style)) == (11, 53)
    assert content[(0, 1)].shape == style[(52, 1)].shape == (3, 32, 32)
    contents, styles = validation_images(cfg, n=4, size=32)
    assert contents.shape == (2, 3, 32, 32) and styles.shape == (4, 3, 32, 32)


def test_val_never_shares_a_source_with_train(built):
    _, manifest = built
    sources = {
        split: {f["source"] for f in manifest["files"] if f["split"] == split}
        for split in ("train", "val")
    }
    assert sources["train"].isdisjoint(sources["val"])
    paintings = [f for f in manifest["files"] if f["source"].startswith("painterly.")]
    palettes = {
        split: {
            f["source"].split("palette=")[1].rstrip(")") for f in paintings if f["split"] == split
        }
        for split in ("train", "val")
    }
    assert palettes["val"] and palettes["train"].isdisjoint(palettes["val"])
    # the two stereo views of the motorcycle are one scene: never split between train and val
    val_content = {
        f["source"] for f in manifest["files"] if f["side"] == "content" and f["split"] == "val"
    }
    assert not any("motorcycle" in s for s in val_content)
    val_style = {f["source"] for f in manifest["files"] if f["side"] == "style"} & sources["val"]
    assert any(not s.startswith("painterly.") for s in val_style)  # a real held-out style


def test_every_painterly_kind_in_train(built):
    _, manifest = built
    train = [
        f["source"] for f in manifest["files"] if f["side"] == "style" and f["split"] == "train"
    ]
    for kind in KINDS:
        assert sum(s.startswith(f"painterly.{kind}(") for s in train) == 6, kind


def test_images_are_rgb_sized_and_not_flat(built):
    out, manifest = built
    for f in manifest["files"]:
        with Image.open(out / f["output"]) as img:
            assert img.mode == "RGB", f["output"]
            assert min(img.size) == (SIZE if f["split"] == "val" else SIZE * 3 // 2), f["output"]
            std = np.asarray(img, dtype=float).std()
        painting = f["source"].startswith("painterly.")
        assert std > (MIN_STD_PAINTING if painting else MIN_STD), (f["output"], std)


def test_val_pairs_cross_every_val_content_with_every_val_style(built):
    out, _ = built
    pairs = read_pairs(out / "val_pairs.json")  # what `eval --pairs` reads
    raw = json.loads((out / "val_pairs.json").read_text())["pairs"]
    assert all(not Path(p["content"]).is_absolute() for p in raw)  # the folder can move
    expected = {
        (c.resolve(), s.resolve())
        for c in (out / "content" / "val").iterdir()
        for s in (out / "style" / "val").iterdir()
    }
    assert {(p.content, p.style) for p in pairs} == expected and len(pairs) == 12


def test_too_small_size_is_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(tmp_path), "--size", "4"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1 and not any(tmp_path.iterdir())
