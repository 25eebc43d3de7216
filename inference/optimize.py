"""The per-image optimization as inference runs it: models/gatys.py's objective and steps, driven
over scales, in the content's colours or its luminance, one image at a time with a progress bar of
its steps and current losses (minutes per image).

  * Original colours (`luminance_only`): Gatys et al.'s luminance-only transfer ("Preserving Color
    in Neural Artistic Style Transfer", 2016): the optimization runs on grey luminance images (each
    style's matched to the content's mean/std), then the content's Cb/Cr are put back.
  * Multi-scale (coarse to fine): stage i starts from the upsampled result of stage i-1; styles are
    resized by the content's factor, so the pattern keeps its size relative to the content.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from inference.jobs import Plan
from inference.options import OPTIMIZE_FP16, InferOptions
from media.color import luminance_image, preserve_luminance
from media.files import atomic_write
from media.images import save_image
from media.progress import tqdm
from media.resize import resize, resize_short
from models.gatys import (
    DEFAULT_STYLE_WEIGHT,
    DEFAULT_TV_WEIGHT,
    Objective,
    OptimizeOptions,
    TemporalPrior,
    blended_style_targets,
    run_stage,
)

# The optimization's feature nets pool 4 times before their deepest default layer (VGG19 relu5_1,
# ResNet50 layer3): below 16 px a max-pool has nothing left to pool.
MIN_OPTIMIZE_SIDE = 16
Callback = Callable[[int, torch.Tensor, list[dict]], None]  # (step, image, log so far)


@dataclass
class OptimizeResult:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1]
    log: list[dict]  # one dict per step: step, stage, seconds, total, content, style, tv


def _stage_sizes(content: torch.Tensor, scales: Sequence[int]) -> list[int]:
    return [int(s) for s in scales] or [min(content.shape[-2:])]


def _stage_steps(steps: int | Sequence[int], stages: int) -> list[int]:
    if isinstance(steps, int):
        return [steps] * stages
    if len(steps) != stages:
        raise ValueError(f"got {len(steps)} step counts for {stages} scales")
    return [int(s) for s in steps]


def initial_image(
    content: torch.Tensor, init: str, noise_std: float, generator: torch.Generator
) -> torch.Tensor:
    """The starting pixels: the content, uniform noise, or the content + Gaussian noise, clamped."""
    if init == "content":
        return content.clone()
    if init == "noise":
        return torch.rand(content.shape, generator=generator).to(content)
    if init != "content+noise":
        raise ValueError(f"unknown init '{init}'; choose content, noise or content+noise")
    noise = torch.randn(content.shape, generator=generator).to(content)
    return (content + noise_std * noise).clamp(0, 1)


def optimize(
    net: nn.Module,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    opts: OptimizeOptions | None = None,
    style_weights: Sequence[float] | None = None,
    callback: Callback | None = None,
    progress: Callable[[dict], None] | None = None,
    prior: TemporalPrior | None = None,
) -> OptimizeResult:
    """Optimize the pixels of a (1, 3, H, W) image to carry `content`'s layout and the (blended)
    styles.

    Args:
        net: frozen feature network (models.registry.build_feature_net) on the content's device.
        content: (1, 3, H, W) in [0, 1]; the output has this size, or the last scale's when
            `opts.scales`.
        styles: (1, 3, h, w) style images of any sizes and aspect ratios.
        opts: the knobs; see OptimizeOptions.
        style_weights: one float per style (normalized to sum 1); None: equal.
        callback: called as callback(step, image, log) every `opts.save_every` steps and after the
            last.
        progress: called after every step with that step's log entry (a progress bar's update).
        prior: a video's warped previous result: the start image and a temporal loss
            (TemporalPrior).
    """
    opts = opts or OptimizeOptions()
    if opts.precision == "fp16":
        raise ValueError(OPTIMIZE_FP16)
    _, style_layers = opts.layers()
    weights = list(style_weights) if style_weights is not None else [1.0] * len(styles)
    original = content
    if opts.luminance_only:
        styles = [luminance_image(s, content) for s in styles]
        content = luminance_image(content)
        if prior is not None:  # the previous result already has the content's colours: its own Y
            prior = TemporalPrior(luminance_image(prior.image), prior.mask, prior.weight)
    generator = torch.Generator().manual_seed(opts.seed)
    sizes = _stage_sizes(content, opts.scales)
    steps = _stage_steps(opts.steps, len(sizes))
    log: list[dict] = []
    image, start = None, time.perf_counter()
    for stage, (short, n_steps) in enumerate(zip(sizes, steps)):
        factor = short / sizes[-1]
        stage_content = resize_short(content, short)
        stage_styles = [resize_short(s, max(1, round(min(s.shape[-2:]) * factor))) for s in styles]
        targets = blended_style_targets(
            net, stage_styles, weights, style_layers, opts.style_loss, opts.precision
        )
        size, stage_prior = stage_content.shape[-2:], None
        if prior is not None:  # at the stage's size (bilinear; the mask too, as a soft weight)
            resized = [resize(t, size).to(content.device) for t in (prior.image, prior.mask)]
            stage_prior = TemporalPrior(*resized, prior.weight)
        objective = Objective(net, stage_content, targets, opts, stage_prior)
        if image is None and stage_prior is not None:
            image = stage_prior.image.clone()
        elif image is None:
            image = initial_image(stage_content, opts.init, opts.noise_std, generator)
        else:  # coarse-to-fine: continue from the upsampled previous stage
            image = resize(image, size)

        def step_done(losses: dict, current: torch.Tensor, stage=stage) -> None:
            log.append(
                {"step": len(log) + 1, "stage": stage, "seconds": time.perf_counter() - start}
                | losses
            )
            if progress:
                progress(log[-1])
            if callback and opts.save_every and len(log) % opts.save_every == 0:
                callback(len(log), _finish(current, original, opts), log)

        image = run_stage(objective, image, n_steps, opts, step_done)
    result = _finish(image, original, opts)
    if callback:
        callback(len(log), result, log)
    return OptimizeResult(result, log)


def _finish(image: torch.Tensor, original: torch.Tensor, opts: OptimizeOptions) -> torch.Tensor:
    image = image.detach().clamp(0, 1)
    if not opts.luminance_only:
        return image.clone()
    return preserve_luminance(image, resize(original.float(), image.shape[-2:]))


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
    steps = gatys.steps
    total = steps * max(1, len(gatys.scales)) if isinstance(steps, int) else sum(steps)
    outs = []
    for b in range(len(contents)):
        with tqdm(total=total, desc="optimize", unit="step", leave=False) as bar:

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


def step_writer(stem: Path, plan: Plan) -> Callback:
    """--save-every: a callback writing each intermediate image as `<stem>__stepNNNNN.<fmt>` and the
    loss log so far as `<stem>.losses.json`; a name over an input file raises ValueError."""

    def callback(step: int, image: torch.Tensor, log: list[dict]) -> None:
        for path, write in (
            (Path(f"{stem}__step{step:05d}.{plan.fmt}"), lambda p: save_image(image[0], p)),
            (
                stem.with_name(stem.name + ".losses.json"),
                lambda p: atomic_write(p, json.dumps(log, indent=1)),
            ),
        ):
            if reason := plan.refuses(path):
                raise ValueError(reason)
            write(path)

    return callback
