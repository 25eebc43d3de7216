"""The content x style pairs an evaluation runs on: read from a manifest, or the deterministic \
default.

Manifest formats (paths relative to the manifest's folder, or absolute):

- JSON: `{"pairs": [{"content": "c/a.jpg", "style": "s/x.jpg"}, ...]}` or a bare list of such
  objects;
- CSV: a header row with `content,style` columns, one pair per row.

Without a manifest, the default is every content image of `data/sample/content/val` crossed with
every style image of `data/sample/style/val`, in sorted file-name order. The pairs actually used are
written to `<out>/pairs.json` (absolute paths) so the run can be repeated with
`--pairs <out>/pairs.json`. `pairs_grid` lays a method's outputs out as the content x style sheet
of these pairs (grid_<name>.png).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from media.grid import stylization_grid
from media.images import list_images

DEFAULT_ROOT = Path("data/sample")


@dataclass(frozen=True)
class Pair:
    content: Path
    style: Path


class ManifestError(ValueError):
    pass


def default_pairs(root: str | os.PathLike = DEFAULT_ROOT) -> list[Pair]:
    """Every `root/content/val` image x every `root/style/val` image, sorted (content-major)."""
    root = Path(root)
    folders = [root / "content" / "val", root / "style" / "val"]
    for folder in folders:
        if not folder.is_dir() or not list_images(folder):
            raise ManifestError(
                f"default evaluation pairs need images in {folder}; build the sample set with "
                "`python -m data_prep.sample`, or pass --pairs MANIFEST "
                "(JSON or CSV of content,style)"
            )
    contents, styles = (list_images(folder) for folder in folders)
    return [Pair(c.resolve(), s.resolve()) for c in contents for s in styles]


def _resolve(value: object, base: Path, manifest: Path, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ManifestError(f"{manifest}: {where} must be a non-empty path string, got {value!r}")
    path = Path(value) if Path(value).is_absolute() else base / value
    if not path.is_file():
        raise ManifestError(f"{manifest}: {where} {path} does not exist")
    return path.resolve()


def read_pairs(manifest: str | os.PathLike) -> list[Pair]:
    """Pairs from a JSON or CSV manifest (see the module docstring); errors name the file and
    entry."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise ManifestError(f"pairs manifest {manifest} does not exist")
    base = manifest.parent
    if manifest.suffix.lower() == ".csv":
        with open(manifest, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"content", "style"} <= set(reader.fieldnames):
                raise ManifestError(
                    f"{manifest}: CSV needs a header row with 'content' and 'style' columns, "
                    f"got {reader.fieldnames}"
                )
            rows = list(reader)
    else:
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ManifestError(
                f"{manifest}: not valid JSON ({err}); use JSON or a .csv file"
            ) from None
        rows = data.get("pairs") if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ManifestError(
                f'{manifest}: expected {{"pairs": [{{"content": ..., "style": ...}}, ...]}}'
            )
    if not rows:
        raise ManifestError(f"{manifest}: lists no pairs")
    return [
        Pair(
            _resolve(r.get("content"), base, manifest, f"pair {i} content"),
            _resolve(r.get("style"), base, manifest, f"pair {i} style"),
        )
        for i, r in enumerate(rows)
    ]


def write_pairs(pairs: list[Pair], path: str | os.PathLike) -> Path:
    """Write the pairs as a JSON manifest that `read_pairs` accepts (absolute paths)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"pairs": [{"content": str(p.content), "style": str(p.style)} for p in pairs]}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def unique(paths: list[Path]) -> list[Path]:
    """Distinct paths in first-seen order (the grid's rows/columns and the FID style set)."""
    return list(dict.fromkeys(paths))


def pairs_grid(
    pairs: list[Pair], images: dict[Path, torch.Tensor], outputs: torch.Tensor
) -> torch.Tensor:
    """Content x style sheet; a cell the pairs do not contain (a non-square manifest) stays grey."""
    contents, styles = unique([p.content for p in pairs]), unique([p.style for p in pairs])
    by_pair = {(p.content, p.style): out for p, out in zip(pairs, outputs)}
    blank = torch.full_like(outputs[0], 0.5)
    cells = [[by_pair.get((c, s), blank) for s in styles] for c in contents]
    return stylization_grid([images[c][0] for c in contents], [images[s][0] for s in styles], cells)
