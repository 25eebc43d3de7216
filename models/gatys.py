"""Per-image optimization (Gatys et al. 2016, "Image Style Transfer Using Convolutional Neural \
Networks").

The pixels of one image are optimized against a frozen feature network with the training losses of
models/losses.py:

    total = content_weight * sum_l content_loss_l + style_weight * sum_l w_l * style_l + tv_weight *
    tv

Normalization (models/losses.py): content_loss is the MSE over C*H*W; the Gram style loss sums the
squared differences of F F^T / (C*H*W) over its C*C entries, i.e. 4x Gatys' E_l, so equal layer
weights w_l = 1 are Gatys' w_l = 1/5 up to a constant folded into style_weight. Gatys' content term
is a SUM over C*H*W, which makes his alpha/beta ratio depend on the image size and on the network's
input scale (Caffe 0-255 pixels); with MSE content and [0, 1] ImageNet-normalized input, his
1e-3..1e-4 ratio at 256-512 px lands at style_weight ~ 1e1..1e3, and the PyTorch tutorial's 1e6 for
a Gram MSE over C*C entries is 1e6 / C^2 = 4 ... 244 per layer here. DEFAULT_STYLE_WEIGHT = 10 is at
the low (content-keeping) end of that range: offline only random-weight VGG exists, and there 10
already cuts the style loss >= 10x in 200 steps at 256 px while the content loss ends below 0.75x
the content loss of an unrelated image (the style image) (bench/figures.py: gatys_default_check;
with the relu4_2 content layer, Adam: style 290x lower, content 0.63x the unrelated image's;
docs/results/design_figures.md). With pretrained VGG raise it (--style-weight 100-1000) for a
stronger stylization; that cannot be checked here.

Design choices:
  * Parametrization: plain pixels, projected back into [0, 1] after every optimizer step (projected
    gradient). A sigmoid parametrization would be smooth but freezes saturated content pixels (its
    slope is ~1e-3 at logit(0.999)), and never clamping (Gatys' Caffe code) lets L-BFGS wander out
    of range.
  * Optimizer: Adam by default. Gatys used L-BFGS; here L-BFGS runs one function evaluation per step
    (max_iter=1, history kept across steps, no line search, as in Johnson's neural-style) so `steps`
    counts network evaluations for both and the projection happens between steps. Its tolerances are
    0 (a tiny gradient must not end it silently). Its loss is scaled so the first gradient has
    mean |g| = 1: these normalized losses are O(1e-3), and unscaled L-BFGS stalled on some random
    VGG19s where the scaled one kept falling (tests/test_gatys.py checks it). With a saturated
    texture as the style, the projection moves the point off the step L-BFGS recorded and its loss
    rises on some steps; Adam never rose in the same runs, hence the default (figures:
    docs/results/design_figures.md). Each stage returns the lowest-loss image it evaluated, so a
    non-monotone run never ends on a bad iterate.
  * Several styles: their statistics are blended with the weights (sum_k w_k * Gram_k). For a
    squared distance this has the same minimizer as the weighted sum of per-style losses and costs
    one loss.
  * Original colors: `luminance_only` is Gatys et al.'s luminance-only transfer ("Preserving Color
    in Neural Artistic Style Transfer", 2016): content and styles become grey luminance images (each
    style's luminance matched to the content's mean/std), the optimization runs on those, and the
    result's luminance is recombined with the content's Cb/Cr (models.color.preserve_luminance).
  * Multi-scale (coarse to fine): stage i optimizes at short side scales[i] starting from the
    upsampled result of stage i-1; style images are resized by the same factor as the content so the
    pattern size relative to the content is the same at every stage. Targets are computed once per
    stage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from media.resize import resize, resize_short
from models.adain import normalize_weights
from models.color import preserve_luminance, rgb_to_ycbcr
from models.losses import (
    content_loss,
    layer_weights,
    style_losses,
    style_targets,
    tv_loss,
    weighted_sum,
)
from models.precision import autocast
from models.registry import FEATURE_NETS

DEFAULT_STYLE_WEIGHT = 10.0
DEFAULT_TV_WEIGHT = (
    1e-3  # a light smoothness prior; tv is O(0.1) on photos, so this is < 1% of the total
)
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}  # Adam: pixel step ~2% of the range per step
# fp16 is refused rather than loss-scaled: the losses are normalized by C*H*W, so the shallow
# layers' gradients at 512 px (~1e-6..1e-8) underflow fp16 (smallest subnormal 6e-8) in the backward
# pass through the feature network; a scale large enough for them (and a GradScaler's skipped steps)
# would also have to hold under L-BFGS's history, which a skipped step corrupts. bf16 has fp32's
# exponent range.
OPTIMIZE_FP16 = (
    "--precision fp16 with the per-image optimization: its normalized losses' "
    "gradients underflow in fp16; use --precision bf16 (GPUs of compute capability >= "
    "8.0, AVX-512 BF16 CPUs) or fp32 (a T4)"
)
Callback = Callable[[int, torch.Tensor, list[dict]], None]


@dataclass
class OptimizeOptions:
    """Knobs of the optimization; empty layer tuples mean the feature network's defaults
    (models.registry)."""

    feature_net: str = "vgg19"
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()
    style_layer_weights: tuple[float, ...] = ()  # empty: 1.0 per layer
    style_loss: str = "gram"  # a name in models.losses.STYLE_LOSSES
    content_weight: float = 1.0
    style_weight: float = DEFAULT_STYLE_WEIGHT
    tv_weight: float = DEFAULT_TV_WEIGHT
    optimizer: str = (
        "adam"  # "adam" | "lbfgs" (see the module docstring for why Adam is the default)
    )
    lr: float = 0.0  # 0: DEFAULT_LR[optimizer]
    steps: int | Sequence[int] = 200  # per stage; a sequence gives one count per scale
    init: str = "content"  # "content" | "noise" | "content+noise"
    noise_std: float = 0.1  # std of the Gaussian noise added by init="content+noise"
    scales: Sequence[int] = field(
        default_factory=tuple
    )  # short sides, coarse to fine; empty: content size
    luminance_only: bool = False
    save_every: int = 0  # call the callback every N steps (and at the end)
    seed: int = 0
    precision: str = "fp32"  # "fp32" | "bf16": the feature network's autocast (fp16: OPTIMIZE_FP16)

    def layers(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        spec = FEATURE_NETS[self.feature_net]
        return tuple(self.content_layers or spec.content_layers), tuple(
            self.style_layers or spec.style_layers
        )


@dataclass
class TemporalPrior:
    """Video (Ruder et al. 2016, "Artistic style transfer for videos"): the previous frame's result
    warped onto this frame is the starting image, and the short-term temporal loss
    weight * mean over pixels and channels of mask * (x - warped)^2 is added to the total.

    `image`: (1, 3, H, W) in [0, 1]; `mask`: (1, 1, H, W) in [0, 1], 0 where occluded (Ruder's c).
    Ruder et al. divide by D = H*W*3 as well, so the loss does not grow with the frame size.
    """

    image: torch.Tensor
    mask: torch.Tensor
    weight: float

    def at(self, size: tuple[int, int], device: torch.device) -> TemporalPrior:
        """The prior resized to a stage's size (bilinear; the mask too, as a soft weight)."""
        image, mask = (
            t if t.shape[-2:] == size else resize(t, size) for t in (self.image, self.mask)
        )
        return TemporalPrior(image.to(device), mask.to(device), self.weight)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        return (self.mask * (x - self.image) ** 2).mean()


@dataclass
class OptimizeResult:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1]
    log: list[dict]  # one dict per step: step, stage, seconds, total, content, style, tv


