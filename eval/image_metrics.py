"""Weight-free image metrics for style transfer, usable offline.

All functions take float RGB images in [0, 1] of shape (B, 3, H, W), return one value per sample as
a (B,) float32 tensor, never mutate their inputs and are deterministic. They are evaluated at the
resolution they are given: resize before calling if results at different resolutions must be
compared (the structure metrics bring the output to the content's size first, see below).

- `color_distance`: how far the output's color distribution is from the style's (lower is better).
- `structure_similarity`: SSIM of the luminances of output and content (higher is better).
- `edge_similarity`: correlation of the Sobel edge maps of output and content (higher is better).
"""

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import structural_similarity_index_measure

from media.color import rgb_to_ycbcr
from media.resize import resize

__all__ = ["color_distance", "edge_similarity", "luminance", "structure_similarity"]


def luminance(images: torch.Tensor) -> torch.Tensor:
    """BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B: (B, 3, H, W) in [0, 1] -> (B, 1, H, W) in [0,
    1]."""
    return rgb_to_ycbcr(images)[:, :1]  # the Y of JPEG's YCbCr, as most SSIM reference code uses


def _check_images(name: str, images: torch.Tensor) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(
            f"{name} must be RGB images of shape (B, 3, H, W), got {tuple(images.shape)}"
        )


