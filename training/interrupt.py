"""Ctrl-C during training: one line on the main process (the step reached and the exact command
that resumes), exit status 130, no traceback from any rank.

A Ctrl-C sends SIGINT to the whole foreground process group: under `accelerate launch` the launcher
and every rank at once, and torch elastic's agent (inside the launcher) then forwards it to the
ranks a second time. Hence three rules while `handling()` is active:
- the first SIGINT raises KeyboardInterrupt where the code runs: training stops mid-step and a
  resume continues from the newest complete checkpoint (saves are atomic); a later SIGINT is the
  same request and is ignored, so no second KeyboardInterrupt fires inside the clean-up;
- a SIGINT that arrives while an error is already being handled does not replace that error: the
  error is then the interruption (`caused`), and the loop stops at its next step (`check`);
- a rank whose peer left first fails in a collective (gloo: connection closed by peer) before its
  own KeyboardInterrupt; once an interruption was requested, any such error is the interruption.

The launcher reacts on its own, outside train.py: torch elastic's agent (`--multi_gpu`) raises
SignalException, stops the ranks and prints that traceback, exit status 1; accelerate's simple
launcher (`--cpu`, one process) prints the KeyboardInterrupt of its `wait()`.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from training.launch import launch_command

_requested = False


@contextmanager
def handling():
    """Install the SIGINT rules above for the duration; the previous handler and state come back
    after."""
    global _requested
    _requested = False
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _requested = False  # train() called later in this process (tests, notebooks) starts afresh


def _on_sigint(signum, frame) -> None:
    global _requested
    if _requested:
        return  # the launcher forwarding the user's Ctrl-C: already being acted on
    _requested = True
    if sys.exc_info()[1] is None:
        raise KeyboardInterrupt


def caused(err: BaseException) -> bool:
    """Whether `err` is (or follows from) the user's Ctrl-C."""
    return isinstance(err, KeyboardInterrupt) or (_requested and isinstance(err, Exception))


def check() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C arrived while an error was handled (and survived)."""
    if _requested:
        raise KeyboardInterrupt


def launcher_prefix() -> list[str] | None:
    """The command that started this process, up to the script (`accelerate launch ...` with every
    flag as typed), or None without a launcher or where /proc cannot say (not Linux).

    The launcher is this process's parent and its command line ends with this process's own
    arguments (`train.py --config ...`); a shell, pytest or any other parent does not.
    """
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
            parent = [arg.decode() for arg in f.read().split(b"\0")[:-1]]
    except OSError:
        return None
    ours = sys.argv
    if len(parent) <= len(ours) or parent[-len(ours) :] != ours:
        return None
    return parent[: -len(ours)]


class TrainingInterrupted(Exception):
    """Ctrl-C during training: the step reached and the newest checkpoint, for the one-line
    report."""

    def __init__(self, step: int, last_saved: int | None, run_dir: Path, mixed_precision: str):
        super().__init__(step)
        self.step, self.last_saved, self.run_dir = step, last_saved, Path(run_dir)
        self.mixed_precision = mixed_precision

    def resume_command(self) -> str:
        """The command that continues this run: the launch as typed (else its equivalent), the
        run's own config.yaml (it records the overrides and plugins) and `--resume latest`."""
        world = int(os.environ.get("WORLD_SIZE", 1))
        launch = launcher_prefix() or launch_command(world, self.mixed_precision)
        script = sys.argv[0] if os.path.basename(sys.argv[0]) == "train.py" else "train.py"
        run = ["--config", str(self.run_dir / "config.yaml"), "--run-dir", str(self.run_dir)]
        return shlex.join([*launch, script, *run, "--resume", "latest"])

    def message(self) -> str:
        if self.last_saved is None:
            return (
                f"interrupted at step {self.step}: no checkpoint was saved yet (train.save_every="
                "...); run the same command again to start over"
            )
        return (
            f"interrupted at step {self.step} (last checkpoint: step "
            f"{self.last_saved}); resume with: {self.resume_command()}"
        )
