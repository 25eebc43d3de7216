"""File-system helpers every writer uses: the one atomic write (of a file, or of a folder) and the
one file-name sanitizer."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Temp files of atomic writes end with this; prepare.py removes leftovers of interrupted runs.
TEMP_SUFFIX = ".partial"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path in the destination's folder; rename it onto `path` only on success.

    Readers never see a half-written file and an interrupted write leaves only a `*.partial` file.
    The file gets the mode a plain open() would give it (0666 minus the umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp folder beside `path`; rename it onto `path` only on success (an empty folder
    there is replaced), so a reader never sees half a folder and a failure leaves nothing. The
    folder gets mkdir's mode (0777 minus the umask), not mkdtemp's 0700."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            path.rmdir()  # only an empty folder: the callers refuse a full one first
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to `path` atomically (see atomic_path); returns the path."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
    return Path(path)


def safe_filename(name: str, default: str = "file") -> str:
    """`name` with every run of characters other than Unicode letters, digits and `._-` replaced by
    '_', without leading or trailing dots/underscores (a leading dot would make a hidden file that
    looks like a temp file). `日本.jpg` keeps its letters: names of non-Latin scripts must not all
    become `default`."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or default
