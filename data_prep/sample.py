"""Build a small real-image sample set offline: `python -m data_prep.sample [--size N] [--out DIR]`.

No data set can be downloaded on the development machines, so smoke runs and demos use photographs
that ship inside scikit-image (content) and visibly different images plus numpy-generated textures
(style), in the prepared layout of `data_prep.prepare`: `OUT/{content,style}/{train,val}/` and
`OUT/manifest.json`. Deterministic: two runs write identical files.

`data/sample` (256 px) is shared: smoke configs, `eval.evaluate`'s default pairs and the demo's
examples read it, and outputs measured on it must stay comparable. So another size goes to its own
folder (`--size 96` -> `data/sample_96`); a folder holding a set of another size is replaced
only with `--overwrite`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from configs.cli import EXIT_USAGE, ArgumentParser
from data_prep.manifest import (
    FORMAT,
    load_manifest,
    summarize,
    summary_lines,
    write_jpeg,
    write_manifest,
)
from media.images import resize_image

# skimage.data loader name -> file bundled in the wheel. The files are read directly: calling the
# loaders falls back to a network download (pooch) for files that are not bundled.
SKIMAGE_FILES = {
    "astronaut": "astronaut.png",
    "coffee": "coffee.png",
    "chelsea": "chelsea.png",
    "rocket": "rocket.jpg",
    "motorcycle_left": "motorcycle_left.png",
    "camera": "camera.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "immunohistochemistry": "ihc.png",
    "colorwheel": "color.png",
    "retina": "retina.jpg",
}
# (name, split); at least 2 per side in val, the rest (>= 3) in train.
CONTENT = [
    ("astronaut", "train"),
    ("chelsea", "train"),
    ("rocket", "train"),
    ("motorcycle_left", "train"),
    ("coffee", "val"),
    ("camera", "val"),
]
STYLE = [
    ("hubble_deep_field", "train"),
    ("immunohistochemistry", "train"),
    ("stripes", "train"),
    ("checkerboard", "train"),
    ("waves", "train"),
    ("retina", "train"),
    ("colorwheel", "val"),
    ("plasma", "val"),
]


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.mgrid[0:h, 0:w].astype(np.float64) / max(h, w)


def stripes(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Diagonal stripes cycling through random saturated colors."""
    y, x = _grid(h, w)
    band = ((x + 0.6 * y) * 14).astype(int) % 5
    palette = rng.integers(0, 256, (5, 3))
    return palette[band]


