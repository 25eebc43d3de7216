"""The one resize: target-size arithmetic, and tensor resizing with one filter.

Tensors are resized bilinearly (align_corners=False), antialiased whenever a side shrinks, so a
downscaled image never aliases and an upscaled one is plain bilinear. Files are resized once at the
file boundary by media.images.resize_image (Pillow's bicubic at uint8, cheaper on large photos)
with the same `fit_size` arithmetic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def fit_size(
    width: int,
    height: int,
    size: int | None = None,
    max_size: int | None = None,
    upscale: bool = False,
) -> tuple[int, int]:
    """Target (width, height): short side `size`, long side at most `max_size`, aspect kept.

    Without `upscale`, the result is never larger than the input.
    """
    scale = 1.0
    if size is not None:
        scale = size / min(width, height)
    if max_size is not None and max(width, height) * scale > max_size:
        scale = max_size / max(width, height)
    if not upscale:
        scale = min(scale, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, *size), bilinear, antialiased where a side shrinks; unchanged if
    already that size."""
    size = (int(size[0]), int(size[1]))
    if tuple(images.shape[-2:]) == size:
        return images
    shrink = size[0] < images.shape[-2] or size[1] < images.shape[-1]
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def resize_short(images: torch.Tensor, short: int) -> torch.Tensor:
    """(B, C, H, W) -> short side `short`, aspect kept (see `resize`); unchanged if already that
    size."""
    h, w = images.shape[-2:]
    scale = short / min(h, w)
    return resize(images, (max(1, round(h * scale)), max(1, round(w * scale))))


def fit_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 3, size, size) float32 in [0, 1]: short side resized to `size`, center
    crop."""
    h, w = images.shape[-2:]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    images = resize(images.float(), (nh, nw))
    top, left = (nh - size) // 2, (nw - size) // 2
    return images[..., top : top + size, left : left + size].clamp(0, 1)
