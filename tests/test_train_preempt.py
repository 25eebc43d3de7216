"""A scheduler's SIGTERM (or SIGUSR1): every rank finishes its step, one complete checkpoint, one
line, exit status 143, and the printed command resumes bitwise; two machine ranks on loopback are
one job; a launch that asks for more processes than it starts, and a rank that sees another run
folder, are refused before any step.

Signals are sent as a scheduler sends them: SIGTERM to every process of the job (the launchers and
the ranks), at whatever step the run has reached when it has trained one.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from doc_blocks import printed_commands, section
from test_train_interrupt import (  # noqa: F401 (a fixture)
    HANG,
    Launch,
    launcher_report_removed,
    no_run_outlives_the_test,
    until,
)
from train_helpers import (
    NOISE,
    REPO,
    SMOKE,
    free_port,
    release_weights,
    run_cli,
    tiny_config,
    tiny_overrides,
)

from train import main, train
from training import interrupt, resume
from training.checkpoints import read_complete, step_dir
from training.launch import launch_command
from weights.checkpoint import CheckpointError

STOPPED = re.compile(
    r"stopped by SIGTERM at step (\d+): checkpoint (\S+) is complete; "
    r"resume with: (.+) \(exit status 143\)"
)
LONG = {"train.steps": 30, "train.save_every": 1000, "train.val_pairs": 0}  # no scheduled save


def progress(stderr: Path, steps: int) -> int:
    """The step the main process's progress bar shows."""
    found = re.findall(rf"\| *(\d+)/{steps} \[", stderr.read_text())
    return int(found[-1]) if found else 0


def stopped_line(launch: Launch) -> tuple[int, Path, str]:
    """The one line, the last on screen, no rank's traceback; (step, checkpoint, command)."""
    text = launch.out.read_text() + launch.err.read_text()
    ours = launcher_report_removed(text)
    assert "Traceback" not in ours, text[-3000:]
    lines = [line for line in text.splitlines() if line.startswith("stopped by")]
    assert len(lines) == 1 and ours.strip().splitlines()[-1] == lines[0], text[-3000:]
    match = STOPPED.fullmatch(lines[0])
    assert match, lines[0]
    return int(match[1]), Path(match[2]), match[3]


def same_weights(a: Path, b: Path) -> None:
    wa, wb = release_weights(a), release_weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), f"{key} differs after the preemption"


@pytest.mark.usefixtures("no_run_outlives_the_test")
def test_sigterm_saves_the_step_and_the_printed_command_resumes_bitwise(sample_root, tmp_path):
    run_dir = tmp_path / "run"
    args = ["--config", str(SMOKE), "--run-dir", str(run_dir), *tiny_overrides(sample_root, **LONG)]
    job = Launch([*launch_command(1), "train.py", *args], tmp_path / "job", merged=True)
    until(lambda: progress(job.out, 30) >= 1, job.proc, "a trained step", job.out)
    os.killpg(job.proc.pid, signal.SIGTERM)
    assert job.proc.wait(timeout=HANG) == interrupt.EXIT_PREEMPTED
    step, checkpoint, command = stopped_line(job)
    assert 1 <= step < 30 and checkpoint == step_dir(run_dir, step)
    assert read_complete(checkpoint).step == step  # the unscheduled step, complete
    # what a user reads first is what the launch is (issue 33: not a data-loader INFO line)
    first = job.out.read_text().splitlines()[0]
    assert first.startswith("start: 1 process(es)"), first

    resumed = shlex.split(command)
    assert resumed[:2] == [sys.executable, "train.py"]
    assert main([*resumed[2:], "train.steps=" + str(step + 2)]) == 0
    full = tmp_path / "full"
    train(tiny_config(sample_root, **{**LONG, "train.steps": step + 2}), full)
    same_weights(full, run_dir)


def test_sigterm_and_sigusr1_ask_for_a_saved_stop_and_a_ctrl_c_still_stops_at_once():
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # never pytest's default: death
    try:
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            with interrupt.handling():
                assert not interrupt.stop_requested()
                signal.raise_signal(sig)  # nothing raised inside a step or a save
                assert interrupt.stop_requested() and interrupt.stop_signal_name() == sig.name
                with pytest.raises(KeyboardInterrupt):  # the user at the terminal wins
                    signal.raise_signal(signal.SIGINT)
            assert not interrupt.stop_requested()
    finally:
        signal.signal(signal.SIGTERM, previous)


FAKE_SLURM = {  # what SLURM puts on PATH and in the environment, for 2 nodes of job 1234
    "srun": """#!/bin/bash
        while [[ "$1" == --* ]]; do shift; done  # srun's own options
        status=0
        for ((node = 0; node < SLURM_NNODES; node++)); do
          SLURM_NODEID=$node "$@" || status=$?
        done
        exit $status""",
    "scontrol": """#!/bin/bash
        [[ "$*" == "show hostnames node[1-2]" ]] && printf 'localhost\\nnode2\\n'""",
}


