"""What raw datasets hold: every file of the input folders as a Source (side, split, output name).

Directory links are listed, never followed (media.discover); splits of plain folders come from a
hash of the relative path, so adding files never moves existing ones between train and val.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from data_prep.datasets import stable_hash
from media.discover import scan_folder
from media.files import safe_filename
from media.images import is_image_file

SIDES = ("content", "style")
SPLITS = ("train", "val", "test")
AVATAR_FOLDERS = {"content": "CelebA", "style": "AnimeFace"}


@dataclass(frozen=True)
class Source:
    """One input file: where it goes (side, split) and its path relative to the split/side root."""

    side: str
    split: str
    path: Path
    rel: str  # relative path that names the output, e.g. "a/b/img.jpg"
    source: str  # path recorded in the manifest, relative to the input root
    # why it is not an input at all (a directory link, a broken link, a second link to a file)
    skip: str = ""


def _files(folder: Path) -> list[tuple[Path, str]]:
    """(path, skip reason or "") for every entry below folder; directory links are listed, never
    followed."""
    found = scan_folder(folder)
    # files with other extensions stay sources: they are decoded-or-dropped like any file ("not an
    # image")
    entries = [(p, "") for p in found.files] + [
        (p, "" if r.startswith("not an image") else r) for p, r in found.skipped
    ]
    return sorted(entries)


def split_of(rel: str, val_fraction: float, test_fraction: float) -> str:
    """Deterministic split of a relative path: a hash, so adding files never moves existing ones."""
    u = stable_hash("split", rel) / 2**63
    if u < test_fraction:
        return "test"
    return "val" if u < test_fraction + val_fraction else "train"


def collect_avatar_anime(root: Path) -> list[Source]:
    """Sources of the Kaggle AvatarAnime layout `ROOT/{CelebA,AnimeFace}/{train,val,test}/`."""
    sources = []
    for side, folder in AVATAR_FOLDERS.items():
        if not (root / folder / "train").is_dir():
            raise FileNotFoundError(
                f"--avatar-anime {root}: no folder {root / folder / 'train'}; give the folder "
                "that holds CelebA/ and AnimeFace/ (each with train/, val/, test/ of *.jpg)"
            )
        for split in SPLITS:
            split_dir = root / folder / split
            if split_dir.is_dir():
                sources += [
                    Source(
                        side,
                        split,
                        p,
                        p.relative_to(split_dir).as_posix(),
                        p.relative_to(root).as_posix(),
                        skip,
                    )
                    for p, skip in _files(split_dir)
                ]
    return sources


def collect_folders(
    content: Path, style: Path, val_fraction: float, test_fraction: float
) -> list[Source]:
    """Sources of two plain folders (nested allowed), split by a hash of the relative path."""
    sources = []
    for side, folder in (("content", content), ("style", style)):
        if not folder.is_dir():
            raise FileNotFoundError(
                f"--{side} {folder}: no such folder; give the folder of {side} images "
                "(nested folders are fine)"
            )
        for p, skip in _files(folder):
            rel = p.relative_to(folder).as_posix()
            sources.append(
                Source(side, split_of(rel, val_fraction, test_fraction), p, rel, rel, skip)
            )
    return sources


def plan_outputs(sources: list[Source], resize: int | None) -> list[str | None]:
    """Unique flattened output paths (relative to OUT), None for non-image files.

    `a/b/img.jpg` -> `content/train/a__b__img.jpg`. With `resize`, non-PNG outputs are JPEG files.
    Collisions (after sanitizing or changing the extension) get a hash of the source appended.
    """
    used: set[str] = set()
    outputs: list[str | None] = []
    for s in sources:
        if s.skip or not is_image_file(s.path):
            outputs.append(None)
            continue
        suffix = s.path.suffix.lower()
        suffix = (
            ".jpg" if suffix == ".jpeg" or (resize is not None and suffix != ".png") else suffix
        )
        stem = "__".join(safe_filename(p, "_") for p in Path(s.rel).with_suffix("").parts)
        name = f"{s.side}/{s.split}/{stem}{suffix}"
        if name.lower() in used:  # lower(): case-insensitive file systems would merge these
            name = f"{s.side}/{s.split}/{stem}-{stable_hash(s.source) % 16**8:08x}{suffix}"
        used.add(name.lower())
        outputs.append(name)
    return outputs
