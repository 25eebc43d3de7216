"""StyleID's file layout: outputs named `{content}_stylized_{style}.<ext>` matched to their inputs.

StyleID's evaluation pairs files by sorted order after duplicating every content and style image to
the output's name (util/copy_inputs.py); here each output is matched to its content and style by
stem instead, which gives the same pairs without the 2 x 800 copies. Images are read once, as Pillow
RGB images (media.images.read_image: EXIF orientation applied, alpha composited onto white;
StyleID's `Image.open(path).convert('RGB')` differs only on such files), and each metric applies its
own torchvision transform to them, as StyleID's code does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from media.images import ImageReadError, list_images, read_image

SEPARATOR = "_stylized_"  # run_styleid.py:233 and util/copy_inputs.py:32


def styleid_name(content: str | Path, style: str | Path, ext: str = "png") -> str:
    """StyleID's output file name for a content and a style (stems of the paths)."""
    return f"{Path(content).stem}{SEPARATOR}{Path(style).stem}.{ext}"


@dataclass
class Triple:
    """One output with its content and style images (Pillow RGB, as read)."""

    name: str  # the output's file name
    stylized: Image.Image
    content: Image.Image
    style: Image.Image
    # the style's stem: FID's style set takes one copy per output, as StyleID's does
    style_name: str


@dataclass
class Found:
    triples: list[Triple] = field(default_factory=list)
    # one line each: the file, what was wrong, what to do
    problems: list[str] = field(default_factory=list)


def _split(stem: str, contents: dict[str, Path], styles: dict[str, Path]) -> tuple[str, str] | None:
    """(content stem, style stem) for an output stem; every `_stylized_` position is tried, so a
    content
    whose own name holds the separator still matches."""
    start = stem.find(SEPARATOR)
    while start >= 0:
        content, style = stem[:start], stem[start + len(SEPARATOR) :]
        if content in contents and style in styles:
            return content, style
        start = stem.find(SEPARATOR, start + 1)
    return None


def _stems(folder: Path, what: str, problems: list[str]) -> dict[str, Path]:
    stems: dict[str, Path] = {}
    for path in list_images(folder, recursive=False):
        if path.stem in stems:
            problems.append(
                f"{what} {path}: same stem as {stems[path.stem]}; the first one is used, "
                "rename one of them"
            )
            continue
        stems[path.stem] = path
    return stems


def find_triples(stylized: Path, content: Path, style: Path) -> Found:
    """Every readable output of `stylized` with its content and style; the rest as one-line
    problems.

    Raises:
        FileNotFoundError: a folder does not exist (message names it).
    """
    found = Found()
    contents = _stems(Path(content), "content", found.problems)
    styles = _stems(Path(style), "style", found.problems)
    cache: dict[Path, Image.Image | None] = {}

    def load(path: Path) -> Image.Image | None:
        if path not in cache:
            try:
                cache[path] = read_image(path)
            except ImageReadError as error:
                found.problems.append(f"unreadable image {path}: {error.reason}; fix or remove it")
                cache[path] = None
        return cache[path]

    for path in list_images(stylized, recursive=False):
        names = _split(path.stem, contents, styles)
        if names is None:
            found.problems.append(
                f"bad name {path}: expected <content>{SEPARATOR}<style> with <content> a stem "
                f"in {content} and <style> a stem in {style}; rename it or add its inputs"
            )
            continue
        images = [load(p) for p in (path, contents[names[0]], styles[names[1]])]
        if any(image is None for image in images):
            continue
        out, cnt, sty = images
        if out.size != cnt.size:
            found.problems.append(
                f"size mismatch {path}: {out.size[0]}x{out.size[1]} but its content "
                f"{contents[names[0]]} is {cnt.size[0]}x{cnt.size[1]} (CFSD and LPIPS compare "
                "them pixel for pixel); left out, stylize at the content's size"
            )
            continue
        found.triples.append(Triple(path.name, out, cnt, sty, names[1]))
    if not found.triples:
        found.problems.append(f"no usable output in {stylized}: nothing to measure")
    return found
