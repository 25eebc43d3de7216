"""Learned style-transfer metrics: LPIPS to the content, FID/KID to the style set, ArtFID.

Shared by `eval.evaluate` and `eval.styleid` (StyleID's protocol: its LPIPS and ArtFID are these).
The networks and their offline-safe weight loading are eval/metric_nets.py; this file computes the
numbers over a set of images and reports a metric whose network cannot be had as the string
"unavailable: <reason>" (a row keeps every column).
"""

from collections.abc import Sequence

import torch
from torch import nn

from eval.metric_nets import MetricUnavailable, build_fid, build_kid, build_lpips
from media.resize import resize
from models.pretrained import seeded

UNAVAILABLE = "unavailable: "

Images = torch.Tensor | Sequence[torch.Tensor]


def artfid(lpips: float, fid: float) -> float:
    """ArtFID (Wright & Ommer 2022; StyleID eval_artfid.py:413) = (1 + LPIPS) * (1 + FID), best
    1."""
    return (1 + lpips) * (1 + fid)


def _batches(images: Images, batch_size: int) -> list[torch.Tensor]:
    """A (N,3,H,W) tensor or a sequence of (3,H,W)/(1,3,H,W) images -> batches of equal-size
    images."""
    if isinstance(images, torch.Tensor):
        return list(images.split(batch_size))
    batches, current = [], []
    for image in images:
        image = image if image.ndim == 4 else image.unsqueeze(0)
        if current and (image.shape[-2:] != current[0].shape[-2:] or len(current) == batch_size):
            batches.append(torch.cat(current))
            current = []
        current.append(image)
    if current:
        batches.append(torch.cat(current))
    return batches


@torch.no_grad()
def compute_learned_metrics(
    outputs: Images,
    contents: Images,
    style_set: Images,
    feature_net: nn.Module | None = None,
    lpips_net: nn.Module | None = None,
    lpips_type: str = "alex",
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    batch_size: int = 16,
    seed: int = 0,
    offline: bool | None = None,
    download_timeout_s: float = 30.0,
) -> dict[str, float | str]:
    """LPIPS to the contents, FID and KID to the style set, and ArtFID, for a set of stylized
    outputs.

    ArtFID (Wright & Ommer 2022) = (1 + LPIPS) * (1 + FID), mean LPIPS over (output, content) pairs
    and FID between the outputs and the style set; best value 1. The art-fid package computes FID
    with an Inception-v3 trained on art (its `art_inception.pth`) and reports ArtFID_inf by default;
    this function uses the standard ImageNet FID Inception (or `feature_net`), so its ArtFID is not
    comparable with the paper's tables. To reproduce them, wrap the art Inception as `feature_net`.

    Args:
        outputs: stylized images in [0, 1], a (N, 3, H, W) tensor or a sequence of images.
        contents: the N content images, paired with `outputs` in order; an output whose size differs
            from its content is resized (bilinear, antialiased) to the content's size for LPIPS.
        style_set: the style images ("real" set of FID/KID), any number >= 2.
        feature_net: features for FID/KID instead of Inception: [0, 1] images -> (B, D).
        lpips_net: LPIPS network instead of torchmetrics': forward(img1, img2) -> B distances.
        lpips_type: LPIPS backbone when `lpips_net` is None.
        kid_subsets: KID subset count.
        kid_subset_size: KID subset size, capped at the smaller set's size.
        batch_size: images per forward pass.
        seed: seed of KID's subset sampling (the global RNG is left untouched).
        offline, download_timeout_s: see eval.metric_nets.fetch_weights.

    Returns:
        {"lpips", "fid", "kid_mean", "kid_std", "artfid"}: a float, or a string starting with
        "unavailable: " that says why (missing weights file and where to put it, or too few images).
    """
    out_batches, content_batches = _batches(outputs, batch_size), _batches(contents, batch_size)
    style_batches = _batches(style_set, batch_size)
    device = out_batches[0].device
    n_fake, n_content, n_real = (
        sum(map(len, bs)) for bs in (out_batches, content_batches, style_batches)
    )
    if n_fake != n_content:
        raise ValueError(f"{n_fake} outputs but {n_content} contents: they must be pairs")
    results: dict[str, float | str] = {}

    try:
        lpips = build_lpips(lpips_type, lpips_net, offline, download_timeout_s).to(device)
        scores = []
        singles = (
            [im for b in batches for im in b.split(1)] for batches in (out_batches, content_batches)
        )
        for out, content in zip(*singles):
            if out.shape[-2:] != content.shape[-2:]:
                out = resize(out, content.shape[-2:]).clamp(0, 1)
            scores.append(lpips(out, content).reshape(-1))
        results["lpips"] = torch.cat(scores).mean().item()
    except MetricUnavailable as error:
        results["lpips"] = UNAVAILABLE + str(error)

    try:
        if min(n_fake, n_real) < 2:
            raise MetricUnavailable(
                f"FID/KID need >= 2 outputs and style images, got {n_fake} and {n_real}"
            )
        # torchmetrics draws from the global CPU RNG (a probe image to size custom features, KID's
        # subsets): seeded for reproducible KID, the caller's state restored afterwards.
        with seeded(seed):
            fid = build_fid(feature_net, offline, download_timeout_s).to(device)
            size = min(kid_subset_size, n_fake, n_real)
            kid = build_kid(feature_net, kid_subsets, size, offline, download_timeout_s).to(device)
            for metric in (fid, kid):
                for batch in style_batches:
                    metric.update(batch, real=True)
                for batch in out_batches:
                    metric.update(batch, real=False)
            results["fid"] = fid.compute().item()
            kid_mean, kid_std = kid.compute()
        results["kid_mean"], results["kid_std"] = kid_mean.item(), kid_std.item()
    except MetricUnavailable as error:
        for key in ("fid", "kid_mean", "kid_std"):
            results[key] = UNAVAILABLE + str(error)

    missing = [k for k in ("lpips", "fid") if isinstance(results[k], str)]
    results["artfid"] = (
        UNAVAILABLE + "needs " + " and ".join(missing) + ": " + str(results[missing[0]])
        if missing
        else artfid(results["lpips"], results["fid"])
    )
    return results
