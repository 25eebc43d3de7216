"""What the web demo passes around: a request as the page or the API sent it, a result, a step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

OPTIMIZE = "optimize"  # the model picker's value for the per-image optimization (no checkpoint)
RANDOM_BANNER = "random weights: not a real stylization"


@dataclass
class Request:
    """One click of the button or one `/stylize` call, as sent: Demo.options converts and checks.

    Paths are uploads in the temp folder; numbers may arrive as text, lists or None from the API.
    The page's inputs and the API's parameters are named like these fields and passed by name.
    """

    content: str | None
    styles: Sequence[str | None]
    model: str = OPTIMIZE  # a label of Demo.models, or OPTIMIZE
    alpha: object = 1.0  # trained decoders only
    style_weights: object = None  # one per given style, "0.3,0.7" or a list; None or "": equal
    preserve_color: object = "none"
    size: object = 512  # short side of the output
    precision: str = "fp32"
    steps: object = 100  # optimization: steps per scale
    style_weight: object = None  # optimization; None: models.gatys default
    scales: object = ()  # optimization: coarse short sides before the output's, e.g. "128,256"


@dataclass
class Result:
    image: torch.Tensor  # (3, H, W) in [0, 1], the content's size after the size knob
    content: torch.Tensor  # (3, H, W) the content as stylized, for the before/after view
    path: Path  # the full-resolution PNG
    seconds: float  # model load (when not cached) + stylization
    random_weights: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class Step:
    """An intermediate image of the optimization, for the stream."""

    step: int
    total: int
    image: torch.Tensor  # (3, H, W)
