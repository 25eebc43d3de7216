"""A folder of awkward and broken input files, built by the tests (no data is shipped).

`build(root)` writes the files and returns {name: expectation}: "ok" for readable images that every
tool must use, "bad" for files that must be reported with a reason, "link" for a directory link that
must be listed and not followed.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _photo(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(x / 5 + seed), np.cos(y / 7), np.sin((x + y) / 9)], -1) * 0.4 + 0.5
    return (np.clip(base + rng.normal(0, 0.05, (h, w, 3)), 0, 1) * 255).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png() -> bytes:
    """A 60000 x 60000 PNG header with almost no data: Pillow refuses it at open (decompression
    bomb)."""
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _png_chunk(b"IEND", b"")
    )


def build(root: Path) -> dict[str, str]:
    """Write the awkward folder under root/awkward (plus root/outside.png, the target of a file
    link)."""
    folder = root / "awkward"
    (folder / "nested" / "deeper").mkdir(parents=True)
    expect: dict[str, str] = {}

    def save(name: str, image: Image.Image, kind: str = "ok", **kwargs) -> None:
        image.save(folder / name, **kwargs)
        expect[name] = kind

    good = Image.fromarray(_photo(40, 56, 1))
    save("plain.png", good)
    save("tiny_1x1.png", Image.fromarray(_photo(1, 1, 2)))
    save("thin_3x400.png", Image.fromarray(_photo(3, 400, 3)))
    save("small_8x8.png", Image.fromarray(_photo(8, 8, 4)))
    save("cmyk.jpg", good.convert("CMYK"))
    save(
        "deep16.png",
        Image.fromarray((_photo(40, 56, 5)[..., 0].astype(np.uint16) * 257), mode="I;16"),
    )
    rgba = good.convert("RGBA")
    rgba.putalpha(128)
    save("alpha.png", rgba)
    save("palette.png", good.convert("P"))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    save("rotated.jpg", good, exif=exif)
    frames = [Image.fromarray(_photo(32, 32, s)) for s in (6, 7)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=100)
    expect["animated.gif"] = "ok"
    for ext in ("jpg", "png", "webp"):
        save(f"photo.{ext}", Image.fromarray(_photo(36, 48, 8)))
    save("日本.jpg", Image.fromarray(_photo(36, 48, 9)))
    save("中国.jpg", Image.fromarray(_photo(36, 48, 10)))
    save("한국.jpg", Image.fromarray(_photo(36, 48, 11)))
    save("with space.png", Image.fromarray(_photo(36, 48, 12)))
    save("nested/deeper/inner.png", Image.fromarray(_photo(36, 48, 13)))
    Image.fromarray(_photo(36, 48, 14)).save(root / "outside.png")
    os.symlink(root / "outside.png", folder / "linked.png")
    expect["linked.png"] = "ok"
    os.symlink("..", folder / "nested" / "loop")
    expect["nested/loop"] = "link"

    data = (folder / "plain.png").read_bytes()
    for name, payload in {
        "truncated.png": data[: len(data) // 2],
        "empty.jpg": b"",
        "html.jpg": b"<!DOCTYPE html><html><body>404</body></html>",
        "random.png": np.random.default_rng(0).bytes(2000),
        "bomb.png": bomb_png(),
    }.items():
        (folder / name).write_bytes(payload)
        expect[name] = "bad"
    return expect


def checksums(folder: Path) -> dict[str, bytes]:
    """Contents of every regular file below folder (links not followed), to show nothing was
    changed."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            out[str(path.relative_to(folder))] = data
    return out
