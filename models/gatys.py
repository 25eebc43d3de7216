"""Per-image optimization (Gatys et al. 2016, "Image Style Transfer Using Convolutional Neural \
Networks").

The pixels of one image are optimized against a frozen feature network with the training losses of
models/losses.py:

    total = content_weight * sum_l content_l + style_weight * sum_l w_l * style_l + tv_weight * tv

With models/losses.py's normalizations the Gram loss is 4x Gatys' E_l, so equal layer weights
w_l = 1 are his w_l = 1/5 up to a constant folded into style_weight; his content term is a SUM over
C*H*W (ours a mean) in Caffe's 0-255 input scale, so his alpha/beta of 1e-3..1e-4 at 256-512 px
lands at style_weight ~ 1e1..1e3 here (the PyTorch tutorial's 1e6 for a Gram MSE over C*C entries
is 4 ... 244 per layer). DEFAULT_STYLE_WEIGHT = 10 is the content-keeping end of that range: on a
random-weight VGG19 (all that exists offline) it already cuts the style loss >= 10x in 200 steps
while the content loss stays below an unrelated image's (docs/results/design_figures.md). With
pretrained VGG raise it (--style-weight 100-1000) for a stronger stylization.

Design choices (the runs behind them: docs/results/design_figures.md):
  * Plain pixels, projected back into [0, 1] after every step (projected gradient). A sigmoid
    parametrization freezes saturated pixels (slope ~1e-3 at logit(0.999)); never clamping (Gatys'
    Caffe code) lets L-BFGS wander out of range.
  * Adam by default. L-BFGS (Gatys') runs one function evaluation per step (max_iter=1, history
    kept, no line search, as in Johnson's neural-style), so `steps` counts network evaluations for
    both and the projection happens between steps; its tolerances are 0 (a tiny gradient must not
    end it silently) and its loss is scaled so the first gradient has mean |g| = 1 (these normalized
    losses are O(1e-3); unscaled, it stalled on some random VGG19s). With a saturated texture as the
    style the projection moves the point off the step L-BFGS recorded and its loss rises on some
    steps; Adam never rose. Each stage returns the lowest-loss image it evaluated.
  * Several styles: sum_k w_k * Gram_k. For a squared distance this has the same minimizer as the
    weighted sum of per-style losses, at the cost of one.
  * Coarse-to-fine scales and luminance-only transfer: inference/optimize.py, which drives it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from models import losses
from models.adain import normalize_weights
from models.precision import autocast
from models.registry import FEATURE_NETS

DEFAULT_STYLE_WEIGHT = 10.0
DEFAULT_TV_WEIGHT = 1e-3  # a light smoothness prior: tv is O(0.1) on photos, < 1% of the total
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}  # Adam: pixel step ~2% of the range per step


@dataclass
class OptimizeOptions:
    """Knobs of the optimization; empty layers: the feature network's defaults (models.registry)."""

    feature_net: str = "vgg19"
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()
    style_layer_weights: tuple[float, ...] = ()  # empty: 1.0 per layer
    style_loss: str = "gram"  # a name in models.losses.STYLE_LOSSES
    content_weight: float = 1.0
    style_weight: float = DEFAULT_STYLE_WEIGHT
    tv_weight: float = DEFAULT_TV_WEIGHT
    optimizer: str = "adam"  # "adam" | "lbfgs" (the module docstring says why Adam)
    lr: float = 0.0  # 0: DEFAULT_LR[optimizer]
    steps: int | Sequence[int] = 200  # per stage; a sequence gives one count per scale
    init: str = "content"  # "content" | "noise" | "content+noise"
    noise_std: float = 0.1  # std of the Gaussian noise added by init="content+noise"
    scales: Sequence[int] = field(default_factory=tuple)  # short sides, coarse to fine; (): as is
    luminance_only: bool = False
    save_every: int = 0  # call the callback every N steps (and at the end)
    seed: int = 0
    precision: str = "fp32"  # "fp32" | "bf16": the feature network's autocast (fp16: refused)

    def layers(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        spec = FEATURE_NETS[self.feature_net]
        content = tuple(self.content_layers or spec.content_layers)
        return content, tuple(self.style_layers or spec.style_layers)


@dataclass
class TemporalPrior:
    """Video (Ruder et al. 2016, "Artistic style transfer for videos"): the previous frame's result
    warped onto this frame is the starting image, and the short-term temporal loss
    weight * mean over pixels and channels of mask * (x - warped)^2 is added to the total.

    `image`: (1, 3, H, W) in [0, 1]; `mask`: (1, 1, H, W) in [0, 1], 0 where occluded (Ruder's c);
    both of the optimized image's size (inference/optimize.py resizes them to each stage's).
    Ruder et al. divide by D = H*W*3 as well, so the loss does not grow with the frame size.
    """

    image: torch.Tensor
    mask: torch.Tensor
    weight: float

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        return (self.mask * (x - self.image) ** 2).mean()


def blended_style_targets(
    net: nn.Module,
    styles: Sequence[torch.Tensor],
    weights: Sequence[float],
    layers: Sequence[str],
    loss_name: str,
    precision: str = "fp32",
) -> dict[str, torch.Tensor]:
    """Per layer sum_k w_k * statistic(style_k), w normalized to sum 1; each style encoded once."""
    weights = normalize_weights(weights, len(styles))
    blended: dict[str, torch.Tensor] = {}
    for w, style in zip(weights, styles):
        with torch.no_grad(), autocast(style.device, precision):
            targets = losses.style_targets(loss_name, net(style, layers), layers)
        for layer, t in targets.items():
            blended[layer] = blended.get(layer, 0) + w * t
    return blended


class Objective:
    """An image's weighted loss against precomputed content features and style targets (a stage)."""

    def __init__(
        self,
        net: nn.Module,
        content: torch.Tensor,
        targets: dict[str, torch.Tensor],
        opts: OptimizeOptions,
        prior: TemporalPrior | None = None,
    ):
        if prior is not None and prior.image.shape[-2:] != content.shape[-2:]:
            raise ValueError(f"temporal prior {list(prior.image.shape)} vs {list(content.shape)}")
        self.net, self.opts, self.targets, self.prior = net, opts, targets, prior
        self.content_layers, style_layers = opts.layers()
        self.style_w = losses.layer_weights(style_layers, opts.style_layer_weights)
        self.layers = list(dict.fromkeys([*self.content_layers, *style_layers]))
        with torch.no_grad(), autocast(content.device, opts.precision):
            feats = net(content, self.content_layers)
        self.content_feats = {k: v.float() for k, v in feats.items()}

    def __call__(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        opts = self.opts
        with autocast(image.device, opts.precision):
            feats = self.net(image, self.layers)
        c_feats = self.content_feats
        content = sum(losses.content_loss(feats[k], c_feats[k]) for k in self.content_layers)
        per_layer = losses.style_losses(opts.style_loss, feats, self.targets)
        style = losses.weighted_sum(per_layer, self.style_w)
        tv = losses.tv_loss(image)
        total = opts.content_weight * content + opts.style_weight * style + opts.tv_weight * tv
        out = {"total": total, "content": content, "style": style, "tv": tv}
        if self.prior is not None:
            out["temporal"] = self.prior.loss(image)
            out["total"] = total + self.prior.weight * out["temporal"]
        return out


def make_optimizer(name: str, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    lr = lr or DEFAULT_LR.get(name, 0.0)
    if name == "lbfgs":
        return torch.optim.LBFGS(
            params, lr=lr, max_iter=1, history_size=50, tolerance_grad=0.0, tolerance_change=0.0
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer '{name}'; choose lbfgs or adam")


def run_stage(
    objective: Objective,
    image: torch.Tensor,
    n_steps: int,
    opts: OptimizeOptions,
    step_done: Callable[[dict, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Optimize `image` for n_steps at one scale; returns the lowest-loss image evaluated.

    `step_done(losses, image)` is called after every step with that step's losses (floats) and the
    projected image (a progress bar, a log, intermediate results).
    """
    # contiguous: L-BFGS views .grad flat, which fails on a strided input such as a crop
    image = image.detach().clamp(0, 1).contiguous().requires_grad_(True)
    optimizer = make_optimizer(opts.optimizer, [image], opts.lr)
    # the lowest-loss image evaluated: L-BFGS without line search is not monotone
    best_loss, best, current = float("inf"), None, {}
    # L-BFGS: the loss scaled so the first gradient has mean |g| = 1 (module docstring)
    scale = None

    def closure():
        nonlocal scale, best_loss, best
        optimizer.zero_grad(set_to_none=True)
        out = objective(image)
        out["total"].backward()
        if opts.optimizer == "lbfgs":
            scale = scale or 1.0 / image.grad.abs().mean().clamp_min(1e-20).item()
            image.grad.mul_(scale)
        current.update({k: float(v.detach()) for k, v in out.items()})
        if current["total"] < best_loss:
            best_loss, best = current["total"], image.detach().clone()
        return out["total"] * (scale or 1.0)

    for _ in range(n_steps):
        optimizer.step(closure)
        with torch.no_grad():
            image.clamp_(0, 1)  # projection onto the valid pixel range
        if step_done:
            step_done(dict(current), image.detach())
    return best if best is not None else image.detach()
