"""A web-demo request checked: its values -> InferOptions, its uploads -> tensors (one line if not).

What a visitor sends arrives unconverted (text, lists, None from the API). `request_options` turns
it into the InferOptions infer.py would build: every number and choice through inference/checks.py,
every size through this server's `Limits`, then `InferOptions.validate`. `load_upload` reads an
uploaded file under the pixel budget (from its header, before decoding) and resizes it the way
infer.py does. Both raise `DemoError`, whose one line the page shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from demo.limits import DemoError, Limits
from demo.types import OPTIMIZE, Request
from inference.checks import RANGES, allowed, check_options, choice, number, numbers
from inference.options import InferOptions
from media.images import ImageReadError, read_image, resize_image, to_tensor
from media.resize import fit_size
from runtime.device import precision_warning
from weights.checkpoint import ONNX_META

MIN_SIDE = 16  # VGG's relu4_1 map is 1/8 of the input: below this there is no texture to move
STREAM_FRAMES = 20  # intermediate images the optimization sends while it runs


def request_options(
    req: Request,
    base: InferOptions,
    models: Mapping[str, str],
    limits: Limits,
    precisions: Sequence[str],
    device: torch.device,
) -> InferOptions:
    """`base` with the request's values, each converted and checked; raises DemoError.

    Args:
        models: {label: checkpoint path}; the request names a label or OPTIMIZE.
        precisions: the precisions this server's device offers (runtime.device).
    """
    text = isinstance(req.model, str)
    if req.model != OPTIMIZE and (not text or req.model not in models):
        shown = req.model if text and len(req.model) < 80 else type(req.model).__name__
        raise DemoError(f"unknown model '{shown}'; choose one of: {', '.join([*models, OPTIMIZE])}")
    if req.precision not in precisions:
        why = precision_warning(device, req.precision) or "is not available on this device"
        raise DemoError(f"precision {req.precision}: {why}; choose one of {', '.join(precisions)}")
    styles = tuple(p for p in (req.styles or ()) if p)
    if not req.content:
        raise DemoError("no content image: upload one, paste one, or pick an example")
    if not styles:
        raise DemoError("no style image: upload one, paste one, or pick an example")
    if len(styles) > limits.max_styles:
        raise limits.over("number of styles", len(styles), "max_styles")
    size = number("size", req.size, MIN_SIDE, integer=True)  # the upper limit: this server's
    if size > limits.max_size:
        raise limits.over("size", size, "max_size")
    steps = number("steps", req.steps, RANGES["steps"][0], integer=True)
    if steps > limits.max_steps:
        raise limits.over("steps", steps, "max_steps")
    scales = numbers("scales", req.scales, *RANGES["scales"])
    if len(scales) > limits.max_scales:
        raise limits.over("number of scales", len(scales), "max_scales")
    weights = numbers("style_weights", req.style_weights, *RANGES["style_weights"]) or None
    if weights is not None and len(weights) != len(styles):
        raise DemoError(f"got {len(weights)} style weights for {len(styles)} styles")
    optimize = req.model == OPTIMIZE
    opts = dataclasses.replace(
        base,
        content=(req.content,),
        style=styles,
        method="optimize" if optimize else "decoder",
        checkpoint=None if optimize else models[req.model],
        size=size,
        backend="pytorch" if optimize else model_backend(models[req.model]),
        max_size=limits.max_size,
        style_weights=weights,
        steps=(steps,),
        scales=scales,
        alpha=(1.0 if optimize else number("alpha", req.alpha, *RANGES["alpha"]),),
        preserve_color=choice("preserve_color", req.preserve_color, allowed("preserve_color")),
        precision=req.precision,
        style_weight=None
        if req.style_weight in (None, "")
        else number("style_weight", req.style_weight, *RANGES["style_weight"]),
    )
    return check_options(opts).validate()


def load_upload(path: str, what: str, size: int, limits: Limits) -> tuple[torch.Tensor, list[str]]:
    """An uploaded file -> (3, H, W) in [0, 1] with short side `size`, long side <= max_size; notes.

    The pixel budget is read from the header before decoding; the 16 px minimum holds after
    resizing. `what` names the input in messages ("content", "style 2").
    """
    try:
        img = read_image(path, max_pixels=int(limits.max_megapixels * 1e6))
    except ImageReadError as err:
        raise DemoError(f"{what}: {err.reason}") from None
    w, h = img.size
    tw, th = fit_size(w, h, size, limits.max_size)
    if min(tw, th) < MIN_SIDE:
        resized = f", {tw}x{th} after resizing" if (tw, th) != (w, h) else ""
        raise DemoError(
            f"{what} is {w}x{h} px{resized}; it needs at least {MIN_SIDE} px on "
            "each side (crop a long strip, or choose a larger size)"
        )
    notes = []
    if max(fit_size(w, h, size)) > limits.max_size:
        notes.append(f"{what} {w}x{h} downscaled to {tw}x{th} (size cap {limits.max_size} px)")
    return to_tensor(resize_image(img, size, limits.max_size)), notes


def fit_scales(opts: InferOptions, short: int) -> InferOptions:
    """The optimization's scales end at the content's short side (the output size), coarser first.

    Scales at or above it are dropped (they would enlarge the image). `save_every` spreads
    STREAM_FRAMES intermediate images over all steps.
    """
    scales = tuple(s for s in opts.scales if s < short)
    scales = (*scales, short) if scales else ()
    total = opts.steps[0] * max(1, len(scales))
    return dataclasses.replace(opts, scales=scales, save_every=max(1, total // STREAM_FRAMES))


def model_backend(path: str) -> str:
    """onnxruntime for an ONNX export folder (python export.py --out), else pytorch."""
    return "onnxruntime" if (Path(path) / ONNX_META).is_file() else "pytorch"
