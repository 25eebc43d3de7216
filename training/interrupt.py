"""Stopping a run: Ctrl-C stops at once, a scheduler's SIGTERM or SIGUSR1 first saves the step.

Ctrl-C (SIGINT): one line on the main process's stdout (the step reached and the exact command
that resumes from the newest complete checkpoint), exit status 130, no traceback from any rank.
Someone at the terminal wants the prompt back now; the step in flight is dropped.

SIGTERM / SIGUSR1 (a scheduler preempting the job or nearing its time limit; SLURM sends SIGUSR1
ahead of the limit when asked to): every rank finishes the step it is in, the ranks agree on the
step (the stop flag rides on the all-reduce each step already makes: training/loop.py), one complete
step checkpoint is written, the main process prints one line (step, checkpoint, resume command) and
train.py exits with EXIT_PREEMPTED. A requeued job's `--resume latest` continues bitwise exactly.

A Ctrl-C sends SIGINT to the whole foreground process group: under `accelerate launch` the launcher
and every rank at once, and the launcher then stops the ranks itself: torch elastic's agent
(`--multi_gpu`) forwards the SIGINT (and a SIGTERM it gets as SIGTERM, after which it waits 30 s
before a SIGKILL: time for the step and the save); accelerate's simple launcher (`--cpu`, one
process) sends its rank SIGTERM at once and SIGKILLs it after 5 s. Hence the rules while
`handling()` is active:
- the first SIGINT raises KeyboardInterrupt where the code runs; a later SIGINT or SIGTERM is the
  same request and is ignored, so no second KeyboardInterrupt fires inside the clean-up; a SIGINT
  after a SIGTERM still raises (the launcher's SIGTERM may come first: the Ctrl-C wins);
- SIGTERM / SIGUSR1 only set a flag (`stop_requested`): nothing is raised inside a step or a save;
- a SIGINT that arrives while an error is already being handled does not replace that error: the
  error is then the interruption (`caused`), and the loop stops at its next step (`check`);
- a rank whose peer left first fails in a collective (gloo: connection closed by peer) before its
  own KeyboardInterrupt; once an interruption was requested, any such error is the interruption.

The launcher reacts on its own, outside train.py: torch elastic's agent raises SignalException,
stops the ranks and prints that traceback, exit status 1; accelerate's simple launcher exits with
the rank's status. An older simple launcher (`Popen.wait()`) waits 0.25 s, prints the
KeyboardInterrupt of its `wait()` and exits while the rank may still run: the rank, reparented,
prints its line before or after that traceback. Its parent is then no longer the launcher, so the
launch command is read when `handling()` starts, not at the interruption.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from training.launch import launch_command

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
# 128 + SIGTERM: what a shell reports for a job a SIGTERM ended, so wrappers and schedulers read it
# as "preempted" (requeue), distinct from 0 (done), 1/2 (failed, refused) and 130 (Ctrl-C)
EXIT_PREEMPTED = 143
_requested = False  # a Ctrl-C: stop now
_stop_signal: signal.Signals | None = None  # a SIGTERM / SIGUSR1: stop after the step, saved
_launch: list[str] | None = None  # launcher_prefix() as handling() found it


@contextmanager
def handling():
    """Install the rules above for the duration; the previous handlers and state come back
    after."""
    global _requested, _stop_signal, _launch
    _requested, _stop_signal, _launch = False, None, launcher_prefix()
    previous = {sig: signal.signal(sig, _on_stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # train() called later in this process (tests, notebooks) starts afresh
        _requested, _stop_signal, _launch = False, None, None


def _on_stop(signum, frame) -> None:
    global _requested, _stop_signal
    if _requested:
        return  # the launcher relaying the user's Ctrl-C: already being acted on
    if signum != signal.SIGINT:
        _stop_signal = _stop_signal or signal.Signals(signum)  # acted on after the step
        return
    _requested = True
    if sys.exc_info()[1] is None:
        raise KeyboardInterrupt


def stop_requested() -> bool:
    """Whether a SIGTERM or SIGUSR1 asked this rank to save and stop (the ranks agree in the
    loop)."""
    return _stop_signal is not None


def stop_signal_name() -> str:
    return _stop_signal.name if _stop_signal is not None else "SIGTERM"


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
    return as_typed(parent[: -len(ours)])


def as_typed(launch: list[str]) -> list[str]:
    """`python3 /x/.venv/bin/accelerate launch ...` (a console script as /proc shows it: the
    interpreter of its shebang, then the script) as a user types it: `accelerate launch ...` when
    that name on PATH is that script, else the script's path."""
    if len(launch) < 2 or not os.path.basename(launch[0]).startswith("python"):
        return launch
    script = launch[1]
    if os.path.basename(script) not in ("accelerate", "torchrun") or not os.path.isfile(script):
        return launch
    name = os.path.basename(script)
    on_path = shutil.which(name)
    typed = name if on_path and os.path.samefile(on_path, script) else script
    return [typed, *launch[2:]]


class TrainingPreempted(Exception):
    """A SIGTERM / SIGUSR1 stopped the run after a complete checkpoint of the step it reached."""

    def __init__(self, step: int, checkpoint: Path, run_dir: Path, mixed_precision: str):
        super().__init__(step)
        self.step, self.checkpoint = step, Path(checkpoint)
        self.command = TrainingInterrupted(step, step, run_dir, mixed_precision).resume_command()

    def message(self) -> str:
        return (
            f"stopped by {stop_signal_name()} at step {self.step}: checkpoint {self.checkpoint} "
            f"is complete; resume with: {self.command} (exit status {EXIT_PREEMPTED})"
        )


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
