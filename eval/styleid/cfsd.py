"""CFSD, content feature structural distance (StyleID, CVPR 2024), exactly as StyleID's code
computes it.

StyleID evaluation/image_metrics.py:85-130 (`PatchSimi`), called with batch size 1 and averaged
over the
pairs (eval_artfid.py:351-382, 435):
- features: torchvision VGG19 `features` up to index 11 (relu3_1), ImageNet mean/std normalization,
  images as they are (ToTensor only, no resize);
- F: the (h*w, C) feature matrix divided by C; patch self-similarity softmax(F F^T) over each row;
- F.kl_div(log_softmax(S_stylized), softmax(S_content), reduction='batchmean') on the matrices
  flattened to (1, (h*w)^2): 'batchmean' divides by the batch size 1, so the h*w per-row KL
  divergences
  are SUMMED (the value grows with the image area).
`cfsd_per_patch` is the same divided by h*w (the mean per-row KL, comparable across sizes): a
variant
beside StyleID's definition, never instead of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

LAYER = "relu3_1"  # torchvision features index 11 (image_metrics.py:90, layers {"11": "conv3"})
_ROWS = 1024  # rows of the (h*w)^2 similarity matrix per chunk: 512 px images have h*w = 16384


def _rows(features: torch.Tensor) -> torch.Tensor:
    """(1, C, h, w) -> (h*w, C) divided by C (image_metrics.py:111; their transpose(1, 3) orders
    the rows
    w-major, a permutation of rows and columns that leaves the summed KL unchanged)."""
    c = features.shape[1]
    return rearrange(features[0].float(), "c h w -> (h w) c") / c


def patch_kl_sum(stylized_features: torch.Tensor, content_features: torch.Tensor) -> torch.Tensor:
    """Sum over rows of KL(softmax(S_content) || softmax(S_stylized)); inputs (1, C, h, w)
    features."""
    fs, fc = _rows(stylized_features), _rows(content_features)
    if fs.shape != fc.shape:
        raise ValueError(
            f"CFSD compares features of equal size, got {tuple(fs.shape)} and {tuple(fc.shape)}"
        )
    total = torch.zeros((), dtype=torch.float32, device=fs.device)
    for start in range(0, len(fs), _ROWS):  # chunked: the whole matrix is 1 GiB per image at 512 px
        log_q = F.log_softmax(fs[start : start + _ROWS] @ fs.T, dim=-1)
        p = F.softmax(fc[start : start + _ROWS] @ fc.T, dim=-1)
        total = total + F.kl_div(log_q, p, reduction="sum")
    return total


@torch.no_grad()
def cfsd_pair(
    vgg: torch.nn.Module, stylized: torch.Tensor, content: torch.Tensor
) -> tuple[float, float]:
    """(CFSD, CFSD per patch) of one (1, 3, H, W) [0, 1] output and its content, `vgg` returning
    relu3_1."""
    fs, fc = vgg(stylized)[LAYER], vgg(content)[LAYER]
    total = patch_kl_sum(fs, fc)
    return total.item(), total.item() / (fs.shape[-2] * fs.shape[-1])
