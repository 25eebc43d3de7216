"""media/files.atomic_folder, the one atomic folder write (ONNX exports, their int8 copies): a
reader sees the whole folder or none, a failure leaves nothing behind."""

from __future__ import annotations

import os

import pytest

from media.files import _umask, atomic_folder


def test_the_folder_appears_whole_with_mkdirs_mode(tmp_path):
    out = tmp_path / "export"
    with atomic_folder(out) as tmp:
        (tmp / "a.onnx").write_text("x")
        assert not out.exists()  # nothing visible until the block ends
    assert (out / "a.onnx").read_text() == "x"
    assert os.stat(out).st_mode & 0o777 == 0o777 & ~_umask()
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_a_failure_leaves_nothing_and_an_empty_target_is_replaced(tmp_path):
    out = tmp_path / "export"
    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "a.onnx").write_text("x")
        raise RuntimeError("graph check failed")
    assert list(tmp_path.iterdir()) == []
    out.mkdir()
    with atomic_folder(out) as tmp:
        (tmp / "b.onnx").write_text("y")
    assert [p.name for p in out.iterdir()] == ["b.onnx"]
