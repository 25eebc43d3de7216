"""Finding input images: files, folders and glob patterns, never following directory links.

A recursive walk that follows directory symlinks loops forever on a link to a parent (one loop made
a run process the same image 21 times; two grew to 7 GB in a minute). Folders are walked with
os.walk(followlinks=False) and `**` patterns with pathlib (which does not follow them either); every
file is used once by its resolved path, and everything not used is reported with the reason, so a
folder's content is always fully accounted for.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from media.images import IMAGE_EXTENSIONS, is_image_file
from media.video import VIDEO_EXTENSIONS, is_video_file


@dataclass
class Found:
    """The image files an input expands to (and video files with `videos`), and every path it
    skipped with the reason."""

    videos: bool = False
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    _resolved: dict[Path, Path] = field(default_factory=dict, repr=False)

    def add(self, path: Path, named: bool = False) -> None:
        """Keep an image file unless the same file (by resolved path) is already kept; a file
        `named` explicitly is kept whatever its extension (the reader decides)."""
        if not path.exists():
            self.skipped.append((path, "broken link"))
            return
        if not named and not (is_image_file(path) or (self.videos and is_video_file(path))):
            known = IMAGE_EXTENSIONS | (VIDEO_EXTENSIONS if self.videos else set())
            kind = "an image or video" if self.videos else "an image"
            self.skipped.append((path, f"not {kind} file (extensions: {', '.join(sorted(known))})"))
            return
        real = path.resolve()
        if real in self._resolved:
            self.skipped.append((path, f"same file as {self._resolved[real]}"))
            return
        self._resolved[real] = path
        self.files.append(path)

    def extend(self, other: Found) -> None:
        for path in other.files:
            self.add(path, named=True)  # already chosen by `other`
        self.skipped += other.skipped


def scan_folder(folder: str | os.PathLike, videos: bool = False) -> Found:
    """Every file below `folder` (sorted), without descending into directory links (they are
    listed)."""
    found = Found(videos)
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            found.skipped.append((Path(root) / name, "directory link, not followed"))
        for name in sorted(files):
            found.add(Path(root) / name)
    return found


def expand_pattern(pattern: str, videos: bool = False) -> Found:
    """The files a glob pattern matches; `**` never follows directory links."""
    parts = Path(pattern).parts
    split = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    base = Path(*parts[:split]) if split else Path(".")
    found = Found(videos)
    for path in sorted(base.glob(str(Path(*parts[split:])))):
        if not path.is_dir():
            found.add(path)
    return found


def expand(value: str, videos: bool = False) -> Found:
    """A file, a folder (recursive) or a glob pattern -> Found; a missing path is FileNotFoundError.
    With `videos`, video files count as well as images."""
    path = Path(value)
    if path.is_dir():
        return scan_folder(path, videos)
    if path.is_file():
        found = Found(videos)
        found.add(path, named=True)
        return found
    if glob.has_magic(value):
        return expand_pattern(value, videos)
    raise FileNotFoundError(f"{value} does not exist")
