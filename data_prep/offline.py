"""Build the offline training set: `python -m data_prep.offline --out data/offline [--size 256]`.

The most real pictures the installed packages allow, with no download: content is every colour
photograph bundled in scikit-image, matplotlib and gradio (the demo's dependency), style is
scikit-image's images with a strong texture or colour plus data_prep.painterly's generated
paintings. Fixed content photos and styles
(painterly kinds with unseen seeds and palettes, and one real image) are held out in the val splits
and crossed in OUT/val_pairs.json (the format eval.pairs.read_pairs reads). Layout and manifest are
data_prep.sample's; deterministic: two runs write identical files.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from PIL import Image

from configs.cli import ArgumentParser
from data_prep import painterly, palettes
from data_prep.manifest import (
    FORMAT,
    summarize,
    summary_lines,
    write_if_changed,
    write_jpeg,
    write_manifest,
)
from data_prep.sample import _skimage_dir
from data_prep.sources import SIDES
from media.images import ImageReadError, read_image, resize_image
from media.progress import tqdm

PAIRS = "val_pairs.json"
# Train images are stored 1.5x larger (short side 384 for --size 256) so a --size random crop
# (data.resize=384 data.crop=256) lands somewhere different each draw.
TRAIN_SCALE = 1.5
# (package, file, split). Every colour photograph the two packages ship. Left out: the greyscale
# photos (camera, coins, moon, ...), the synthetic images (logos, chessboard, phantom, colour wheel)
# and matplotlib's icon. The motorcycle stereo pair stays on one side of the split.
CONTENT = [
    ("skimage", "astronaut.png", "train"),
    ("skimage", "chelsea.png", "train"),
    ("skimage", "rocket.jpg", "train"),
    ("skimage", "motorcycle_left.png", "train"),
    ("skimage", "motorcycle_right.png", "train"),
    # gradio (the demo's dependency) ships six more photographs: animals and scenes
    ("gradio", "media_assets/images/cheetah.jpg", "train"),
    ("gradio", "media_assets/images/cheetah1.jpg", "train"),
    ("gradio", "media_assets/images/groot.jpeg", "train"),
    ("gradio", "media_assets/images/lion.jpg", "train"),
    ("gradio", "media_assets/images/tower.jpg", "train"),
    ("gradio", "test_data/cheetah2.jpg", "train"),
    ("skimage", "coffee.png", "val"),
    ("matplotlib", "grace_hopper.jpg", "val"),
]
# The bundled images with a style worth transferring: stained tissue, a fundus photograph and
# texture photographs (grey, like charcoal), and the Hubble deep field held out. The colour wheel
# is left out: a smooth gradient has no texture to learn.
STYLE = [
    ("skimage", "ihc.png", "train"),
    ("skimage", "retina.jpg", "train"),
    ("skimage", "brick.png", "train"),
    ("skimage", "grass.png", "train"),
    ("skimage", "gravel.png", "train"),
    ("skimage", "hubble_deep_field.jpg", "val"),
]
# Fraction of the short side kept around the centre: the retina's square lies inside its black ring.
CENTRE = {"retina.jpg": 0.66}
TRAIN_SEEDS = range(6)  # painterly images per kind in style/train
VAL_KINDS = ("brush", "ink", "mosaic", "pointillism", "watercolour")
VAL_SEED = 1000  # val paintings: seeds from here, palettes from palettes.VAL_PALETTES

# (side, split, file stem, source, load(short side) -> image or None when not bundled)
Item = tuple[str, str, str, str, Callable[[int], Image.Image | None]]


def bundled_path(package: str, file: str) -> Path:
    """The file inside the installed package (read directly: skimage's loaders may download)."""
    if package == "skimage":
        return _skimage_dir() / file
    if package == "gradio":  # located, not imported: importing gradio takes seconds
        return _package_dir(package) / file
    import matplotlib  # local import: only this script needs matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / file


def _package_dir(package: str) -> Path:
    return Path(importlib.util.find_spec(package).origin).parent


def _bundled(package: str, file: str) -> Callable[[int], Image.Image | None]:
    def load(short: int) -> Image.Image | None:
        path = bundled_path(package, file)
        if not path.is_file():
            return None
        img = read_image(path)
        side = round(min(img.size) * CENTRE.get(file, 1.0))
        left, top = (img.width - side) // 2, (img.height - side) // 2
        if side < min(img.size):
            img = img.crop((left, top, left + side, top + side))
        return resize_image(img, size=short, upscale=True)

    return load


def _painting(kind: str, seed: int, palette: str) -> Callable[[int], Image.Image]:
    return lambda short: Image.fromarray(
        painterly.paint(kind, short, short * 5 // 4, seed, palette), mode="RGB"
    )


def plan() -> list[Item]:
    """Every image of the set, in output order: bundled content, bundled styles, paintings."""
    items: list[Item] = []
    for side, sources in (("content", CONTENT), ("style", STYLE)):
        for package, file, split in sources:
            source = _source(package, bundled_path(package, file))
            items.append((side, split, Path(file).stem, source, _bundled(package, file)))
    n = len(palettes.TRAIN_PALETTES)
    for k, kind in enumerate(painterly.KINDS):
        for seed in TRAIN_SEEDS:
            palette = palettes.TRAIN_PALETTES[(seed + 3 * k) % n]  # each kind its own six
            items.append(_painting_item("train", kind, seed, palette))
    for j, kind in enumerate(VAL_KINDS):
        palette = palettes.VAL_PALETTES[j % len(palettes.VAL_PALETTES)]
        items.append(_painting_item("val", kind, VAL_SEED + j, palette))
    return items


def _painting_item(split: str, kind: str, seed: int, palette: str) -> Item:
    source = f"painterly.{kind}(seed={seed}, palette={palette})"
    return ("style", split, f"{kind}_s{seed}_{palette}", source, _painting(kind, seed, palette))


def _source(package: str, path: Path) -> str:
    """The file's path inside site-packages, e.g. skimage/data/astronaut.png."""
    site = _package_dir(package).parent
    return path.relative_to(site).as_posix()


def build_offline(out: str | os.PathLike = "data/offline", size: int = 256, progress=True) -> dict:
    """Write the offline set into `out` (val short side `size`, train 1.5x); returns its manifest.

    Raises:
        RuntimeError: Fewer bundled images than training needs (>= 3 train, >= 1 val per side).
    """
    out = Path(out)
    train_size = round(size * TRAIN_SCALE)
    files = []
    for side, split, stem, source, load in tqdm(plan(), desc="offline set", disable=not progress):
        entry = {"side": side, "split": split, "source": source}
        reason = "not bundled with this version of the package"
        try:
            img = load(size if split == "val" else train_size)
        except ImageReadError as e:
            img, reason = None, e.reason
        if img is None:
            files.append({**entry, "status": "dropped", "reason": reason})
            continue
        files.append(write_jpeg(out, side, split, stem, img, source))
    summary = summarize(files)
    for side, splits in summary.items():
        kept = {split: c["kept"] for split, c in splits.items()}
        if kept.get("train", 0) < 3 or kept.get("val", 0) < 1:
            raise RuntimeError(
                f"offline set has too few {side} images ({kept}); are scikit-image and "
                "matplotlib installed completely?"
            )
    val = [f for f in files if f["split"] == "val" and f["status"] == "kept"]
    contents, styles = (sorted(f["output"] for f in val if f["side"] == s) for s in SIDES)
    pairs = [{"content": c, "style": s} for c in contents for s in styles]
    write_if_changed(out / PAIRS, (json.dumps({"pairs": pairs}, indent=1) + "\n").encode())
    packages = ("numpy", "scipy", "scikit-image", "matplotlib", "Pillow")
    manifest = {
        "format": FORMAT,
        # the paintings' pixels are fixed for these versions of numpy and scipy
        "options": {
            "size": size,
            "train_size": train_size,
            "versions": {p: version(p) for p in packages},
        },
        "summary": summary,
        "files": files,
    }
    write_manifest(out, manifest)
    return manifest


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point: `python -m data_prep.offline --help`."""
    p = ArgumentParser(
        description="Build the offline training set (bundled photos, textures, paintings)."
    )
    p.add_argument("--out", type=Path, default=Path("data/offline"), help="output folder")
    p.add_argument("--size", type=int, default=256, help="short side of val images (train 1.5x)")
    args = p.parse_args(argv)
    if args.size < 16:
        p.error(f"--size {args.size} is too small: give a short side of at least 16 px")
    manifest = build_offline(args.out, args.size)
    print("\n".join(summary_lines(manifest)))
    print(f"wrote {args.out} ({PAIRS}: every val content x val style)")
    return manifest


if __name__ == "__main__":
    main()
