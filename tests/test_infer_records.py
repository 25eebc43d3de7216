"""infer.py: an output records the settings that made it; a file that is not a checkpoint is a short
line.
"""

from __future__ import annotations

import pytest
from PIL import Image

import infer
from media.images import read_settings


@pytest.fixture
def pair(tmp_path):
    for name, color in (("photo.png", (200, 30, 30)), ("art.png", (20, 40, 220))):
        Image.new("RGB", (32, 32), color).save(tmp_path / name)
    return tmp_path / "photo.png", tmp_path / "art.png"


def test_an_opt_hash_output_records_its_settings(pair, tmp_path, one_thread):
    content, style = pair
    code = infer.main(
        [
            "--method",
            "optimize",
            "--weights",
            "random",
            "--content",
            str(content),
            "--style",
            str(style),
            "--steps",
            "2",
            "--style-loss",
            "mean_std",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    (out,) = (tmp_path / "out").glob("photo__art__opt-*.png")
    settings = read_settings(out)
    assert (
        settings["method"] == "optimize"
        and settings["steps"] == [2]
        and settings["style_loss"] == "mean_std"
    )
    assert settings["content"] == str(content) and settings["style"] == [str(style)]


@pytest.mark.parametrize(
    "name, data", [("junk.pth", b"not a checkpoint at all" * 20), ("junk.safetensors", b"hello")]
)
def test_a_file_that_is_not_a_checkpoint_is_a_short_line(pair, tmp_path, capsys, name, data):
    (tmp_path / name).write_bytes(data)
    code = infer.main(
        [
            "--checkpoint",
            str(tmp_path / name),
            "--content",
            str(pair[0]),
            "--style",
            str(pair[1]),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert (
        code == 2
        and err.count("\n") == 1
        and len(err.replace(str(tmp_path), "")) < 200
        and "weights_only" not in err
    ), err
    assert f"{tmp_path / name} is not a" in err and "step folder" in err
