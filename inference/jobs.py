"""What an inference run will do: input files (files, folders, globs), output names, masks, checks.

Output names: `<content>__<style>.<fmt>`; `__a<alpha>` is appended when several alphas are given or the
one alpha is not 1; a mix of all styles is `<content>__mix-<s1>-<s2>...`, a masked run
`<content>__mask-<s1>-<s2>...`. Names keep [A-Za-z0-9._-] (others become '_'); two inputs with the same
file stem are told apart by their parent folder names.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from data_prep.files import safe_filename
from data_prep.images import is_image_file, list_images, read_image
from inference.options import InferError, InferOptions


@dataclass
class Entry:
    """One column of the content x style product: a single style, a mix of all, or all under a mask."""

    name: str
    styles: list[int]  # indices into Plan.styles


@dataclass
class Plan:
    contents: list[Path]
    content_names: list[str]
    styles: list[Path]
    entries: list[Entry]
    alphas: list[float]
    out: Path
    fmt: str
    mask: Path | None = None
    inputs: set[Path] = field(default_factory=set)

    @property
    def total_pairs(self) -> int:
        return len(self.contents) * len(self.entries)

    def output_path(self, content: int, entry: Entry, alpha: float) -> Path:
        suffix = f"__a{alpha:g}" if len(self.alphas) > 1 or alpha != 1.0 else ""
        return self.out / f"{self.content_names[content]}__{entry.name}{suffix}.{self.fmt}"


def expand_inputs(values: list[str], what: str) -> list[Path]:
    """Files, folders (recursive, image extensions only) and glob patterns -> sorted unique files."""
    paths: list[Path] = []
    for value in values:
        path = Path(value)
        if path.is_dir():
            found = list_images(path)
            if not found:
                raise InferError(f"{what} folder {path} contains no image files")
        elif path.is_file():
            found = [path]
        elif glob.has_magic(value):
            found = sorted(Path(p) for p in glob.glob(value, recursive=True) if Path(p).is_file())
            found = [p for p in found if is_image_file(p)]
            if not found:
                raise InferError(f"{what} pattern '{value}' matches no image files")
        else:
            raise InferError(f"{what} path {path} does not exist")
        paths += [p for p in found if p not in paths]
    return paths


def unique_names(paths: list[Path]) -> list[str]:
    """Sanitized file stems; stems shared by several files get their parent folders prefixed."""
    names = [safe_filename(p.stem, "image") for p in paths]
    for i, p in enumerate(paths):
        depth = 1
        while names.count(names[i]) > 1 and depth <= len(p.parts) - 1:
            names[i] = safe_filename("_".join([*p.parent.parts[-depth:], p.stem]), "image")
            depth += 1
    return names


def load_mask(path: Path, regions: int) -> torch.Tensor:
    """Label image -> (N, H, W) one-hot region masks; region k = k-th distinct color in sorted (R, G, B) order.

    Grey label maps (0, 1, 2 ...) work the same: their values become grey colors, sorted by value.
    """
    pixels = np.asarray(read_image(path))  # (H, W, 3) uint8; ImageReadError names the file
    colors, labels = np.unique(pixels.reshape(-1, 3), axis=0, return_inverse=True)
    if len(colors) != regions:
        raise InferError(
            f"mask {path} has {len(colors)} distinct colors but {regions} styles were given; a mask needs "
            "exactly one color per style (save masks as PNG: JPEG noise adds colors)"
        )
    labels = torch.from_numpy(labels.reshape(pixels.shape[:2]))
    return torch.stack([(labels == k).float() for k in range(regions)])


def plan_jobs(args: InferOptions) -> Plan:
    """Validate the options and expand the inputs into a Plan; raises InferError with one line."""
    args.validate()
    contents = expand_inputs(list(args.content), "content")
    styles = expand_inputs(list(args.style), "style")
    style_names = unique_names(styles)
    if args.mask or args.style_weights:
        if args.style_weights and len(args.style_weights) != len(styles):
            raise InferError(f"--style-weights has {len(args.style_weights)} values for {len(styles)} style images")
        kind = "mask" if args.mask else "mix"
        entries = [Entry(f"{kind}-" + "-".join(style_names), list(range(len(styles))))]
    else:
        entries = [Entry(name, [k]) for k, name in enumerate(style_names)]
    mask = Path(args.mask) if args.mask else None
    if mask is not None and not mask.is_file():
        raise InferError(f"mask {mask} does not exist")
    plan = Plan(contents, unique_names(contents), styles, entries, list(args.alpha), Path(args.out),
                "jpg" if args.format == "jpg" else "png", mask)
    plan.inputs = {p.resolve() for p in [*contents, *styles, *([mask] if mask else [])]}
    for i in range(len(contents)):
        for entry in entries:
            for alpha in plan.alphas:
                target = plan.output_path(i, entry, alpha).resolve()
                if target in plan.inputs:
                    raise InferError(f"refusing to write {target} over an input image: choose another --out")
    return plan
