"""The per-image optimization as inference runs it: InferOptions -> models.gatys' options, one \
image at a time
with a progress bar of its steps and current losses (minutes per image)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from tqdm import tqdm

from inference.options import InferOptions
from models.gatys import (
    DEFAULT_STYLE_WEIGHT,
    DEFAULT_TV_WEIGHT,
    Callback,
    OptimizeOptions,
    TemporalPrior,
    optimize,
)

# The optimization's feature nets pool 4 times before their deepest default layer (VGG19 relu5_1,
# ResNet50 layer3): below 16 px a max-pool has nothing left to pool.
MIN_OPTIMIZE_SIDE = 16


def optimize_options(opts: InferOptions, content_short: int | None = None) -> OptimizeOptions:
    """The optimization's knobs from the inference options (defaults of models.gatys where unset).

    With `content_short`, scales are capped at the content's short side unless `opts.upscale`: the
    output keeps the content's size, as the decoder's does.
    """
    scales = tuple(opts.scales)
    if content_short is not None and not opts.upscale:
        scales = tuple(min(s, content_short) for s in scales)
    return OptimizeOptions(
        feature_net=opts.feature_net,
        style_loss=opts.style_loss,
        content_weight=opts.content_weight,
        style_weight=DEFAULT_STYLE_WEIGHT if opts.style_weight is None else opts.style_weight,
        tv_weight=DEFAULT_TV_WEIGHT if opts.tv_weight is None else opts.tv_weight,
        optimizer=opts.optimizer,
        lr=opts.lr,
        steps=opts.steps[0] if len(opts.steps) == 1 else list(opts.steps),
        init=opts.init,
        scales=scales,
        luminance_only=opts.preserve_color == "luminance",
        save_every=opts.save_every,
        seed=opts.seed,
        precision=opts.precision,
    )


def optimize_batch(
    feature_net: nn.Module,
    device: torch.device,
    contents: torch.Tensor,
    styles: Sequence[torch.Tensor],
    opts: InferOptions,
    callbacks: Sequence[Callback | None] | None = None,
    prior: TemporalPrior | None = None,
) -> torch.Tensor:
    """(B, 3, H, W) contents, each optimized on its own -> (B, 3, H, W) on the CPU.

    Luminance-only transfer is done inside (Gatys et al.'s variant); `callbacks[b]` receives content
    b's intermediate images, `prior` is video's warped previous frame (batch of 1).
    """
    callbacks = callbacks or [None] * len(contents)
    short = min(contents.shape[-2:])
    gatys = optimize_options(opts, short)
    smallest = min((short, *gatys.scales))
    if smallest < MIN_OPTIMIZE_SIDE:
        raise ValueError(
            f"the optimization needs {MIN_OPTIMIZE_SIDE} px or more per side, got {smallest} px "
            "(the content or a --scales value); use a larger --size (with --upscale)"
        )
    total = (
        sum(gatys.steps)
        if not isinstance(gatys.steps, int)
        else gatys.steps * max(1, len(gatys.scales))
    )
    outs = []
    for b in range(len(contents)):
        with tqdm(total=total, desc="optimize", unit="step", leave=False, disable=None) as bar:

            def progress(entry: dict, bar=bar) -> None:
                bar.update(1)
                bar.set_postfix(
                    total=f"{entry['total']:.4g}",
                    content=f"{entry['content']:.3g}",
                    style=f"{entry['style']:.3g}",
                    refresh=False,
                )

            outs.append(
                optimize(
                    feature_net,
                    contents[b : b + 1].to(device),
                    [s.to(device) for s in styles],
                    gatys,
                    opts.style_weights,
                    callbacks[b],
                    progress,
                    prior,
                ).image.cpu()
            )
    return torch.cat(outs)
