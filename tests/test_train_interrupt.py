"""Ctrl-C during training, as a terminal sends it (SIGINT to the whole foreground process group):
one line from the main process with the step reached and the exact command that resumes, no
traceback from any rank, no process left behind, and that command resumes the run.

Nothing here waits a fixed time or races the run it watches: a poll waits for a condition (a
complete checkpoint, a line, the job's processes gone), and its deadline only turns a hang into a
failure.
"""

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
from training.checkpoints import checkpoints_dir, read_complete, step_dir
from training.launch import launch_command
from training.loop import Loop

LAUNCHERS = {
    "python": lambda: launch_command(1),
    # 2 ranks over gloo: torch elastic's launcher, which forwards the SIGINT to the ranks again
    "accelerate --multi_gpu": lambda: launch_command(2, port=free_port()),
    # accelerate's simple launcher: ONE process (asked for more, train.py refuses it)
    "accelerate --cpu": lambda: [
        *(sys.executable, "-m", "accelerate.commands.launch", "--cpu"),
        *("--num_processes", "1", "--num_machines", "1"),
        *("--mixed_precision", "no", "--dynamo_backend", "no"),
    ],
}
INTERRUPTED = re.compile(
    r"interrupted at step (\d+) \(last checkpoint: step (\d+)\); resume with: (.+)"
)
HANG = 300  # s: a deadline that only a hung run reaches, never a slow one


def until(condition, proc: subprocess.Popen, what: str, stderr: Path) -> None:
    """Poll `condition()` while `proc` runs; fail if it ends first or the run hangs."""
    deadline = time.monotonic() + HANG
    while not condition():
        assert proc.poll() is None, f"ended before {what}: {stderr.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"hung before {what}: {stderr.read_text()[-3000:]}"
        time.sleep(0.2)


def newest_checkpoint(run_dir: Path) -> int:
    """The newest complete checkpoint's step, 0 if none. Any one, not a given step: the loop saves
    every step and deletes all but the last 3, so a given one may come and go between two polls.
    Read quietly: folders are written and deleted meanwhile."""
    root = checkpoints_dir(run_dir)
    names = os.listdir(root) if root.is_dir() else []
    steps = [int(n[5:]) for n in names if re.fullmatch(r"step_\d{6,}", n)]
    return max((s for s in steps if complete(step_dir(run_dir, s))), default=0)


def complete(folder: Path) -> bool:
    try:
        return read_complete(folder, quiet=True) is not None
    except FileNotFoundError:  # deleted between read_complete's is_file() and stat()
        return False


class Launch:
    """A command started in its own session, as a terminal starts a foreground job: with SIGINT at
    its default action. pytest may run with SIGINT ignored (a background job of a non-interactive
    shell), and an ignored signal stays ignored across exec: Python would then never raise
    KeyboardInterrupt in a launcher. A handler of ours is reset to the default by exec."""

    started: list[Launch] = []

    def __init__(self, command: list[str], folder: Path, merged: bool = False):
        """`merged`: stderr into stdout.txt, in the order a terminal shows them."""
        Launch.started.append(self)
        folder.mkdir(parents=True, exist_ok=True)
        self.out, self.err = folder / "stdout.txt", folder / "stderr.txt"
        ours = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            with open(self.out, "w") as out, open(self.err, "w") as err:
                self.proc = subprocess.Popen(
                    command,
                    cwd=REPO,
                    stdout=out,
                    stderr=subprocess.STDOUT if merged else err,
                    start_new_session=True,
                )
        finally:
            signal.signal(signal.SIGINT, ours)

    def ctrl_c_once(self, ready) -> None:
        """Once `ready()`, SIGINT every process of the job at once; wait for the launcher."""
        until(ready, self.proc, "the Ctrl-C", self.err)
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(timeout=HANG)

    def left_behind(self) -> list[str]:
        """Live processes of the job's session once they are all gone, or at the hang deadline
        (zombies do not count)."""
        deadline = time.monotonic() + HANG
        while (alive := session_processes(self.proc.pid)) and time.monotonic() < deadline:
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
    # a launcher may exit before its rank has printed the line (training/interrupt.py)
    assert launch.left_behind() == []
    out, err = launch.out.read_text(), launch.err.read_text()
    ours = launcher_report_removed(err)
    for text in (out, ours):
        assert "Traceback" not in text and "KeyboardInterrupt" not in text, err[-4000:]
    lines = [line for line in (out + err).splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1, err[-4000:]
    # on stdout, its last line: no launcher relays it (train.py)
    assert out.strip().splitlines()[-1] == lines[0], out[-4000:] + err[-4000:]
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
    first.ctrl_c_once(ready=lambda: newest_checkpoint(run_dir) >= 1)
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

    def training_again() -> bool:  # resumed, and a later step saved: the loop runs again
        found = resumed.search(again.out.read_text())
        return bool(found) and newest_checkpoint(run_dir) > int(found[2])

    again.ctrl_c_once(ready=training_again)
    found = resumed.search(again.out.read_text())
    assert Path(found[1]) == step_dir(run_dir, int(found[2])) and int(found[2]) >= saved
    step_again, saved_again, command_again = interrupted_line(again)
    assert step_again >= saved_again > int(found[2]) and command_again == command


def test_polling_a_checkpoint_being_written_logs_nothing(tmp_path, caplog):
    folder = step_dir(tmp_path, 1)
    folder.mkdir(parents=True)  # no trainer_state.json (yet, or any more)
    assert read_complete(folder, quiet=True) is None and caplog.records == []
    assert read_complete(folder) is None and "no valid trainer_state.json" in caplog.text


def signal_raises(sig: signal.Signals = signal.SIGINT) -> bool:
    """Deliver `sig` to this thread: did its handler raise KeyboardInterrupt? (raise_signal runs
    the handler before it returns; os.kill may deliver to another thread, and the handler runs
    later.)"""
    try:
        signal.raise_signal(sig)
    except KeyboardInterrupt:
        return True
    return False


@pytest.fixture
def callers_sigterm_handler():
    """A SIGTERM handler of the caller's that does nothing: with the default one, a SIGTERM that
    handling() failed to catch would end pytest itself rather than fail the test."""

    def ignore(signum, frame) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, ignore)
    yield ignore
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.usefixtures("callers_sigterm_handler")
def test_a_second_sigint_is_the_same_request_and_a_peer_error_after_it_is_the_interruption():
    with interrupt.handling():
        assert not interrupt.caused(RuntimeError("a crash: not an interruption"))
        assert signal_raises()
        assert not signal_raises()  # the launcher forwarding the same Ctrl-C to its ranks
        assert not signal_raises(signal.SIGTERM)  # accelerate's --cpu launcher stopping its rank
        assert interrupt.caused(RuntimeError("[gloo] Connection closed by peer"))


