"""The transform protocol, and applying a transform: one style, a style mix, region masks.

A transform is a `Transform` (the protocol, below) or a plain function `f(content, style) ->
features` on (B, C, H, W) maps (sizes may differ; a batch-1 style is expanded to the content's
batch): its "statistics" are the style's features, tiling runs it tile by tile, and style mixes,
masks and domain pooling refuse it in one line. Register either with `models.register_transform`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from models.adain import Stats


@dataclass(frozen=True)
class Transform:
    """A feature transform: `stats` (features -> statistics, tuples of tensors with a batch
    dimension; batch 1 broadcasts over the content's), `apply` (content features, content statistics
    or None: computed from the features, style statistics -> target), and the optional capabilities
    `mix` (several styles as one), `pool` (a domain of style images as one style) and `accumulator`
    (whole-image content statistics gathered tile by tile). Built-ins: models/transforms.py."""

    stats: Callable[[torch.Tensor], Stats]
    apply: Callable[[torch.Tensor, Stats | None, Stats], torch.Tensor]
    mix: Callable[[Sequence[Stats], Sequence[float] | None], Stats] | None = None
    pool: Callable[[Sequence[Stats]], Stats] | None = None
    accumulator: Callable[[], object] | None = None
    name: str = ""

    def require(self, capability: str, use: str):
        """The capability, or a one-line error naming the transform and what it lacks."""
        if getattr(self, capability) is None:
            raise ValueError(
                f"transform '{self.name}' has no {capability}: it cannot do {use}; register it "
                f"with a `{capability}` (models/transforms.py), or use another --transform"
            )
        return getattr(self, capability)


def as_transform(obj, name: str) -> Transform:
    """A registered object as a Transform: a Transform, an object with stats/apply, a function."""
    if isinstance(obj, Transform):
        return dataclasses.replace(obj, name=name)
    if hasattr(obj, "stats") and hasattr(obj, "apply"):
        parts = {k: getattr(obj, k, None) for k in ("mix", "pool", "accumulator")}
        return Transform(obj.stats, obj.apply, name=name, **parts)
    if not callable(obj):
        raise TypeError(
            f"transform '{name}': register a function f(content, style) or an object with "
            "stats and apply"
        )

    def apply(feat: torch.Tensor, content: Stats | None, style: Stats) -> torch.Tensor:
        (style_feat,) = style
        if style_feat.shape[0] == 1:  # a batch-1 style serves every content of the batch
            style_feat = style_feat.expand(feat.shape[0], -1, -1, -1)
        return obj(feat.float(), style_feat).float()

    return Transform(lambda feat: (feat.float(),), apply, name=name)


def take(stats: Stats, b: int) -> Stats:
    """Sample b of batched statistics (batch-1 statistics are shared by every sample)."""
    return tuple(t[b : b + 1] if t.shape[0] > 1 else t for t in stats)


def transfer(
    transform: Transform,
    feat: torch.Tensor,
    styles: Sequence[Stats],
    weights: Sequence[float] | None = None,
    masks: torch.Tensor | None = None,
    content: Sequence[Stats] | None = None,
) -> torch.Tensor:
    """The transform's target for (B, C, h, w) content features, float32.

    Without masks several styles are one mixed style (`weights`, normalized). With (B|1, N, h, w)
    masks at the features' size region k takes style k: the transform runs on that region's
    positions only, so its content statistics are the region's own (or `content[k]`, e.g. a whole
    image's, when given).
    """
    if masks is None:
        if len(styles) > 1:
            styles = [transform.require("mix", "style mixes")(styles, weights)]
        return transform.apply(feat, content[0] if content is not None else None, styles[0])
    transform.require("accumulator", "masks (it needs region statistics)")
    if masks.shape[1] != len(styles):
        raise ValueError(f"got {masks.shape[1]} mask regions for {len(styles)} styles")
    out = torch.zeros_like(feat, dtype=torch.float32)
    for b in range(feat.shape[0]):
        for k, style in enumerate(styles):
            region = masks[min(b, masks.shape[0] - 1), k] > 0.5
            if not region.any():
                continue
            values = feat[b][:, region][None, :, None, :]  # (1, C, 1, n): the region as a 1 x n map
            c_stats = None if content is None else take(content[k], b)
            out[b][:, region] = transform.apply(values, c_stats, take(style, b))[0, :, 0, :]
    return out
