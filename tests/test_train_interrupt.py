"""Ctrl-C during training, as a terminal sends it (SIGINT to the whole foreground process group):
one line from the main process with the step reached and the exact command that resumes, no
traceback from any rank, no process left behind, and that command resumes the run."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from train_helpers import REPO, SMOKE, free_port, tiny_overrides

from train import main
from training import interrupt
from training.checkpoints import read_complete, step_dir
from training.launch import launch_command
from training.loop import Loop

LAUNCHERS = {
    "python": lambda: launch_command(1),
    # 2 ranks over gloo: torch elastic's launcher, which forwards the SIGINT to the ranks again
    "accelerate --multi_gpu": lambda: launch_command(2, port=free_port()),
    # accelerate's simple launcher: ONE process, whatever --num_processes says
    "accelerate --cpu": lambda: [
        *(sys.executable, "-m", "accelerate.commands.launch", "--cpu"),
        *("--num_processes", "2", "--num_machines", "1"),
        *("--mixed_precision", "no", "--dynamo_backend", "no"),
    ],
}
INTERRUPTED = re.compile(
    r"interrupted at step (\d+) \(last checkpoint: step (\d+)\); resume with: (.+)"
)


class Launch:
    """A command started in its own session, as a terminal starts a foreground job."""

    started: list[Launch] = []

    def __init__(self, command: list[str], folder: Path):
        Launch.started.append(self)
        folder.mkdir(parents=True, exist_ok=True)
        self.out, self.err = folder / "stdout.txt", folder / "stderr.txt"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                command, cwd=REPO, stdout=out, stderr=err, start_new_session=True
            )

    def ctrl_c_once(self, ready, timeout: float = 300) -> None:
        """Wait (bounded) until `ready()`, then SIGINT every process of the job at once."""
        deadline = time.time() + timeout
        while not ready() and self.proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert self.proc.poll() is None, f"ended before the Ctrl-C: {self.err.read_text()[-3000:]}"
        assert ready(), f"not under way after {timeout} s: {self.err.read_text()[-3000:]}"
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(timeout=180)

    def left_behind(self, timeout: float = 30) -> list[str]:
        """Live processes of the job's session once the launcher has exited (zombies are gone)."""
        deadline = time.time() + timeout
        while (alive := session_processes(self.proc.pid)) and time.time() < deadline:
            time.sleep(0.2)
        return alive


@pytest.fixture
def no_run_outlives_the_test():
    yield
    for launch in Launch.started:  # after a failed assertion: not a 100000-step run left behind
        if session_processes(launch.proc.pid):
            os.killpg(launch.proc.pid, signal.SIGKILL)
    Launch.started.clear()


def session_processes(session: int) -> list[str]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile
        if int(fields[3]) == session and fields[0] != "Z":  # fields after "pid (comm)": state...
            alive.append(stat.parent.name)
    return alive


def launcher_report_removed(stderr: str) -> str:
    """stderr without the launcher's own report of the signal, which train.py cannot silence
    (training/interrupt.py): a traceback of accelerate's launch module with no frame of this repo.
    A rank's traceback always has one (train.py)."""
    blocks = re.split(r"(?m)^(?=Traceback \(most recent call last\):$)", stderr)
    kept = []
    for block in blocks:
        if block.startswith("Traceback"):
            lines = block.splitlines(keepends=True)
            end = next(i for i, line in enumerate(lines[1:], 1) if not line[:1].isspace()) + 1
            report, block = "".join(lines[:end]), "".join(lines[end:])
            if _repo_frames(report) or "accelerate/commands/launch.py" not in report:
                kept.append(report)
        kept.append(block)
    return "".join(kept)


def _repo_frames(report: str) -> list[str]:
    """The traceback's frames in this repo's own files (a virtual environment inside the checkout,
    as the README's install makes, holds the launcher's frames: not ours)."""
    return [
        line
        for line in report.splitlines()
        if f'File "{REPO}/' in line and "site-packages" not in line
    ]


