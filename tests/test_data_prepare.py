"""Dataset preparation (AvatarAnime and plain folders) and the offline sample set."""

import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from data_prep.prepare import main, prepare
from data_prep.sample import build_sample
from data_prep.sources import split_of
from media.images import list_images, read_image


def _img(path, w, h, seed=0, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    Image.fromarray(arr, mode="RGBA").convert(mode).save(path)


@pytest.fixture
def avatar(tmp_path):
    """A tiny AvatarAnime-shaped tree with broken files mixed in."""
    root = tmp_path / "AvatarAnime"
    train = root / "CelebA" / "train"
    _img(train / "good1.jpg", 80, 70, 1)
    _img(train / "good2.png", 90, 80, 2, mode="RGBA")
    _img(train / "nested" / "sub.jpg", 70, 70, 3)
    _img(train / "tiny.jpg", 40, 30, 4)
    buf = io.BytesIO()
    Image.new("RGB", (96, 96), (1, 2, 3)).save(buf, format="JPEG")
    (train / "trunc.jpg").write_bytes(buf.getvalue()[:300])
    (train / "fake.jpg").write_text("hello, not a jpeg")
    (train / "notes.txt").write_text("readme")
    _img(root / "CelebA" / "val" / "v1.jpg", 64, 64, 5)
    _img(root / "AnimeFace" / "train" / "s1.jpg", 72, 72, 6)
    _img(root / "AnimeFace" / "train" / "s2.jpg", 96, 64, 7)
    _img(root / "AnimeFace" / "test" / "t1.jpg", 64, 80, 8)  # no AnimeFace/val: allowed
    return root


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def _snapshot(out):
    return {
        p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()
    }


def test_avatar_anime_layout_and_manifest(avatar, tmp_path):
    out = tmp_path / "prepared"
    manifest = prepare(out, avatar_anime=avatar, progress=False, workers=2)
    assert _names(out / "content" / "train") == ["good1.jpg", "good2.png", "nested__sub.jpg"]
    assert _names(out / "content" / "val") == ["v1.jpg"]
    assert _names(out / "style" / "train") == ["s1.jpg", "s2.jpg"]
    assert _names(out / "style" / "test") == ["t1.jpg"]
    assert _names(out / "style" / "val") == []
    # without --resize originals are copied byte for byte
    assert (out / "content/train/good1.jpg").read_bytes() == (
        avatar / "CelebA/train/good1.jpg"
    ).read_bytes()

    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    by_source = {f["source"]: f for f in manifest["files"]}
    assert len(by_source) == 11  # every source file is listed, kept or dropped
    reasons = {s: f["reason"] for s, f in by_source.items() if f["status"] == "dropped"}
    assert set(reasons) == {
        "CelebA/train/" + n for n in ["tiny.jpg", "trunc.jpg", "fake.jpg", "notes.txt"]
    }
    assert reasons["CelebA/train/tiny.jpg"] == "too small: 40x30 < 64"
    assert reasons["CelebA/train/trunc.jpg"].startswith("unreadable: truncated")
    assert reasons["CelebA/train/fake.jpg"].startswith("unreadable: not an image")
    assert reasons["CelebA/train/notes.txt"] == "not an image extension"
    kept = by_source["CelebA/train/good2.png"]
    assert (kept["output"], kept["width"], kept["height"]) == ("content/train/good2.png", 90, 80)
    assert kept["bytes"] == (out / kept["output"]).stat().st_size
    assert manifest["summary"]["content"]["train"] == {"kept": 3, "dropped": 4}
    assert manifest["summary"]["style"]["test"] == {"kept": 1, "dropped": 0}


def test_rerun_is_idempotent_and_cleans_leftovers(avatar, tmp_path):
    out = tmp_path / "prepared"
    first = prepare(out, avatar_anime=avatar, progress=False)
    manifest_bytes = (out / "manifest.json").read_bytes()
    for p in out.rglob("*"):  # old mtimes: a rewrite is visible even on coarse-clock file systems
        os.utime(p, ns=(10**18, 10**18))
    before = _snapshot(out)
    # an interrupted earlier run left a temp file behind
    leftover = out / "content" / "train" / ".good1.jpg.x1y2.partial"
    leftover.write_bytes(b"half")
    assert prepare(out, avatar_anime=avatar, progress=False) == first
    assert not leftover.exists()
    assert _snapshot(out) == before  # nothing rewritten: same files, same mtimes
    assert (out / "manifest.json").read_bytes() == manifest_bytes
    # a touched source is decoded again, but identical output bytes are not rewritten
    src = avatar / "CelebA" / "train" / "good1.jpg"
    src.touch()
    prepare(out, avatar_anime=avatar, progress=False)
    assert (out / "content/train/good1.jpg").stat().st_mtime_ns == before["content/train/good1.jpg"]
    # other options: outputs that are no longer kept are removed, not left for training to find
    m = prepare(out, avatar_anime=avatar, min_size=75, progress=False)
    assert not (out / "content/train/good1.jpg").exists()
    assert {f["source"]: f for f in m["files"]}["CelebA/train/good1.jpg"][
        "reason"
    ] == "too small: 80x70 < 75"


def test_avatar_anime_requires_train(tmp_path):
    (tmp_path / "AA" / "CelebA" / "val").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="CelebA.train"):
        prepare(tmp_path / "out", avatar_anime=tmp_path / "AA", progress=False)


