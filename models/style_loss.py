"""The style-loss protocol, and wrapping a plain per-layer function in it (as models/transfer.py
is for transforms). Kept apart from models/losses.py so that the registry's `register_style_loss`
imports no loss, and no loss module and the registry import each other. Register either with
`models.register_style_loss`; the built-in losses: models/losses.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class StyleLoss:
    """A per-layer statistic of features (computed once per style) and a distance(output statistic,
    target statistic) -> scalar; the target may have batch 1 (one style for the whole batch)."""

    statistic: Callable[[torch.Tensor], torch.Tensor]
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def as_style_loss(obj) -> StyleLoss:
    """A registered style loss: a StyleLoss, or a plain per-layer f(output, target) on (B, C, H, W)
    features (the target is the style's features, a batch-1 target expanded to the output's
    batch)."""
    if isinstance(obj, StyleLoss):
        return obj

    def distance(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.expand(out.shape[0], -1, -1, -1) if target.shape[0] == 1 else target
        return obj(out, target.detach()).float()

    return StyleLoss(lambda feat: feat.float(), distance)