def interrupted_line(launch: Launch) -> tuple[int, int, str]:
    """The one-line report: (step reached, last checkpoint, resume command), checked to be the only
    interruption line, the last line on screen, with no rank's traceback anywhere."""
    # accelerate's --cpu launcher exits at the Ctrl-C, before its child has printed the line
    assert launch.left_behind() == []
    out, err = launch.out.read_text(), launch.err.read_text()
    ours = launcher_report_removed(err)
    for text in (out, ours):
        assert "Traceback" not in text and "KeyboardInterrupt" not in text, err[-4000:]
    lines = [line for line in (out + err).splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1, err[-4000:]
    assert ours.strip().splitlines()[-1] == lines[0], err[-4000:]
    match = INTERRUPTED.fullmatch(lines[0])
    assert match, lines[0]
    step, saved = int(match[1]), int(match[2])
    assert step >= saved >= 1
    return step, saved, match[3]


@pytest.mark.slow
@pytest.mark.usefixtures("no_run_outlives_the_test")
@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_ctrl_c_is_one_line_and_its_command_resumes(launcher, sample_root, tmp_path):
    run_dir = tmp_path / "run"
    overrides = {"train.steps": 100000, "train.save_every": 1, "train.val_pairs": 0}
    launch_prefix = LAUNCHERS[launcher]()
    first = Launch(
        [
            *launch_prefix,
            "train.py",
            *("--config", str(SMOKE), "--run-dir", str(run_dir)),
            *tiny_overrides(sample_root, **overrides),
        ],
        tmp_path / "first",
    )
    first.ctrl_c_once(ready=lambda: read_complete(step_dir(run_dir, 1)) is not None)
    if launcher == "python":  # a launcher's own exit status is its own (training/interrupt.py)
        assert first.proc.returncode == 130
    else:
        assert first.proc.returncode != 0
    step, saved, command = interrupted_line(first)
    assert read_complete(step_dir(run_dir, saved)) is not None
    run = ["--config", str(run_dir / "config.yaml"), "--run-dir", str(run_dir)]
    # the launch as it was typed, with the run's own config.yaml instead of config and overrides
    assert command == shlex.join([*launch_prefix, "train.py", *run, "--resume", "latest"])

    again = Launch(shlex.split(command), tmp_path / "again")
    resumed = re.compile(r"^resume: (\S+) at step (\d+)$", re.M)

    def training_again() -> bool:  # resumed, and one more step saved: the loop runs again
        found = resumed.search(again.out.read_text())
        return bool(found) and read_complete(step_dir(run_dir, int(found[2]) + 1)) is not None

    again.ctrl_c_once(ready=training_again)
    found = resumed.search(again.out.read_text())
    assert Path(found[1]) == step_dir(run_dir, int(found[2])) and int(found[2]) >= saved
    step_again, saved_again, command_again = interrupted_line(again)
    assert step_again >= saved_again > int(found[2]) and command_again == command


def sigint_raises() -> bool:
    """Deliver a SIGINT to this process: did its handler raise KeyboardInterrupt? (It runs before
    the next line.)"""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    except KeyboardInterrupt:
        return True
    return False


def test_a_second_sigint_is_the_same_request_and_a_peer_error_after_it_is_the_interruption():
    with interrupt.handling():
        assert not interrupt.caused(RuntimeError("a crash: not an interruption"))
        assert sigint_raises()
        assert not sigint_raises()  # the launcher forwarding the same Ctrl-C to its ranks
        assert interrupt.caused(RuntimeError("[gloo] Connection closed by peer"))


def test_a_sigint_while_an_error_is_handled_keeps_that_error_and_stops_at_the_next_step():
    with interrupt.handling():
        interrupt.check()  # nothing requested: training goes on
        try:
            raise OSError("an unreadable training image, handled by the data stream")
        except OSError:
            assert not sigint_raises()  # the error in flight is not replaced
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    assert signal.getsignal(signal.SIGINT) is not interrupt._on_sigint  # the caller's is back
    try:
        interrupt.check()
    except KeyboardInterrupt:
        pytest.fail("a Ctrl-C that an earlier main() handled stops a later train() in this process")
    assert not interrupt.caused(RuntimeError("a later crash"))


def test_a_rank_whose_peer_left_on_the_ctrl_c_reports_the_interruption(
    sample_root, tmp_path, monkeypatch, capsys
):
    """The Ctrl-C reaches a rank blocked in a collective: the collective fails first (the peer has
    gone) and the SIGINT is handled while that error is in flight. train.py must report the
    interruption, not the collective's error."""

    def peer_left_at_step_2(self, step):
        if step == 2:
            try:
                raise RuntimeError("[gloo] Connection closed by peer")
            except RuntimeError:
                assert not sigint_raises()
                raise
        return train_step(self, step)

    train_step = Loop.train_step
    monkeypatch.setattr(Loop, "train_step", peer_left_at_step_2)
    run_dir = tmp_path / "run"
    overrides = tiny_overrides(sample_root, **{"train.save_every": 1, "train.val_pairs": 0})
    code = main(["--config", str(SMOKE), "--run-dir", str(run_dir), *overrides])
    err = capsys.readouterr().err
    assert code == 130 and "Traceback" not in err and "gloo" not in err, err[-3000:]
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith("interrupted at step 2 (last checkpoint: step 2); resume with: ")
    ), err[-3000:]
