"""Ctrl-C during training: one line on the main process (the step reached and the exact command
that resumes), exit status 130, no traceback from any rank.

A Ctrl-C sends SIGINT to the whole foreground process group: under `accelerate launch` the launcher
and every rank at once, and the launcher then stops the ranks itself: torch elastic's agent
(`--multi_gpu`) forwards the SIGINT; accelerate's simple launcher (`--cpu`, one process), which
pipes the rank's stderr to the terminal, sends it SIGTERM at once, keeps copying its stderr and
SIGKILLs it after 5 s. By default that SIGTERM ends the rank at once, so its line was lost whenever
the launcher acted before the rank: a SIGTERM is the same request as a SIGINT (a scheduler stopping
the job sends one too). Hence three rules while `handling()` is active:
- the first SIGINT or SIGTERM raises KeyboardInterrupt where the code runs: training stops mid-step
  and a resume continues from the newest complete checkpoint (saves are atomic); a later one is the
  same request and is ignored, so no second KeyboardInterrupt fires inside the clean-up;
- a signal that arrives while an error is already being handled does not replace that error: the
  error is then the interruption (`caused`), and the loop stops at its next step (`check`);
- a rank whose peer left first fails in a collective (gloo: connection closed by peer) before its
  own KeyboardInterrupt; once an interruption was requested, any such error is the interruption.

The launcher reacts on its own, outside train.py: torch elastic's agent raises SignalException,
stops the ranks and prints that traceback, exit status 1; accelerate's simple launcher exits 130
once the rank has. An older simple launcher (`Popen.wait()`) waits 0.25 s, prints the
KeyboardInterrupt of its `wait()` and exits while the rank may still run: the rank, reparented,
prints its line before or after that traceback. Its parent is then no longer the launcher, so the
launch command is read when `handling()` starts, not at the interruption.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from training.launch import launch_command

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_requested = False
_launch: list[str] | None = None  # launcher_prefix() as handling() found it


@contextmanager
def handling():
    """Install the rules above for the duration; the previous handlers and state come back
    after."""
    global _requested, _launch
    _requested, _launch = False, launcher_prefix()
    previous = {sig: signal.signal(sig, _on_stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # train() called later in this process (tests, notebooks) starts afresh
        _requested, _launch = False, None


def _on_stop(signum, frame) -> None:
    global _requested
    if _requested:
        return  # the launcher relaying the user's Ctrl-C: already being acted on
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
        launch = _launch or launch_command(world, self.mixed_precision)
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
