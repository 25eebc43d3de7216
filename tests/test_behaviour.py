"""bench/behaviour.py, the before/after record of a fixed command set: a file's hash is its content
(pixels, tensors), not its bytes, and a compare names every difference."""

from __future__ import annotations

import torch
from PIL import Image, PngImagePlugin
from safetensors.torch import save_file

from bench.behaviour import compare, content_hash


def test_a_png_hashes_by_pixels_not_by_its_text_chunks(tmp_path):
    im = Image.new("RGB", (4, 3), (10, 20, 30))
    info = PngImagePlugin.PngInfo()
    info.add_text("settings", "written at another time")
    im.save(tmp_path / "a.png")
    im.save(tmp_path / "b.png", pnginfo=info)
    im.putpixel((0, 0), (10, 20, 31))
    im.save(tmp_path / "c.png")
    assert content_hash(tmp_path / "a.png") == content_hash(tmp_path / "b.png")
    assert content_hash(tmp_path / "a.png") != content_hash(tmp_path / "c.png")


def test_safetensors_hash_by_tensors_not_metadata(tmp_path):
    t = {"w": torch.arange(6.0).reshape(2, 3)}
    save_file(t, tmp_path / "a.safetensors", metadata={"time": "1"})
    save_file(t, tmp_path / "b.safetensors", metadata={"time": "2"})
    save_file({"w": t["w"] + 1e-7}, tmp_path / "c.safetensors")
    assert content_hash(tmp_path / "a.safetensors") == content_hash(tmp_path / "b.safetensors")
    assert content_hash(tmp_path / "a.safetensors") != content_hash(tmp_path / "c.safetensors")


def test_compare_names_exit_codes_files_and_missing_commands():
    before = {
        "a": {"exit_code": 0, "files": {"x.png": "1", "y.png": "2", "events.1": "not compared"}},
        "b": {"exit_code": 0, "files": {}},
    }
    assert compare(before, before) == []
    after = {
        "a": {"exit_code": 1, "files": {"x.png": "1", "y.png": "3", "z.png": "4"}},
        "c": {"exit_code": 0, "files": {}},
    }
    lines = compare(before, after)
    assert "a: exit code 0 -> 1" in lines
    assert any(line.startswith("a: y.png differs") for line in lines)
    assert any(line.startswith("a: z.png differs") for line in lines)
    assert "b: only in before" in lines and "c: only in after" in lines
    assert not any("x.png" in line or "events" in line for line in lines)  # timings: not compared
