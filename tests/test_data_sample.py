"""data_prep.sample and data_prep.sample_clip as commands: the shared data/sample is never
rewritten at another size behind the user's back; a clip is made with documented flags and says so.
"""

from __future__ import annotations

import json

import av
import pytest

from data_prep import sample, sample_clip


def test_another_size_goes_to_its_own_folder_and_never_overwrites_silently(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    sample.main(["--size", "40"])
    assert json.loads((tmp_path / "data/sample_40/manifest.json").read_text())["options"] == {
        "sample_size": 40
    }
    assert not (tmp_path / "data/sample").exists()
    capsys.readouterr()
    before = (tmp_path / "data/sample_40/manifest.json").read_bytes()
    with pytest.raises(SystemExit) as stop:
        sample.main(["--size", "48", "--out", "data/sample_40"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1, err
    assert "data/sample_40 holds the 40 px sample set" in err and "--overwrite" in err, err
    assert (tmp_path / "data/sample_40/manifest.json").read_bytes() == before
    sample.main(["--size", "48", "--out", "data/sample_40", "--overwrite"])
    manifest = json.loads((tmp_path / "data/sample_40/manifest.json").read_text())
    assert manifest["options"] == {"sample_size": 48}


def test_sample_clip_writes_the_named_clip_and_says_so(tmp_path, capsys):
    out = tmp_path / "clips" / "clip.mp4"
    sample_clip.main([str(out), "--frames", "3", "--size", "32", "24", "--no-audio"])
    assert capsys.readouterr().out == f"wrote {out} (3 frames, 32x24, 24 fps)\n"
    with av.open(str(out)) as container:
        assert [s.type for s in container.streams] == ["video"]
        assert sum(1 for _ in container.decode(video=0)) == 3
    with pytest.raises(SystemExit) as stop:
        sample_clip.main([str(tmp_path / "clip.avi")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and "*.mp4" in err, err
