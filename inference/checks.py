"""The one place that checks a number or a choice from outside: an infer.py flag, a demo field.

A value arrives as whatever the caller sent (text, int, float, a list, None); `number` and `numbers`
turn it into a finite int/float inside a range or raise CheckError with one line naming the field,
and `choice` checks a name against the allowed values that `InferOptions` declares (its Literal
annotations, the same source infer.py's flags and the demo's pickers use). `check_options` applies
the ranges in RANGES to every numeric field of an InferOptions: nan, inf and 1e308 never reach a
model (they made all-black images).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Sequence

from inference.options import InferError, InferOptions
from models.adain import MAX_ALPHA

BIG_WEIGHT = 1e12  # larger loss weights only overflow float32 losses (default style weight: 10)
MAX_MIX_WEIGHT = 1e6  # style mix weights are normalized to sum 1: only their ratios matter
MAX_SIDE = 65536  # px; an image side above this is a typo (and Pillow refuses such files anyway)
MAX_STEPS = 10**7
PIXELS = (1, MAX_SIDE, True)  # an image side
PIXELS_OR_ZERO = (0, MAX_SIDE, True)  # a tile side (0: never tile) or the tiles' overlap
LOSS_WEIGHT = (0.0, BIG_WEIGHT, False)
# (low, high, integer) per numeric InferOptions field; sequences are checked element by element
RANGES: dict[str, tuple[float, float, bool]] = {
    "alpha": (0.0, MAX_ALPHA, False),
    "style_weights": (0.0, MAX_MIX_WEIGHT, False),
    **dict.fromkeys(("size", "max_size", "style_size", "scales"), PIXELS),
    **dict.fromkeys(("tile_size", "tile_overlap"), PIXELS_OR_ZERO),
    **dict.fromkeys(("content_weight", "style_weight", "tv_weight"), LOSS_WEIGHT),
    "batch_size": (1, 4096, True),
    "seed": (-(2**63), 2**64 - 1, True),
    "steps": (1, MAX_STEPS, True),
    "save_every": (0, MAX_STEPS, True),  # 0: no intermediate images
    "lr": (0.0, 1e6, False),
}


class CheckError(InferError):
    """A number or choice of the wrong type, range or value; str() is one line naming the field."""


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def number(
    name: str, value: object, low: float = -math.inf, high: float = math.inf, integer: bool = False
) -> float | int:
    """`value` (a number or its text) as a finite float (int when `integer`) in [low, high]."""
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CheckError(f"{name} must be {kind}, got {type(value).__name__} {_show(value)}")
    try:
        x = float(value)
    except (ValueError, OverflowError):
        raise CheckError(f"{name} must be {kind}, got {_show(value)}") from None
    if not math.isfinite(x) or (isinstance(value, int) and abs(value) > 2**64):
        raise CheckError(f"{name} must be a finite number, got {_show(value)}")
    if integer and not x.is_integer():
        raise CheckError(f"{name} must be a whole number, got {_show(value)}")
    out = int(value) if isinstance(value, int) else int(x) if integer else x
    if not low <= out <= high:
        bounds = f"be >= {low:g}" if high == math.inf else f"lie in [{low:g}, {high:g}]"
        raise CheckError(f"{name} must {bounds}, got {_show(value)}")
    return out


def numbers(
    name: str, value: object, low: float = -math.inf, high: float = math.inf, integer: bool = False
) -> tuple:
    """Text such as "0.3,0.7" (commas and/or spaces) or a sequence -> a tuple of checked numbers."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Sequence):
        raise CheckError(f"{name} must be numbers separated by commas, got {type(value).__name__}")
    try:
        return tuple(number(name, v, low, high, integer) for v in value)
    except CheckError as err:
        example = "128,256" if integer else "0.3,0.7"
        raise CheckError(f"{err}; give numbers separated by commas, e.g. {example}") from None


def allowed(field: str) -> tuple[str, ...]:
    """The values an InferOptions field accepts, from its Literal annotation (None not listed)."""
    hint = typing.get_type_hints(InferOptions)[field]
    candidates = (hint, *typing.get_args(hint))  # Literal[...] or Literal[...] | None
    literal = next((a for a in candidates if typing.get_origin(a) is typing.Literal), None)
    if literal is None:
        raise KeyError(f"InferOptions.{field} is not a choice")
    return typing.get_args(literal)


def choice(name: str, value: object, options: Sequence[str]) -> str:
    """`value` if it is one of `options`, else CheckError listing them."""
    if not isinstance(value, str) or value not in options:
        raise CheckError(f"{name} must be one of {', '.join(options)}; got {_show(value)}")
    return value


def check_options(opts: InferOptions) -> InferOptions:
    """Every numeric field finite and within RANGES, every Literal field one of its values."""
    for name, (low, high, integer) in RANGES.items():
        value = getattr(opts, name)
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, (tuple, list)):
            numbers(flag, value, low, high, integer)
        else:
            number(flag, value, low, high, integer)
    if opts.style_weights is not None and not sum(opts.style_weights) > 0:
        raise CheckError(f"--style-weights must not all be 0, got {list(opts.style_weights)}")
    for f in dataclasses.fields(opts):
        value = getattr(opts, f.name)
        try:
            options = allowed(f.name)
        except KeyError:
            continue
        if value is not None:
            choice("--" + f.name.replace("_", "-"), value, options)
    return opts