@pytest.mark.parametrize("first", [signal.SIGTERM, signal.SIGINT], ids=lambda sig: sig.name)
def test_a_ctrl_c_with_the_launchers_sigterm_is_one_interruption_and_the_callers_handler_comes_back(
    first, callers_sigterm_handler
):
    """accelerate's simple launcher answers the Ctrl-C with a SIGTERM to its rank, which may be
    handled before the rank's own SIGINT: by default it would kill the rank before its line; taken
    alone it asks for a saved stop (tests/test_train_preempt.py), but the Ctrl-C still stops at
    once, in either order, with one KeyboardInterrupt."""
    with interrupt.handling():
        other = ({signal.SIGINT, signal.SIGTERM} - {first}).pop()
        assert [signal_raises(first), signal_raises(other)].count(True) == 1
        assert interrupt.caused(RuntimeError("a crash in the clean-up"))
    assert signal.getsignal(signal.SIGTERM) is callers_sigterm_handler


def test_the_resume_command_names_the_launcher_after_it_exited(monkeypatch):
    """A launcher that exits at the Ctrl-C before its rank (accelerate's simple launcher with
    `Popen.wait()`: 0.25 s) leaves the rank reparented: the command it typed is read at the
    start."""
    argv = ["train.py", "--config", "c.yaml"]
    code = "import sys; print('up', flush=True); sys.stdin.read()"
    launcher = subprocess.Popen(  # a launcher whose command line ends with the rank's arguments
        [sys.executable, "-c", code, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        # its line, not Popen's return: Popen may return (vfork) before exec has set up the new
        # command line, and /proc/<pid>/cmdline is then empty
        assert launcher.stdout.readline() == b"up\n"
        monkeypatch.setattr(sys, "argv", argv)
        monkeypatch.setattr(os, "getppid", lambda: launcher.pid)
        with interrupt.handling():
            launcher.stdin.close()  # the launcher exits ...
            launcher.wait()
            monkeypatch.setattr(os, "getppid", lambda: 1)  # ... and init adopts the rank
            stop = interrupt.TrainingInterrupted(7, 6, Path("run"), "no")
            command = shlex.split(stop.resume_command())
    finally:
        launcher.kill()
        launcher.wait()
    assert command[:3] == [sys.executable, "-c", code]
    run = ["--config", "run/config.yaml", "--run-dir", "run", "--resume", "latest"]
    assert command[3:] == ["train.py", *run]


def test_a_sigint_while_an_error_is_handled_keeps_that_error_and_stops_at_the_next_step():
    with interrupt.handling():
        interrupt.check()  # nothing requested: training goes on
        try:
            raise OSError("an unreadable training image, handled by the data stream")
        except OSError:
            assert not signal_raises()  # the error in flight is not replaced
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    assert signal.getsignal(signal.SIGINT) is not interrupt._on_stop  # the caller's is back
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
                assert not signal_raises()
                raise
        return train_step(self, step)

    train_step = Loop.train_step
    monkeypatch.setattr(Loop, "train_step", peer_left_at_step_2)
    run_dir = tmp_path / "run"
    overrides = tiny_overrides(sample_root, **{"train.save_every": 1, "train.val_pairs": 0})
    code = main(["--config", str(SMOKE), "--run-dir", str(run_dir), *overrides])
    out, err = capsys.readouterr()
    assert code == 130 and "Traceback" not in err and "gloo" not in err, err[-3000:]
    assert (
        out.strip()
        .splitlines()[-1]
        .startswith("interrupted at step 2 (last checkpoint: step 2); resume with: ")
    ), err[-3000:]


def test_the_resume_command_names_a_console_script_as_typed(tmp_path, monkeypatch):
    """/proc shows `accelerate launch` as its shebang runs it: `python3 /x/.venv/bin/accelerate
    launch ...` (issue 33); the line shows `accelerate launch ...` when that name on PATH is that
    script, else the script's path, and leaves `python -m accelerate.commands.launch` alone."""
    script = tmp_path / "bin" / "accelerate"
    script.parent.mkdir()
    script.write_text("#!/usr/bin/env python3\n")
    launch = ["/x/.venv/bin/python3", str(script), "launch", "--multi_gpu"]
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    script.chmod(0o755)
    assert interrupt.as_typed(launch) == ["accelerate", "launch", "--multi_gpu"]
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert interrupt.as_typed(launch) == [str(script), "launch", "--multi_gpu"]
    module = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu"]
    assert interrupt.as_typed(module) == module
