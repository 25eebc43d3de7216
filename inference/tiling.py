"""Tiled stylization of large images with GLOBAL content statistics and seamless blending.

Per-tile AdaIN would normalize each tile by its own mean/std, so tiles of sky and of foliage would
get different brightness and contrast: visible seams and blocks. Here the content statistics are
computed over the whole image first (each tile encoded once; features are summed over a
non-overlapping partition of the tiles' cores, so every feature position counts once, exactly as in
the untiled pass), then every tile goes through StyleTransferNet.stylize_features with those
statistics, and the decoded tiles are blended with linear ramps over their overlaps (weights
normalized by their sum, so they form a partition of unity).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from media.progress import tqdm
from models.adain import Stats, resize_masks


def tile_intervals(length: int, tile: int, overlap: int, stride: int) -> list[tuple[int, int]]:
    """[start, end) intervals of ~`tile` samples covering [0, length), overlapping by >= `overlap`.

    Starts are multiples of `stride` (tile features then sit on the whole image's feature grid); the
    last interval ends at `length` and may be up to stride - 1 longer than `tile`.
    """
    if length <= tile:
        return [(0, length)]
    starts = list(range(0, length - tile, tile - overlap))
    last = (length - tile) // stride * stride
    if last > starts[-1]:
        starts.append(last)
    return list(zip(starts, [s + tile for s in starts[:-1]] + [length]))


def core_bounds(intervals: list[tuple[int, int]], stride: int) -> list[tuple[int, int]]:
    """The non-overlapping interval each tile owns: cut in the middle of each overlap
    (stride-aligned)."""
    cuts = [0]
    for (_, end), (start, _) in zip(intervals, intervals[1:]):
        cuts.append((start + end) // 2 // stride * stride)
    cuts.append(intervals[-1][1])
    return list(zip(cuts, cuts[1:]))


def ramp(size: int, lead: int, trail: int) -> torch.Tensor:
    """1-D blend weights: rising over the first `lead` samples, falling over the last `trail`, 1
    between."""
    w = torch.ones(size)
    if lead:
        w[:lead] = torch.minimum(w[:lead], (torch.arange(lead) + 0.5) / lead)
    if trail:
        w[size - trail :] = torch.minimum(
            w[size - trail :], (torch.arange(trail, 0, -1) - 0.5) / trail
        )
    return w


def _ramps(intervals: list[tuple[int, int]]) -> list[torch.Tensor]:
    out = []
    for i, (start, end) in enumerate(intervals):
        lead = intervals[i - 1][1] - start if i > 0 else 0
        trail = end - intervals[i + 1][0] if i + 1 < len(intervals) else 0
        out.append(ramp(end - start, lead, trail))
    return out


def tile_grid(
    size: tuple[int, int], tile: int, overlap: int, stride: int
) -> tuple[int, int, list[tuple[int, int]], list[tuple[int, int]]]:
    """(tile, overlap, row intervals, column intervals) of a padded (H, W) image.

    Tiles of 2 strides at least (the decoder's minimum, see StyleTransferNet.pad); `tile` and
    `overlap` rounded down to multiples of the stride so tile features align with the image's.
    """
    tile = max(2 * stride, tile // stride * stride)
    overlap = min(max(0, overlap // stride * stride), tile // 2)
    h, w = size
    return (
        tile,
        overlap,
        tile_intervals(h, tile, overlap, stride),
        tile_intervals(w, tile, overlap, stride),
    )


def tiling_line(net: nn.Module, content: torch.Tensor, tile: int, overlap: int) -> str:
    """How stylize_tiled cuts a (1, 3, H, W) content, in words: size, tile count, tile, overlap."""
    height, width = content.shape[-2:]
    tile, overlap, ys, xs = tile_grid(
        net.pad(content[:1, :1]).shape[-2:], tile, overlap, net.stride
    )
    return (
        f"{width}x{height} px in {len(ys) * len(xs)} tiles ({len(ys)} x {len(xs)}) of {tile} px, "
        f"{overlap} px overlap, whole-image statistics (--tile-size, --tile-overlap; 0: untiled)"
    )


def stylize_tiled(
    net: nn.Module,
    content: torch.Tensor,
    styles: Sequence[Stats],
    alpha: float = 1.0,
    style_weights: Sequence[float] | None = None,
    masks: torch.Tensor | None = None,
    tile: int = 1024,
    overlap: int = 128,
    encode: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Stylize a (1, 3, H, W) content with a StyleTransferNet tile by tile; returns (1, 3, H, W) on
    the CPU.

    Same semantics as StyleTransferNet.forward (alpha, style mix with weights, N-region masks): each
    tile goes through `net.stylize_features` with the whole image's content statistics. `styles` are
    the styles' statistics (net.style_stats). `tile` and `overlap` are rounded down to multiples of
    the encoder stride so tile features align with the image's.
    """
    encode = encode or net.encode
    stride = net.stride
    # tiles cut from the image padded as the untiled pass pads it, so every tile is a whole number
    # of strides and needs no padding of its own
    height, width = content.shape[-2:]
    content = net.pad(content)
    _, _, h, w = content.shape
    tile, overlap, ys, xs = tile_grid((h, w), tile, overlap, stride)
    # each tile is encoded (pass 1), then decoded (pass 2): a large image takes a while on a CPU
    bar = tqdm(total=2 * len(ys) * len(xs), desc="tiles", unit="tile", leave=False)
    y_core, x_core = core_bounds(ys, stride), core_bounds(xs, stride)
    fh, fw = -(-h // stride), -(-w // stride)
    region_maps = (
        torch.ones(1, 1, fh, fw)
        if masks is None
        else resize_masks(masks.float().cpu(), (fh, fw))[:1]
    )  # (1, R, fh, fw) at the whole image's feature size
    regions = region_maps.shape[1]

    # pass 1: encode every tile once, gather each region's values over the tiles' cores into the
    # transform's whole-image statistics (sums for adain/mean/std, covariance for wct, sorted values
    # for efdm); a plain function transform has no statistics to gather: it runs on each tile as it
    # is
    exact = net.transform.accumulator is not None
    feats, accumulators = {}, [net.transform.accumulator() for _ in range(regions)] if exact else []
    for i, (y, y_end) in enumerate(ys):
        for j, (x, x_end) in enumerate(xs):
            f = encode(content[..., y:y_end, x:x_end]).float()
            feats[i, j] = f
            bar.update()
            (cy0, cy1), (cx0, cx1) = y_core[i], x_core[j]
            # the core in tile-feature coordinates; ceil at the far end so padded image borders
            # count as untiled
            core = f[
                0,
                :,
                (cy0 - y) // stride : -(-(cy1 - y) // stride),
                (cx0 - x) // stride : -(-(cx1 - x) // stride),
            ]
            oy, ox = cy0 // stride, cx0 // stride
            m = region_maps[0, :, oy : oy + core.shape[1], ox : ox + core.shape[2]] > 0.5
            core = core.cpu()
            for r, acc in enumerate(accumulators):
                acc.add(core[:, m[r]])  # (C, positions of region r in this core)
    whole = [acc.result() for acc in accumulators] if exact else None

    # pass 2: each tile through the net with the global statistics, decoded, blended with ramps
    out, weight = torch.zeros(1, 3, h, w), torch.zeros(1, 1, h, w)
    y_ramps, x_ramps = _ramps(ys), _ramps(xs)
    for (i, j), f in feats.items():
        (y, y_end), (x, x_end) = ys[i], xs[j]
        stats = [tuple(t.to(f.device) for t in region) for region in whole] if exact else None
        tile_masks = (
            None
            if masks is None
            else region_maps[
                ...,
                y // stride : y // stride + f.shape[-2],
                x // stride : x // stride + f.shape[-1],
            ].to(f.device)
        )
        th, tw = y_end - y, x_end - x
        kw = dict(alpha=alpha, style_weights=style_weights, masks=tile_masks, content_stats=stats)
        image = net.stylize_features(f, styles, size=(th, tw), **kw)[0].float().cpu()
        wt = (y_ramps[i][:, None] * x_ramps[j][None, :])[None, None]
        out[..., y : y + th, x : x + tw] += image * wt
        weight[..., y : y + th, x : x + tw] += wt
        bar.update()
    bar.close()
    return (out / weight)[..., :height, :width]