def _match_size(output: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Bilinearly resize (antialiased) `output` to `content`'s spatial size if they differ."""
    if output.shape[-2:] == content.shape[-2:]:
        return output
    return resize(output, content.shape[-2:]).clamp(0, 1)


def _quantiles(sorted_values: torch.Tensor, num_quantiles: int) -> torch.Tensor:
    """Empirical quantile function at levels (k + 0.5) / K, k = 0..K-1, linearly interpolated.

    Args:
        sorted_values: (N, P) values sorted along dim 0 (N samples of P projections).
        num_quantiles: K.

    Returns:
        (K, P). When K == N this returns `sorted_values` exactly (sample k sits at level (k + 0.5) /
        N).
    """
    n = sorted_values.shape[0]
    # same-size images: the sorted samples are the quantiles, no interpolation
    if num_quantiles == n:
        return sorted_values
    levels = (torch.arange(num_quantiles, dtype=torch.float64) + 0.5) / num_quantiles
    position = (levels * n - 0.5).clamp(0, n - 1)  # fractional index into the sorted samples
    lo = position.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    frac = (position - lo).to(sorted_values.dtype).unsqueeze(1)
    return sorted_values[lo] * (1 - frac) + sorted_values[hi] * frac


def _pixels(image: torch.Tensor, max_pixels: int, generator: torch.Generator) -> torch.Tensor:
    """(3, H, W) -> (N, 3) colors, N <= max_pixels, a seeded random subset if the image is
    larger."""
    colors = image.reshape(3, -1).T  # (H*W, 3)
    if colors.shape[0] > max_pixels:
        # A random (not strided) subset: a stride can alias with periodic textures such as
        # halftones.
        keep = torch.randperm(colors.shape[0], generator=generator)[:max_pixels]
        colors = colors[keep.to(colors.device)]
    return colors


def color_distance(
    output: torch.Tensor,
    style: torch.Tensor,
    num_projections: int = 128,
    seed: int = 0,
    max_pixels: int = 65536,
) -> torch.Tensor:
    """Sliced Wasserstein-1 distance between the RGB color distributions of output and style images.

    Each image is treated as the empirical distribution of its pixels' colors, points in the RGB
    cube [0, 1]^3 (spatial layout is ignored). For P unit directions u_p drawn once from a seeded
    Gaussian,

        SW1 = (1 / P) * sum_p  integral_0^1 | F_p^-1(q) - G_p^-1(q) | dq,

    where F_p^-1 and G_p^-1 are the quantile functions of the projected colors <x, u_p> of output
    and style. The integral is evaluated on K = max(N_out, N_style) quantile levels (k + 0.5) / K
    after sorting each projection, so the two images may have different sizes. Sliced W1 (not W2) is
    used because it is in the units of the colors themselves and less dominated by a few outlier
    pixels.

    Range [0, sqrt(3)] (the diameter of the RGB cube), best value 0 (identical color histograms;
    e.g. an image and any spatial permutation of it). Computed in float64 at the given resolution;
    images with more than `max_pixels` pixels are represented by a seeded random subset of that many
    pixels, so the result is deterministic for a given seed.

    Args:
        output: (B, 3, H, W) stylized images in [0, 1].
        style: (B, 3, H', W') or (1, 3, H', W') style images in [0, 1]; a single style is broadcast.
        num_projections: P, the number of random directions.
        seed: seed of the projection directions and of the pixel subsampling.
        max_pixels: the most pixels per image that enter the distance.

    Returns:
        (B,) float32 distances.
    """
    _check_images("output", output)
    _check_images("style", style)
    if style.shape[0] not in (1, output.shape[0]):
        raise ValueError(
            f"style batch must be 1 or the output batch {output.shape[0]}, got {style.shape[0]}"
        )
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(3, num_projections, generator=generator, dtype=torch.float64)
    directions = directions / directions.norm(dim=0, keepdim=True)  # (3, P) unit columns
    directions = directions.to(output.device)

    distances = []
    for i in range(output.shape[0]):
        # The subset generator is reseeded per image so a sample's value does not depend on the
        # batch.
        style_i = style[i if style.shape[0] > 1 else 0]
        out_px = _pixels(output[i], max_pixels, torch.Generator().manual_seed(seed + 1))
        sty_px = _pixels(style_i, max_pixels, torch.Generator().manual_seed(seed + 2))
        out_proj = (out_px.double() @ directions).sort(dim=0).values  # (N_out, P)
        sty_proj = (sty_px.double() @ directions).sort(dim=0).values  # (N_style, P)
        k = max(out_proj.shape[0], sty_proj.shape[0])
        diff = _quantiles(out_proj, k) - _quantiles(sty_proj, k)  # (K, P)
        distances.append(diff.abs().mean())
    return torch.stack(distances).float()


def structure_similarity(output: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """SSIM (Wang et al. 2004) between the BT.601 luminances of output and content, per sample.

    Gaussian window of size 11 and sigma 1.5, data range 1, K1 = 0.01, K2 = 0.03 (the paper's
    constants). Computed with torchmetrics' functional SSIM (a maintained, tested implementation;
    it reflect-pads by 5 px and averages the SSIM map over the un-padded image). Luminance only,
    because a stylized image is meant to change the colors: SSIM on RGB would penalize the style.

    If output and content differ in size, the output is resized (bilinear, antialiased) to the
    content's size; the metric is evaluated at the content's resolution.

    Range [-1, 1], best value 1 (identical luminance).

    Args:
        output: (B, 3, H, W) stylized images in [0, 1].
        content: (B, 3, H', W') content images in [0, 1].

    Returns:
        (B,) float32 SSIM values.
    """
    _check_images("output", output)
    _check_images("content", content)
    y_out = luminance(_match_size(output, content).float())
    y_content = luminance(content.float())
    return structural_similarity_index_measure(
        y_out,
        y_content,
        gaussian_kernel=True,
        sigma=1.5,
        kernel_size=11,
        data_range=1.0,
        reduction="none",
    ).float()


def _sobel_magnitude(gray: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) -> (B, 1, H, W) Sobel gradient magnitude sqrt(gx^2 + gy^2), replicate-padded."""
    kx = gray.new_tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]).view(1, 1, 3, 3)
    ky = kx.transpose(2, 3)
    # Replicate padding so the image border does not appear as a strong artificial edge.
    padded = F.pad(gray, (1, 1, 1, 1), mode="replicate")
    gx, gy = F.conv2d(padded, kx), F.conv2d(padded, ky)
    return (gx.square() + gy.square()).sqrt()


def edge_similarity(output: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between the Sobel edge-magnitude maps of output and content luminances.

    Both images are reduced to BT.601 luminance, the 3x3 Sobel gradient magnitude is taken
    (replicate padding), and the per-sample Pearson correlation of the two magnitude maps over all
    pixels is returned. It asks whether the output keeps the content's edges where they were,
    independent of edge contrast (the correlation is invariant to scaling the magnitudes).

    If output and content differ in size, the output is resized (bilinear, antialiased) to the
    content's size; the metric is evaluated at the content's resolution.

    Range [-1, 1], best value 1 (edge maps equal up to a positive scale and offset). A flat image
    (no edges at all) has no defined correlation and gives 0.

    Args:
        output: (B, 3, H, W) stylized images in [0, 1].
        content: (B, 3, H', W') content images in [0, 1].

    Returns:
        (B,) float32 correlations.
    """
    _check_images("output", output)
    _check_images("content", content)
    # (B, H*W)
    e_out = _sobel_magnitude(luminance(_match_size(output, content).double())).flatten(1)
    e_content = _sobel_magnitude(luminance(content.double())).flatten(1)
    e_out = e_out - e_out.mean(dim=1, keepdim=True)
    e_content = e_content - e_content.mean(dim=1, keepdim=True)
    cov = (e_out * e_content).sum(dim=1)
    norm = e_out.norm(dim=1) * e_content.norm(dim=1)
    # float64 and a tiny floor keep flat images at 0 instead of NaN.
    return (cov / norm.clamp_min(1e-12)).float()
