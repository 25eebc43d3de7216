"""Wall-clock accounting of the loop: time waiting for batches vs computing, and images per \
second."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class Window:
    """Seconds and images since the last reset; eval/save time is excluded (it is neither data nor
    compute)."""

    data_s: float = 0.0
    compute_s: float = 0.0
    images: int = 0
    steps: int = 0

    @property
    def images_per_s(self) -> float:
        total = self.data_s + self.compute_s
        return self.images / total if total > 0 else 0.0

    @property
    def data_wait_fraction(self) -> float:
        total = self.data_s + self.compute_s
        return self.data_s / total if total > 0 else 0.0

    def add(self, other: Window) -> None:
        self.data_s += other.data_s
        self.compute_s += other.compute_s
        self.images += other.images
        self.steps += other.steps


class Throughput:
    """Times the two halves of a step. The loop syncs every step (the non-finite check reads the
    loss), so compute time is real device time, not just kernel launch time.
    """

    def __init__(self, images_per_step: int):
        self.images_per_step = images_per_step
        self.window, self.run = Window(), Window()
        self._t = time.perf_counter()

    def start(self) -> None:
        self._t = time.perf_counter()

    def data_ready(self) -> None:
        now = time.perf_counter()
        self.window.data_s += now - self._t
        self._t = now

    def step_done(self) -> None:
        now = time.perf_counter()
        self.window.compute_s += now - self._t
        self.window.images += self.images_per_step
        self.window.steps += 1
        self._t = now

    def take_window(self) -> Window:
        """The window since the last call (added to the whole-run totals), then a fresh one."""
        window, self.window = self.window, Window()
        self.run.add(window)
        return window

    def summary(self) -> str:
        self.take_window()
        r = self.run
        return (
            f"throughput: {r.images_per_s:.2f} images/s over {r.steps} steps; waiting for data "
            f"{r.data_s:.1f}s ({100 * r.data_wait_fraction:.1f}%), computing {r.compute_s:.1f}s"
        )
