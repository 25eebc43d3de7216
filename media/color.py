"""Colour spaces of pictures, and luminance-only transfer (Gatys et al. 2016, "Preserving Color in
Neural Artistic Style Transfer"): pure functions on (B, 3, H, W) RGB images in [0, 1], computed in
float32, inputs never modified. Colour matching is WCT on pixels: models.transforms.match_color."""

from __future__ import annotations

import torch

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
    """Luminance-only transfer: the stylized image's Y with the same-size content's Cb/Cr.

    Clamped to [0, 1]; wherever the clamp is inactive the output's chroma equals the content's.
    """
    if content.shape[-2:] != stylized.shape[-2:]:
        sizes = f"{list(content.shape[-2:])} vs {list(stylized.shape[-2:])}"
        raise ValueError(f"preserve_luminance: content and stylized sizes differ ({sizes})")
    ycbcr = torch.cat([rgb_to_ycbcr(stylized)[:, :1], rgb_to_ycbcr(content)[:, 1:]], dim=1)
    return ycbcr_to_rgb(ycbcr).clamp(0, 1)


def luminance_image(images: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
    """(B, 3, H, W) -> grey (B, 3, H, W) luminance; with `reference`, Y matched to its mean/std."""
    y = rgb_to_ycbcr(images)[:, :1]
    if reference is not None:
        ref = rgb_to_ycbcr(reference)[:, :1]
        y = (y - y.mean()) / (y.std() + 1e-6) * ref.std() + ref.mean()
    return y.expand(-1, 3, -1, -1)
