"""Color preservation helpers (Gatys et al. 2016, "Preserving Color in Neural Artistic Style Transfer").

Pure functions on (B, 3, H, W) RGB images in [0, 1], computed in float32, inputs never modified.
"""

from __future__ import annotations

import torch
from einops import rearrange

from media.resize import resize

# ITU-R BT.601 full-range (JPEG) YCbCr
_RGB_TO_YCBCR = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
_CHROMA_OFFSET = torch.tensor([0.0, 0.5, 0.5]).view(1, 3, 1, 1)


def rgb_to_ycbcr(images: torch.Tensor) -> torch.Tensor:
    """RGB (B, 3, H, W) in [0, 1] -> YCbCr (BT.601 full range, all channels in [0, 1])."""
    m = _RGB_TO_YCBCR.to(images.device)
    return torch.einsum("ij,bjhw->bihw", m, images.float()) + _CHROMA_OFFSET.to(images.device)


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """Inverse of rgb_to_ycbcr (no clamping)."""
    m_inv = torch.linalg.inv(_RGB_TO_YCBCR).to(ycbcr.device)
    return torch.einsum("ij,bjhw->bihw", m_inv, ycbcr.float() - _CHROMA_OFFSET.to(ycbcr.device))


def preserve_luminance(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance-only transfer: the stylized image's Y with the content's Cb/Cr (content resized to fit).

    Clamped to [0, 1]; wherever the clamp is inactive the output's chroma equals the content's.
    """
    if content.shape[-2:] != stylized.shape[-2:]:
        content = resize(content.float(), stylized.shape[-2:])
    y = rgb_to_ycbcr(stylized)[:, :1]
    chroma = rgb_to_ycbcr(content)[:, 1:]
    return ycbcr_to_rgb(torch.cat([y, chroma], dim=1)).clamp(0, 1)


def _mean_cov(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, H, W) -> pixel color mean (B, 3, 1) and covariance (B, 3, 3), biased, float64."""
    pixels = rearrange(images.double(), "b c h w -> b c (h w)")
    mean = pixels.mean(dim=2, keepdim=True)
    centered = pixels - mean
    return mean, centered @ centered.transpose(1, 2) / pixels.shape[2]


def _sqrtm(cov: torch.Tensor, inverse: bool = False, eps: float = 1e-8) -> torch.Tensor:
    """Symmetric (inverse) square root of (B, 3, 3) covariance matrices via eigen-decomposition."""
    vals, vecs = torch.linalg.eigh(cov)
    vals = vals.clamp_min(eps)
    power = -0.5 if inverse else 0.5
    return vecs @ torch.diag_embed(vals**power) @ vecs.transpose(1, 2)


def match_color(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Recolor `source` so its pixel color mean and covariance equal `target`'s.

    x' = C_t^(1/2) C_s^(-1/2) (x - mu_s) + mu_t, the symmetric-square-root variant of Gatys et al.'s
    color histogram matching. Sizes may differ; target batch may be 1. Not clamped, so the statistics
    match exactly (values may leave [0, 1] slightly; the networks accept that).
    """
    mu_s, cov_s = _mean_cov(source)
    mu_t, cov_t = _mean_cov(target)
    transform = _sqrtm(cov_t) @ _sqrtm(cov_s, inverse=True)
    pixels = rearrange(source.double(), "b c h w -> b c (h w)")
    out = transform @ (pixels - mu_s) + mu_t
    return rearrange(out, "b c (h w) -> b c h w", h=source.shape[-2]).to(torch.float32)