def test_plain_folders_nested_resize_and_split(tmp_path):
    content, style = tmp_path / "coco", tmp_path / "wikiart"
    _img(content / "a" / "b" / "img.jpg", 200, 100, 1)
    _img(content / "a" / "img2.png", 150, 120, 2)
    _img(content / "top.webp", 120, 90, 3)
    _img(content / "small.jpg", 50, 40, 4)  # above min-size, below --resize: copied, never upscaled
    for i in range(16):
        _img(style / f"artist{i % 3}" / f"p {i}.jpg", 80, 96, 10 + i)
    out = tmp_path / "prep"
    m = prepare(
        out,
        content=content,
        style=style,
        resize=64,
        min_size=32,
        val_fraction=0.3,
        test_fraction=0.2,
        progress=False,
    )
    files = {f["source"]: f for f in m["files"]}
    assert all(f["status"] == "kept" for f in files.values())
    for f in files.values():  # splits are the documented hash of the relative path
        assert f["split"] == split_of(f["source"], 0.3, 0.2)
        assert f["output"].startswith(f"{f['side']}/{f['split']}/")
    assert {f["split"] for f in files.values() if f["side"] == "style"} == {"train", "val", "test"}
    nested = files["a/b/img.jpg"]
    assert nested["output"].endswith("/a__b__img.jpg") and (nested["width"], nested["height"]) == (
        128,
        64,
    )
    png = files["a/img2.png"]
    assert (
        png["output"].endswith("/a__img2.png") and Image.open(out / png["output"]).format == "PNG"
    )
    webp = files["top.webp"]
    assert webp["output"].endswith("/top.jpg") and Image.open(out / webp["output"]).format == "JPEG"
    assert (webp["width"], webp["height"]) == (85, 64)
    small = files["small.jpg"]
    assert (out / small["output"]).read_bytes() == (content / "small.jpg").read_bytes()
    assert files["artist1/p 1.jpg"]["output"].endswith("/artist1__p_1.jpg")  # sanitized
    for f in files.values():
        assert read_image(out / f["output"]).size == (f["width"], f["height"])
    n_images = sum(len(list_images(out / side)) for side in ("content", "style"))
    assert n_images == len(files) == 20


def test_main_cli_prints_summary(avatar, tmp_path, capsys):
    out = tmp_path / "cli"
    main(["--avatar-anime", str(avatar), "--out", str(out), "--resize", "64", "--workers", "1"])
    text = capsys.readouterr().out
    assert "content train  kept       3  dropped      4" in text
    assert "too small" in text
    assert read_image(out / "content/train/good1.jpg").size == (73, 64)
    with pytest.raises(SystemExit):
        main(["--avatar-anime", str(avatar), "--content", str(avatar), "--out", str(out)])


def test_sample_set_layout_and_determinism(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    manifest = build_sample(a, size=48)
    build_sample(b, size=48)
    for side in ("content", "style"):
        assert len(list_images(a / side / "train")) >= 3
        assert len(list_images(a / side / "val")) >= 2
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)
    for f in manifest["files"]:
        if f["status"] == "kept":
            img = read_image(a / f["output"])
            assert min(img.size) == 48 and img.size == (f["width"], f["height"])
    # styles look different from contents: the generated textures are not near-constant images
    stripes = np.asarray(read_image(a / "style/train/stripes.jpg"), dtype=float)
    assert stripes.std() > 40
