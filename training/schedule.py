"""Learning rate and run length as pure functions of the step, so a resumed run needs no scheduler \
state."""

from __future__ import annotations

import math


def lr_at(step: int, lr: float, lr_decay: float) -> float:
    """The AdaIN paper's inverse-time decay: lr / (1 + lr_decay * step); lr_decay = 0 keeps lr
    constant.

    It depends on the step only (never on the total step count), so `train.steps=k` followed by a
    resume with `train.steps=n` follows exactly the schedule of an uninterrupted n-step run.
    """
    return lr / (1.0 + lr_decay * step)


def total_steps(steps: int, epochs: int, num_content: int, batch_size: int, world_size: int) -> int:
    """Steps to run: `steps`, or fewer when `epochs` > 0 passes over the content set end first.

    A step draws batch_size * world_size content images, so `epochs` passes take
    ceil(epochs * num_content / (batch_size * world_size)) steps (the last one may straddle into the
    next pass).
    """
    if epochs <= 0:
        return steps
    return min(steps, math.ceil(epochs * num_content / (batch_size * world_size)))
