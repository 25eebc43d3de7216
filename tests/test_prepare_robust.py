"""data_prep.prepare under bad input: every file in the manifest with a verdict, links listed, \
inputs unchanged."""

import os

import awkward
import pytest

from data_prep.prepare import main, prepare


def test_awkward_folder_every_entry_accounted_for(tmp_path):
    expect = awkward.build(tmp_path)
    (tmp_path / "style").mkdir()
    for name in ("a.png", "b.png"):
        os.link(tmp_path / "awkward" / "plain.png", tmp_path / "style" / name)
    before = awkward.checksums(tmp_path / "awkward")
    manifest = prepare(
        tmp_path / "out",
        content=tmp_path / "awkward",
        style=tmp_path / "style",
        min_size=1,
        progress=False,
    )
    files = {f["source"]: f for f in manifest["files"] if f["side"] == "content"}
    assert set(files) == set(expect)  # every entry of the folder, nothing twice
    for name, kind in expect.items():
        status = files[name]["status"]
        assert status == ("kept" if kind == "ok" else "dropped"), (name, files[name])
        if kind == "link":
            assert "directory link" in files[name]["reason"]
    kept = [f["output"] for f in files.values() if f["status"] == "kept"]
    assert len(kept) == len(set(kept)) == sum(k == "ok" for k in expect.values())
    assert awkward.checksums(tmp_path / "awkward") == before


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--resize", "0"], "--resize"),
        (["--resize", "32"], "--min-size"),
        (["--min-size", "0"], "--min-size"),
    ],
)
def test_resize_and_min_size_are_validated(tmp_path, capsys, argv, needle):
    (tmp_path / "c").mkdir(), (tmp_path / "s").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "--content",
                str(tmp_path / "c"),
                "--style",
                str(tmp_path / "s"),
                "--out",
                str(tmp_path / "o"),
                *argv,
            ]
        )
    assert exit_info.value.code == 2 and needle in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
