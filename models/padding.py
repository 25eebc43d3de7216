"""Pad images to a multiple of an encoder's stride, so decoded images can be cropped back to the input size."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_multiple(images: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad (B, C, H, W) on the bottom/right to H, W multiples of `multiple`.

    Reflect padding (no hard border for the encoder to see); replicate when the image is smaller than
    the pad, where reflect is undefined.
    """
    h, w = images.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if not (ph or pw):
        return images
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(images, (0, pw, 0, ph), mode=mode)
