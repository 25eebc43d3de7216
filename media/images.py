"""Defensive image IO: every file read or written by the repo goes through here.

Images travel as float32 RGB tensors in [0, 1] of shape (3, H, W); uint8 exists only at the file
boundary (this module). Reading converts every Pillow mode to 8-bit RGB, applies EXIF orientation
and decodes the whole file inside the try, so a broken file surfaces as one `ImageReadError` with a
message a person can act on instead of a grey-filled tensor or a crash deep in a DataLoader worker.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from media.files import atomic_path
from media.resize import fit_size

IMAGE_EXTENSIONS = {
    ".jpg",
    ".jpeg",
    ".png",
    ".webp",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
}  # a GIF: its first frame
_SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP"}
# Transparent pixels are composited onto white: their stored RGB is arbitrary (often black).
_BACKGROUND = (255, 255, 255)
# The pixel budget of a read: checked from the header, before any decoding (a 200 KB PNG can declare
# 13000x13000 px and cost a GB to decode). Pillow's own threshold: above it Pillow only warns (up to
# 2x, then errors); that warning is an error here, so no caller decodes such a file by accident.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


class ImageReadError(Exception):
    """A file that could not be decoded into an RGB image.

    Attributes:
        path: The file that failed.
        reason: A one-line human explanation, e.g. "truncated or corrupt image (image file is
            truncated)".
    """

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def is_image_file(path: str | os.PathLike) -> bool:
    """True when the file name has an image extension (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Sorted image files of a folder, nested folders included unless `recursive=False`.

    Raises:
        FileNotFoundError: The folder does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist (or is not a folder)")
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(p for p in pattern if p.is_file() and is_image_file(p))


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB without clipping high bit depths to white."""
    if img.mode == "RGB":
        return img
    if img.mode.startswith("I;16") or img.mode == "I":
        # 16-bit PNG/TIFF: Pillow's convert("L") clips values > 255 to white; scale instead.
        # Mode "I" comes from 16-bit files too, so it is read as the 0..65535 range.
        arr = np.asarray(img).astype(np.float64)
        arr = np.clip(np.round(arr / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if img.mode == "F":
        # Float images have no standard range; values in [0, 1] are treated as normalized.
        arr = np.asarray(img).astype(np.float64)
        scale = 255.0 if arr.size and np.nanmax(arr) <= 1.0 else 1.0
        arr = np.clip(np.nan_to_num(arr * scale), 0, 255).round().astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        img.mode == "P" and "transparency" in img.info
    ):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode == "L" or img.mode == "1" or img.mode == "P" or img.mode in ("CMYK", "YCbCr"):
        return img.convert("RGB")
    # LAB, HSV and rarer modes: Pillow converts some directly; fail with the mode named otherwise.
    try:
        return img.convert("RGB")
    except ValueError as e:
        raise ValueError(f"unsupported image mode {img.mode}") from e


def _reason(err: Exception) -> str:
    """One-line human explanation of a decode failure."""
    if isinstance(err, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return f"image too large, refused as a possible decompression bomb ({err})"
    if isinstance(err, FileNotFoundError):
        return "file not found"
    if isinstance(err, UnidentifiedImageError):
        return "not an image Pillow can decode (wrong extension, empty or corrupt file)"
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if isinstance(err, (OSError, SyntaxError, EOFError)):
        return f"truncated or corrupt image ({msg})"
    return f"corrupt or unsupported image ({type(err).__name__}: {msg})"


def read_image(path: str | os.PathLike, max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """Read a file fully into an 8-bit RGB image with EXIF orientation applied.

    A file whose header declares more than `max_pixels` pixels is refused before decoding (None:
    Pillow's own limits only).

    Grayscale, palette, alpha (composited on white), CMYK and 16-bit images become RGB. The whole
    file is decoded here, because a truncated JPEG opens fine and only fails at load/convert.

    Raises:
        ImageReadError: The file is missing, not an image, truncated, corrupt, or a decompression
            bomb (`Image.DecompressionBombError`, which is not an OSError).
    """
    try:
        with Image.open(path) as img:
            if max_pixels is not None and img.width * img.height > max_pixels:
                raise ImageReadError(
                    path,
                    f"{img.width}x{img.height} px ({img.width * img.height / 1e6:.0f} MP) "
                    f"is over the pixel budget of {max_pixels / 1e6:g} MP; downscale it first",
                )
            img.load()
            try:
                oriented = ImageOps.exif_transpose(img)
            except Exception:
                # A malformed EXIF block should not drop an image whose pixels decode fine.
                oriented = img
            rgb = _to_rgb(oriented)
            if rgb is img:  # detach from the file handle that the `with` closes
                rgb = img.copy()
            return rgb
    except ImageReadError:
        raise
    except Exception as e:  # every decode failure, including DecompressionBombError
        raise ImageReadError(path, _reason(e)) from e


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL image -> float32 tensor (3, H, W) in [0, 1]."""
    arr = np.asarray(img.convert("RGB") if img.mode != "RGB" else img, dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """Float tensor (3, H, W) or (1, 3, H, W) in [0, 1] -> 8-bit RGB PIL image (values clamped)."""
    if tensor.dim() == 4 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.dim() != 3 or tensor.shape[0] != 3:
        raise ValueError(f"expected an image tensor of shape (3, H, W), got {tuple(tensor.shape)}")
    arr = tensor.detach().float().cpu().clamp(0, 1).mul(255).round().to(torch.uint8)
    return Image.fromarray(arr.permute(1, 2, 0).numpy(), mode="RGB")


def resize_image(
    img: Image.Image, size: int | None = None, max_size: int | None = None, upscale: bool = False
) -> Image.Image:
    """Antialiased resize of a PIL image following `fit_size`; returns the input when unchanged."""
    target = fit_size(img.width, img.height, size, max_size, upscale)
    if target == img.size:
        return img
    # Pillow's bicubic widens its kernel when shrinking, so downscaling is antialiased.
    return img.resize(target, Image.Resampling.BICUBIC)


def load_image(
    path: str | os.PathLike,
    size: int | None = None,
    max_size: int | None = None,
    upscale: bool = False,
) -> torch.Tensor:
    """Read an image file into a float32 tensor (3, H, W) in [0, 1].

    Args:
        path: Image file.
        size: Short side of the result (aspect kept); None keeps the file's size.
        max_size: Cap on the long side, applied after `size`.
        upscale: Allow enlarging images smaller than the requested size.

    Raises:
        ImageReadError: The file cannot be decoded.
    """
    return to_tensor(resize_image(read_image(path), size, max_size, upscale))


# the PNG text chunk (JPEG: the comment) holding what made the picture, as JSON
SETTINGS_KEY = "settings"


def save_image(
    image: torch.Tensor | Image.Image,
    path: str | os.PathLike,
    quality: int = 95,
    settings: dict | None = None,
) -> Path:
    """Write an image atomically; the format follows the extension (png, jpg/jpeg, webp, bmp).

    Args:
        image: Float tensor (3, H, W) or (1, 3, H, W) in [0, 1], or a PIL image.
        path: Destination; parent folders are created.
        quality: JPEG/WebP quality.
        settings: JSON-able options that made the picture: a PNG text chunk / JPEG comment
            (read_settings).
    """
    path = Path(path)
    fmt = _SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot save {path}: unknown image extension (use one of {sorted(_SAVE_FORMATS)})"
        )
    img = to_pil(image) if isinstance(image, torch.Tensor) else image
    if img.mode != "RGB":
        img = _to_rgb(img)
    kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if settings is not None and fmt in ("PNG", "JPEG"):
        text = json.dumps(settings, sort_keys=True, default=str)
        if fmt == "PNG":
            kwargs["pnginfo"] = PngImagePlugin.PngInfo()
            kwargs["pnginfo"].add_text(SETTINGS_KEY, text)
        else:
            kwargs["comment"] = text.encode()
    with atomic_path(path) as tmp:
        img.save(tmp, format=fmt, **kwargs)
    return path


def read_settings(path: str | os.PathLike) -> dict | None:
    """The settings save_image stored in a PNG or JPEG, or None."""
    with Image.open(path) as img:
        text = img.info.get(SETTINGS_KEY) if img.format == "PNG" else img.info.get("comment")
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