def luminance_image(images: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
    """(B, 3, H, W) -> grey (B, 3, H, W) luminance; with `reference`, Y is matched to its
    mean/std."""
    y = rgb_to_ycbcr(images)[:, :1]
    if reference is not None:
        ref = rgb_to_ycbcr(reference)[:, :1]
        y = (y - y.mean()) / (y.std() + 1e-6) * ref.std() + ref.mean()
    return y.expand(-1, 3, -1, -1)


def blended_style_targets(
    net: nn.Module,
    styles: Sequence[torch.Tensor],
    weights: Sequence[float],
    layers: Sequence[str],
    loss_name: str,
    precision: str = "fp32",
) -> dict[str, torch.Tensor]:
    """sum_k w_k * statistic(style_k) per layer, each style encoded once; weights normalized to sum
    1."""
    weights = normalize_weights(weights, len(styles))
    blended: dict[str, torch.Tensor] = {}
    for w, style in zip(weights, styles):
        with torch.no_grad(), autocast(style.device, precision):
            targets = style_targets(loss_name, net(style, layers), layers)
        for layer, t in targets.items():
            blended[layer] = blended.get(layer, 0) + w * t
    return blended


def initial_image(
    content: torch.Tensor, init: str, noise_std: float, generator: torch.Generator
) -> torch.Tensor:
    """The starting pixels: the content, uniform noise, or the content plus Gaussian noise
    (clamped)."""
    if init == "content":
        return content.clone()
    if init == "noise":
        return torch.rand(content.shape, generator=generator).to(content)
    if init == "content+noise":
        return (
            content + noise_std * torch.randn(content.shape, generator=generator).to(content)
        ).clamp(0, 1)
    raise ValueError(f"unknown init '{init}'; choose content, noise or content+noise")


class Objective:
    """The weighted loss of an image against precomputed content features and style targets at one
    stage."""

    def __init__(
        self,
        net: nn.Module,
        content: torch.Tensor,
        targets: dict[str, torch.Tensor],
        opts: OptimizeOptions,
        prior: TemporalPrior | None = None,
    ):
        self.net, self.opts, self.targets, self.prior = net, opts, targets, prior
        self.content_layers, style_layers = opts.layers()
        self.style_w = layer_weights(style_layers, opts.style_layer_weights)
        self.layers = list(dict.fromkeys([*self.content_layers, *style_layers]))
        with torch.no_grad(), autocast(content.device, opts.precision):
            feats = net(content, self.content_layers)
        self.content_feats = {k: v.float() for k, v in feats.items()}

    def __call__(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        opts = self.opts
        with autocast(image.device, opts.precision):
            feats = self.net(image, self.layers)
        content = sum(content_loss(feats[k], self.content_feats[k]) for k in self.content_layers)
        style = weighted_sum(style_losses(opts.style_loss, feats, self.targets), self.style_w)
        tv = tv_loss(image)
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


def _stage_sizes(content: torch.Tensor, scales: Sequence[int]) -> list[int]:
    return [int(s) for s in scales] or [min(content.shape[-2:])]


def _stage_steps(steps: int | Sequence[int], stages: int) -> list[int]:
    if isinstance(steps, int):
        return [steps] * stages
    if len(steps) != stages:
        raise ValueError(f"got {len(steps)} step counts for {stages} scales")
    return [int(s) for s in steps]


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
        stage_prior = (
            None if prior is None else prior.at(stage_content.shape[-2:], stage_content.device)
        )
        objective = Objective(net, stage_content, targets, opts, stage_prior)
        if image is None and stage_prior is not None:
            image = stage_prior.image.clone()
        elif image is None:
            image = initial_image(stage_content, opts.init, opts.noise_std, generator)
        else:  # coarse-to-fine: continue from the upsampled previous stage
            image = resize(image, stage_content.shape[-2:])
        image = _run_stage(
            objective, image, n_steps, opts, stage, log, start, callback, original, progress
        )
    result = _finish(image, original, opts)
    if callback:
        callback(len(log), result, log)
    return OptimizeResult(result, log)


def _run_stage(
    objective: Objective,
    image: torch.Tensor,
    n_steps: int,
    opts: OptimizeOptions,
    stage: int,
    log: list[dict],
    start: float,
    callback: Callback | None,
    original: torch.Tensor,
    progress: Callable[[dict], None] | None = None,
) -> torch.Tensor:
    """Optimize `image` for n_steps at one scale (appending to `log`); returns the lowest-loss image
    seen."""
    # contiguous: L-BFGS views .grad flat, which fails on a strided input such as a crop
    image = image.detach().clamp(0, 1).contiguous().requires_grad_(True)
    optimizer = make_optimizer(opts.optimizer, [image], opts.lr)
    best, losses = _Best(), {}
    # L-BFGS: the loss scaled so the first gradient has mean |g| = 1 (see module docstring)
    scale = None

    def closure():
        nonlocal scale
        optimizer.zero_grad(set_to_none=True)
        out = objective(image)
        out["total"].backward()
        if opts.optimizer == "lbfgs":
            scale = scale or 1.0 / image.grad.abs().mean().clamp_min(1e-20).item()
            image.grad.mul_(scale)
        losses.update({k: float(v.detach()) for k, v in out.items()})
        best.update(losses["total"], image)
        return out["total"] * (scale or 1.0)

    for _ in range(n_steps):
        optimizer.step(closure)
        with torch.no_grad():
            image.clamp_(0, 1)  # projection onto the valid pixel range
        log.append(
            {"step": len(log) + 1, "stage": stage, "seconds": time.perf_counter() - start, **losses}
        )
        if progress:
            progress(log[-1])
        if callback and opts.save_every and len(log) % opts.save_every == 0:
            callback(len(log), _finish(image, original, opts), log)
    return best.image if best.image is not None else image.detach()


class _Best:
    """The lowest-loss image evaluated in a stage (L-BFGS without line search is not monotone)."""

    def __init__(self):
        self.loss, self.image = float("inf"), None

    def update(self, loss: float, image: torch.Tensor) -> None:
        if loss < self.loss:
            self.loss, self.image = loss, image.detach().clone()


def _finish(image: torch.Tensor, original: torch.Tensor, opts: OptimizeOptions) -> torch.Tensor:
    image = image.detach().clamp(0, 1)
    return preserve_luminance(image, original) if opts.luminance_only else image.clone()