def checkerboard(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Two-color checkerboard, rotated so its edges are not axis aligned."""
    y, x = _grid(h, w)
    u, v = x * np.cos(0.4) - y * np.sin(0.4), x * np.sin(0.4) + y * np.cos(0.4)
    cell = (np.floor(u * 10) + np.floor(v * 10)).astype(int) % 2
    dark, light = rng.integers(0, 100, 3), rng.integers(156, 256, 3)  # contrasting, not two pastels
    return np.stack([dark, light])[cell]


def waves(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth interfering sine waves, one frequency set per channel."""
    y, x = _grid(h, w)
    freq = rng.uniform(4, 16, (3, 2))
    phase = rng.uniform(0, 2 * np.pi, 3)
    chans = [
        np.sin(2 * np.pi * (fx * x + fy * y) + p) + np.sin(2 * np.pi * fy * x * y + p)
        for (fx, fy), p in zip(freq, phase)
    ]
    return (np.stack(chans, -1) + 2) / 4 * 255


def plasma(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth colored noise: random low-frequency Fourier coefficients per channel."""
    chans = []
    for _ in range(3):
        spec = np.zeros((h, w), complex)
        spec[:6, :6] = rng.normal(size=(6, 6)) + 1j * rng.normal(size=(6, 6))
        c = np.fft.ifft2(spec).real
        chans.append((c - c.min()) / (np.ptp(c) + 1e-12))
    return np.stack(chans, -1) * 255


TEXTURES: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "stripes": stripes,
    "checkerboard": checkerboard,
    "waves": waves,
    "plasma": plasma,
}


def _skimage_dir() -> Path:
    import skimage.data  # local import: only this script needs scikit-image

    return Path(skimage.data.__file__).parent


def load_sample_image(name: str, size: int) -> Image.Image | None:
    """RGB image `name` (bundled skimage file or generated texture), short side `size`; None if
    absent."""
    if name in TEXTURES:
        # One fixed seed per texture, so each is reproducible independently of the others.
        rng = np.random.default_rng(sum(map(ord, name)))
        arr = TEXTURES[name](size, size * 5 // 4, rng)
        return Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8), mode="RGB")
    path = _skimage_dir() / SKIMAGE_FILES[name]
    if not path.is_file():
        return None
    with Image.open(path) as img:
        rgb = img.convert("RGBA").convert("RGB") if img.mode in ("P", "LA") else img.convert("RGB")
    return resize_image(rgb, size=size, upscale=True)


DEFAULT_SIZE = 256


def default_out(size: int) -> Path:
    """`data/sample` at the default size, `data/sample_<size>` otherwise."""
    return Path("data/sample" if size == DEFAULT_SIZE else f"data/sample_{size}")


def build_sample(
    out: str | os.PathLike = "data/sample", size: int = DEFAULT_SIZE, overwrite: bool = False
) -> dict:
    """Write the sample set into `out`; returns its manifest.

    Raises:
        FileExistsError: `out` holds a sample set of another size and `overwrite` is False.
        RuntimeError: Fewer bundled images than the layout needs (>= 3 train, >= 2 val per side).
    """
    out = Path(out)
    old = load_manifest(out)
    old_size = (old or {}).get("options", {}).get("sample_size")
    if old_size not in (None, size) and not overwrite:
        raise FileExistsError(
            f"{out} holds the {old_size} px sample set, which other outputs may have been measured "
            f"on; write the {size} px set elsewhere (--out {default_out(size)}) or pass --overwrite"
        )
    files = []
    for side, items in (("content", CONTENT), ("style", STYLE)):
        for name, split in items:
            img = load_sample_image(name, size)
            source = f"generated:{name}" if name in TEXTURES else f"skimage.data.{name}"
            if img is None:
                files.append(
                    {
                        "side": side,
                        "split": split,
                        "source": source,
                        "status": "dropped",
                        "reason": "not bundled with this scikit-image",
                    }
                )
                continue
            files.append(write_jpeg(out, side, split, name, img, source))
    summary = summarize(files)
    for side in summary:
        kept = {split: c["kept"] for split, c in summary[side].items()}
        if kept.get("train", 0) < 3 or kept.get("val", 0) < 2:
            raise RuntimeError(
                f"sample set has too few {side} images ({kept}); is scikit-image complete?"
            )
    manifest = {
        "format": FORMAT,
        "options": {"sample_size": size},
        "summary": summary,
        "files": files,
    }
    write_manifest(out, manifest)
    return manifest


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point: `python -m data_prep.sample --help`."""
    p = ArgumentParser(description="Build the offline sample set (skimage photos + textures).")
    p.add_argument(
        "--out", type=Path, help="output folder (default: data/sample, or data/sample_SIZE)"
    )
    p.add_argument("--size", type=int, default=DEFAULT_SIZE, help="short side of every image")
    p.add_argument(
        "--overwrite", action="store_true", help="replace a sample set of another size in --out"
    )
    args = p.parse_args(argv)
    if args.size < 32:
        p.error(f"--size {args.size}: must be >= 32")
    args.out = args.out or default_out(args.size)
    try:
        manifest = build_sample(args.out, args.size, args.overwrite)
    except FileExistsError as err:
        p.exit(EXIT_USAGE, f"error: {err}\n")
    print("\n".join(summary_lines(manifest)))
    print(f"wrote {args.out}")
    return manifest


if __name__ == "__main__":
    main()