def sbatch_commands(tmp_path: Path, args: list[str], port: int) -> subprocess.CompletedProcess:
    """scripts/slurm/train.sbatch as sbatch runs it, under a fake SLURM (srun runs each node's task
    in turn); DRY_RUN: each node prints its command."""
    bin_dir = tmp_path / "fake_slurm"
    bin_dir.mkdir(exist_ok=True)
    for name, text in FAKE_SLURM.items():
        (bin_dir / name).write_text(re.sub(r"(?m)^ {8}", "", text) + "\n")
        (bin_dir / name).chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SLURM_JOB_ID": "1234",
        "SLURM_JOB_NODELIST": "node[1-2]",
        "SLURM_NNODES": "2",
        "SLURM_SUBMIT_DIR": str(REPO),
        "MASTER_PORT": str(port),
        "DRY_RUN": "1",
    }
    script = ["bash", str(REPO / "scripts" / "slurm" / "train.sbatch"), *args]
    return subprocess.run(script, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_the_sbatch_script_runs_one_launch_per_node_that_resumes_latest(tmp_path):
    proc = sbatch_commands(
        tmp_path, ["--config", "c.yaml", "--run-dir", "/shared/r", "a.b=1"], 4321
    )
    assert proc.returncode == 0, proc.stderr
    expected = [
        *("accelerate", "launch", "--config_file", "configs/accelerate/multi_node.yaml"),
        *("--num_machines", "2", "--machine_rank", "{rank}", "--main_process_ip", "localhost"),
        *("--main_process_port", "4321", "--num_processes", "2"),
        *(
            "train.py",
            "--config",
            "c.yaml",
            "--run-dir",
            "/shared/r",
            "a.b=1",
            "--resume",
            "latest",
        ),
    ]
    nodes = [shlex.split(line) for line in proc.stdout.splitlines()]
    assert nodes == [[a.format(rank=r) for a in expected] for r in (0, 1)]
    # docs/training.md "More than one machine" shows these launches, up to the port and the run
    shown = [c for c in printed_commands(section("More than one machine")) if "multi_node" in c]
    assert len(shown) == 2
    for line, node in zip(shown, nodes):
        typed = shlex.split(line)
        typed[typed.index("--main_process_port") + 1] = "4321"
        assert typed[: typed.index("train.py")] == node[: node.index("train.py")]
        assert typed[-2:] == node[-2:] == ["--resume", "latest"]
    proc = sbatch_commands(tmp_path, ["--config", "c.yaml"], 4321)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and "--run-dir" in lines[0]


@pytest.mark.slow
@pytest.mark.usefixtures("no_run_outlives_the_test")
def test_two_machine_ranks_are_one_job_and_a_preempted_job_resumes(
    sample_root, tmp_path, monkeypatch
):
    """Machine ranks 0 and 1 on loopback: one gloo job (the start line says 2 machines), preempted
    by SIGTERM to every process; the checkpoint holds both ranks' states, and the requeued job
    (here on one machine, 2 processes) ends bitwise where the uninterrupted 2-process job ends,
    and where one process with twice the batch ends."""
    sgd = {**LONG, "optim.name": "sgd", "optim.lr": 0.5, "train.val_pairs": 1}
    overrides = tiny_overrides(sample_root, **sgd)
    run_dir = tmp_path / "run"
    # the nodes' commands as scripts/slurm/train.sbatch builds them; `accelerate` on PATH, as in an
    # activated virtual environment
    args = ["--config", str(SMOKE), "--run-dir", str(run_dir), *overrides]
    nodes = sbatch_commands(tmp_path, args, free_port()).stdout.splitlines()
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    ranks = [Launch(shlex.split(line), tmp_path / f"m{r}") for r, line in enumerate(nodes)]
    until(lambda: progress(ranks[0].err, 30) >= 1, ranks[0].proc, "a trained step", ranks[0].err)
    for launch in ranks:  # the launcher and its rank, on each machine (the launcher forwards it:
        os.killpg(launch.proc.pid, signal.SIGTERM)  # the rank sees the same request twice)
    for launch in ranks:
        launch.proc.wait(timeout=HANG)
    assert ranks[0].out.read_text().startswith("start: 2 process(es), batch 1 per process = 2")
    assert "on 2 machines" in ranks[0].out.read_text().splitlines()[0]
    step, checkpoint, command = stopped_line(ranks[0])
    assert "stopped by" not in ranks[1].out.read_text() + ranks[1].err.read_text()
    state = read_complete(checkpoint)
    assert state.step == step < 30 and state.world_size == 2
    assert {p.name for p in checkpoint.iterdir()} >= {"random_states_0.pkl", "random_states_1.pkl"}
    # the launch as typed (issue 33: not `python3 .venv/bin/accelerate launch`)
    assert command.startswith("accelerate launch --config_file configs/accelerate/multi_node.yaml")
    assert "--machine_rank 0" in command and command.endswith("--resume latest")
    # written once: one writer of events, config.yaml once, no stray folders
    assert len({p.name.split(".")[4] for p in run_dir.glob("events.out.tfevents.*")}) == 1
    assert sorted(p.name for p in run_dir.iterdir() if p.is_dir()) == ["checkpoints"]

    end = step + 2
    resumed = ["--config", str(run_dir / "config.yaml"), "--run-dir", str(run_dir)]
    again = run_cli([*resumed, "--resume", "latest", f"train.steps={end}"], 2, timeout=HANG)
    assert again.returncode == 0, again.stderr[-3000:]
    # bitwise the uninterrupted 2-process job (with 2 ranks an all-reduce is order-free)
    full = tmp_path / "full"
    plain = [*args[:2], "--run-dir", str(full), *overrides, f"train.steps={end}"]
    uninterrupted = run_cli(plain, 2, timeout=HANG)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    same_weights(full, run_dir)
    single, alone = tmp_path / "single", tmp_path / "alone"
    for folder, batch in ((single, 2), (alone, 1)):
        steps = {**sgd, "train.steps": end, "train.batch_size": batch}
        train(tiny_config(sample_root, **steps), folder)
    ddp, one, rank0 = (release_weights(d) for d in (run_dir, single, alone))
    for key in (k for k in one if k.startswith("decoder.")):
        # as tests/test_train_ddp.py: within NOISE of what rank 1's data changes
        rank1_effect = float((rank0[key] - one[key]).abs().max())
        torch.testing.assert_close(ddp[key], one[key], rtol=0, atol=NOISE * rank1_effect)


def test_a_cpu_launch_that_asks_for_two_machines_is_refused_before_any_step(
    sample_root, tmp_path, monkeypatch, capsys
):
    """`accelerate launch --cpu --num_machines 2 ... --num_processes 2` starts 1 process per
    machine, never one job (issue 32, item 5): its rank's environment, as accelerate's simple
    launcher sets it (utils/launch.py, prepare_simple_launcher_cmd_env: no WORLD_SIZE)."""
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    run_dir = tmp_path / "run"
    code = main(["--config", str(SMOKE), "--run-dir", str(run_dir), *tiny_overrides(sample_root)])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err[-3000:]
    assert err.startswith("error: ") and "launch with --multi_gpu instead of --cpu" in err
    assert "start:" not in out and not run_dir.exists()


class TwoRanks:
    """An Accelerator of a 2-process job as this process sees it."""

    num_processes, process_index = 2, 0


def test_a_rank_that_finds_another_checkpoint_stops_every_rank(tmp_path, monkeypatch):
    """The run folder on a node-local disk: rank 1's machine has no checkpoint where rank 0 has."""
    main_view = step_dir(tmp_path, 4)
    monkeypatch.setattr(resume, "broadcast_object_list", lambda objects: [str(main_view)])
    monkeypatch.setattr(
        resume, "gather_object", lambda mine: [(0, "node-a", str(main_view)), (1, "node-b", None)]
    )
    with pytest.raises(CheckpointError) as err:
        resume.same_checkpoint_everywhere(TwoRanks(), main_view, tmp_path)
    message = str(err.value)
    assert "\n" not in message and "rank 1 on node-b finds no checkpoint" in message
    assert "is not shared" in message and "--run-dir" in message
    monkeypatch.setattr(
        resume, "gather_object", lambda mine: [(0, "a", str(main_view)), (1, "b", str(main_view))]
    )
    assert resume.same_checkpoint_everywhere(TwoRanks(), main_view, tmp_path) == main_view
    # a fresh run: every rank must see the config.yaml the main process wrote
    (tmp_path / "config.yaml").write_text("name: x\n")
    monkeypatch.setattr(TwoRanks, "wait_for_everyone", lambda self: None, raising=False)
    monkeypatch.setattr(resume, "gather_object", lambda mine: [mine[0], (1, "node-b", False)])
    with pytest.raises(CheckpointError, match="rank 1 on node-b cannot see .* is not shared"):
        resume.run_folder_everywhere(TwoRanks(), tmp_path)
    monkeypatch.setattr(resume, "gather_object", lambda mine: [mine[0], (1, "node-b", True)])
    resume.run_folder_everywhere(TwoRanks(), tmp_path)
