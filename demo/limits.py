"""What one web-demo request may ask for, and the stop flag that ends its computation early.

A public server's requests share one model run at a time, so one request must not hold it for hours:
`Limits` caps the sizes a request may ask for (the page's sliders read the same numbers), and a
`Budget` (the request's deadline plus a cancel flag set by the Cancel button, `job.cancel()` or a
client that went away) is checked inside every `nn.Module.forward` the request's thread runs,
through one global forward-pre-hook (installed while a budget is active). The decoder, its tiles,
the optimization's feature net: each layer is a check point, so a stop takes effect within one
layer, never at the end of the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch


class DemoError(Exception):
    """A request the demo cannot serve; str() is one line for the page."""


class Cancelled(DemoError):
    """The visitor pressed Cancel, cancelled the API job, or went away."""


class OutOfTime(DemoError):
    """The request ran past the server's time limit."""


@dataclass(frozen=True)
class Limits:
    """Per-request limits of the demo; each is an app.py flag (named in `FLAGS`)."""

    max_size: int = 1024  # px: the output's short side at most; every long side capped to it
    max_steps: int = 1000  # optimization steps per scale
    max_scales: int = 3  # coarse optimization scales before the output's
    max_styles: int = 3  # styles mixed in one request (the page's style slots)
    max_megapixels: float = 50.0  # an upload's pixels, read from its header before decoding
    time_limit: float = 300.0  # seconds of computation per request (queueing not counted)

    FLAGS = {
        "max_size": "--max-size",
        "max_steps": "--max-steps",
        "max_scales": "--max-scales",
        "max_styles": "--max-styles",
        "max_megapixels": "--max-megapixels",
        "time_limit": "--time-limit",
    }

    def over(self, what: str, value: float, limit: str) -> DemoError:
        """The one-line refusal of a request whose `what` is `value`, above the limit `limit`."""
        return DemoError(
            f"{what} {value:g} is over this server's limit of "
            f"{getattr(self, limit):g} (app.py {self.FLAGS[limit]}); ask for less"
        )

    def describe(self) -> str:
        """The limits as one line, for the API docstring (view_api) and the page."""
        return (
            f"size <= {self.max_size} px, steps <= {self.max_steps} per scale, "
            f"<= {self.max_scales} scales, <= {self.max_styles} styles, "
            f"uploads <= {self.max_megapixels:g} MP, <= {self.time_limit:g} s per request"
        )


class Budget:
    """A request's deadline and cancel flag; `check()` raises when either has passed."""

    def __init__(self, seconds: float, cancel: threading.Event | None = None):
        self.seconds, self.start = seconds, time.monotonic()
        self.cancel_flag = cancel or threading.Event()
        self.why, self.where = "cancelled", ""  # where: what a stop interrupts ("at step 3 of 100")

    def cancel(self, why: str = "cancelled") -> None:
        self.why = why
        self.cancel_flag.set()

    def check(self) -> None:
        at = f" {self.where}" if self.where else ""
        if self.cancel_flag.is_set():
            raise Cancelled(f"{self.why}{at}")
        if time.monotonic() - self.start > self.seconds:
            raise OutOfTime(
                f"stopped{at} after {self.seconds:g} s, this server's time limit per "
                "request (app.py --time-limit); choose fewer steps or a smaller size"
            )


_local = threading.local()  # the budget of the request this thread runs
_hook_lock, _hook_users, _hook = threading.Lock(), [0], [None]


def _check_budget(module: torch.nn.Module, args: tuple) -> None:
    budget = getattr(_local, "budget", None)
    if budget is not None:
        budget.check()


@contextmanager
def watching(budget: Budget) -> Iterator[Budget]:
    """Check `budget` before every module forward this thread runs inside the block.

    The hook is global (a module cannot tell which request calls it: two requests may share an
    engine) and looks up the calling thread's budget; it is removed when no request runs, so the
    rest of the process keeps torch's hook-free fast path.
    """
    with _hook_lock:
        _hook_users[0] += 1
        if _hook[0] is None:
            _hook[0] = torch.nn.modules.module.register_module_forward_pre_hook(_check_budget)
    previous, _local.budget = getattr(_local, "budget", None), budget
    try:
        budget.check()
        yield budget
    finally:
        _local.budget = previous
        with _hook_lock:
            _hook_users[0] -= 1
            if _hook_users[0] == 0 and _hook[0] is not None:
                _hook[0].remove()
                _hook[0] = None
