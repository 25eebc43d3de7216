"""Evaluation pairs: manifests in JSON and CSV, the deterministic default, and errors that name \
the file."""

import json

import pytest
import torch

from eval.pairs import ManifestError, default_pairs, read_pairs, write_pairs
from media.images import save_image


@pytest.fixture()
def root(tmp_path):
    for side, names in (("content", ("b", "a")), ("style", ("y", "x", "z"))):
        for name in names:
            save_image(torch.rand(3, 16, 16), tmp_path / side / "val" / f"{name}.png")
    return tmp_path


def test_default_is_sorted_cross_product(root):
    pairs = default_pairs(root)
    assert [(p.content.stem, p.style.stem) for p in pairs] == [
        (c, s) for c in ("a", "b") for s in ("x", "y", "z")
    ]


def test_json_and_csv_manifests_round_trip(root):
    (root / "m.csv").write_text("content,style\ncontent/val/a.png,style/val/z.png\n")
    (root / "m.json").write_text(
        json.dumps([{"content": "content/val/b.png", "style": "style/val/x.png"}])
    )
    assert [p.style.stem for p in read_pairs(root / "m.csv")] == ["z"]
    assert [p.content.stem for p in read_pairs(root / "m.json")] == ["b"]
    pairs = default_pairs(root)
    assert read_pairs(write_pairs(pairs, root / "out" / "pairs.json")) == pairs


def test_errors_name_the_file_and_entry(root, tmp_path):
    (root / "bad.json").write_text(
        json.dumps({"pairs": [{"content": "nope.png", "style": "style/val/x.png"}]})
    )
    with pytest.raises(ManifestError, match=r"bad.json: pair 0 content .*nope.png does not exist"):
        read_pairs(root / "bad.json")
    (root / "bad.csv").write_text("c,s\n1,2\n")
    with pytest.raises(ManifestError, match="'content' and 'style' columns"):
        read_pairs(root / "bad.csv")
    with pytest.raises(ManifestError, match="data_prep.sample"):
        default_pairs(tmp_path / "empty")
