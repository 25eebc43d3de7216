"""One evaluation row: the mean of every metric family over a method's N stylized outputs.

The metric families live in their own files (eval/loss_metrics.py: the losses as metrics;
eval/image_metrics.py: weight-free colour and structure; eval/learned_metrics.py: LPIPS, FID, KID,
ArtFID). This file is the one place that says which of them a row of `python -m eval.evaluate`
holds, so a new metric is added here and nowhere in the evaluation loop.
"""

from __future__ import annotations

import torch

from eval.image_metrics import color_distance, edge_similarity, structure_similarity
from eval.learned_metrics import compute_learned_metrics
from eval.loss_metrics import EVAL_SIZE, loss_metrics
from eval.random_feature_nets import RandomFeatures, RandomLpips

__all__ = ["score"]


def score(
    outputs: torch.Tensor,
    contents: torch.Tensor,
    styles: torch.Tensor,
    style_set: torch.Tensor,
    loss_net: torch.nn.Module,
    size: int = EVAL_SIZE,
    feature_net: str = "inception",
    offline: bool | None = None,
    seed: int = 0,
) -> dict[str, float | str]:
    """Mean metrics of N stylized outputs; every image is (N, 3, size, size) already (see
    loss_metrics.prepare).

    Args:
        outputs, contents, styles: the N outputs and the content / style image of each.
        style_set: the distinct style images: the "real" set of FID/KID.
        loss_net: the VGG19 of the loss metrics.
        feature_net: "inception" (the standard weights: 'unavailable: ...' when missing) or "random"
            (eval.random_feature_nets: exercises the code path offline; not the published metrics).
        offline: see eval.metric_nets.fetch_weights (None: env HF_HUB_OFFLINE).
    """
    row: dict[str, float | str] = {
        k: v.mean().item()
        for k, v in loss_metrics(outputs, contents, styles, loss_net, size).items()
    }
    row["color_distance"] = color_distance(outputs, styles, seed=seed).mean().item()
    row["ssim"] = structure_similarity(outputs, contents).mean().item()
    row["edge_similarity"] = edge_similarity(outputs, contents).mean().item()
    nets = (
        {"feature_net": RandomFeatures(), "lpips_net": RandomLpips()}
        if feature_net == "random"
        else {}
    )
    row.update(
        compute_learned_metrics(outputs, contents, style_set, seed=seed, offline=offline, **nets)
    )
    return row
