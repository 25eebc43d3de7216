"""The launch: this process's Accelerator, the start line that says what the launch is, and the
command line that starts train.py on N local processes.

`accelerate launch --multi_gpu --num_processes N` starts N processes (torch elastic's launcher)
that talk over NCCL on GPUs or gloo on CPUs, on one machine or, with `--num_machines M
--machine_rank R --main_process_ip --main_process_port` run on each machine, across M (N in all).
accelerate's simple launcher (`--cpu`, or no `--multi_gpu` on a machine without GPUs) starts ONE
process per machine whatever `--num_processes` / `--num_machines` say, and never joins the machines
into one job: every machine would train its own model into the same run folder. train.py refuses
that launch before its first step (`make_accelerator`).
"""

from __future__ import annotations

import logging
import os
import sys

import torch
from accelerate import Accelerator

from configs.schema import Config
from runtime.device import precision_warning

log = logging.getLogger("train")


class LaunchError(RuntimeError):
    """The launch does not start the job it asks for (train.py reports it in one line)."""


def make_accelerator(cfg: Config) -> Accelerator:
    """An Accelerator that is really distributed under `accelerate launch --multi_gpu`, on GPUs or
    CPUs.

    `cpu=True` on a machine without CUDA makes accelerate use gloo DDP across the launched
    processes; without it each process would silently train its own model.
    """
    launched = os.environ.get("ACCELERATE_MIXED_PRECISION", cfg.train.mixed_precision)
    if launched != cfg.train.mixed_precision:  # the config wins, so runs are reproducible from it
        log.warning(
            "accelerate launch asked for mixed_precision=%s; using train.mixed_precision=%s from "
            "the config (override it with train.mixed_precision=...)",
            launched,
            cfg.train.mixed_precision,
        )
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(), mixed_precision=cfg.train.mixed_precision
    )
    # every training batch has the same shape (data.crop): cuDNN's autotuner then picks each conv's
    # fastest algorithm once and reuses it (the validation grid adds one more shape)
    torch.backends.cudnn.benchmark = accelerator.device.type == "cuda"
    if cfg.train.mixed_precision == "bf16" and (
        warning := precision_warning(accelerator.device, "bf16")
    ):
        better = "fp16" if accelerator.device.type == "cuda" else "no"  # fp16 with a GradScaler
        log.warning("train.mixed_precision=bf16: %s (train.mixed_precision=%s)", warning, better)
    if simple_launcher_asked_for_more(accelerator):
        raise LaunchError(
            "accelerate launch started 1 process on this machine, not the DDP job its "
            "--num_processes / --num_machines ask for (--cpu, or no --multi_gpu without GPUs, "
            "uses accelerate's one-process launcher): launch with --multi_gpu instead of --cpu "
            "(gloo on a CPU), e.g. accelerate launch --multi_gpu --num_machines 2 --machine_rank R "
            "--main_process_ip HOST --main_process_port PORT --num_processes 2 train.py ... "
            "(configs/accelerate/multi_node.yaml)"
        )
    world = int(os.environ.get("WORLD_SIZE", 1))
    if accelerator.num_processes != world:
        raise LaunchError(
            f"accelerate sees {accelerator.num_processes} process(es) but WORLD_SIZE is {world}: "
            "the processes would train independent models. Launch with `accelerate launch "
            "--multi_gpu --num_processes N train.py ...` (note: `--cpu --num_processes "
            "N` starts a single process)"
        )
    return accelerator


def simple_launcher_asked_for_more(accelerator: Accelerator) -> bool:
    """accelerate's simple launcher (it alone sets ACCELERATE_USE_CPU) sets MASTER_ADDR only when
    asked for several processes or machines; it then still starts one process, with no WORLD_SIZE,
    so this process trains alone (its mpirun launch sets the MPI world size: a real job)."""
    return (
        "ACCELERATE_USE_CPU" in os.environ
        and "MASTER_ADDR" in os.environ
        and "WORLD_SIZE" not in os.environ
        and accelerator.num_processes == 1
    )


def start_line(cfg: Config, accelerator: Accelerator, layout: torch.memory_format) -> str:
    """One line saying what this launch is: processes, batches, precision, layout, devices."""
    n, t = accelerator.num_processes, cfg.train
    device = accelerator.device
    devices = f"{device.type} x {n}" if device.type == "cuda" and n > 1 else str(device)
    machines = int(os.environ.get("GROUP_WORLD_SIZE", 1))  # torch elastic: one group per machine
    if machines > 1:
        devices += f" on {machines} machines"
    precision = {"no": "fp32"}.get(t.mixed_precision, t.mixed_precision)
    fmt = "channels_last" if layout == torch.channels_last else "contiguous"
    return (
        f"start: {n} process(es), batch {t.batch_size} per process = {n * t.batch_size} global, "
        f"precision {precision}, memory format {fmt} "
        f"(train.memory_format={t.memory_format}), device(s) {devices}"
    )


def launch_command(
    processes: int, mixed_precision: str = "no", port: int | None = None
) -> list[str]:
    """The command line that runs a script (appended by the caller) on `processes` local processes.

    One process is this interpreter; several are `accelerate launch --multi_gpu` (gloo DDP on a CPU,
    see make_accelerator) with every setting the launcher would otherwise default and warn about.
    `port` None: accelerate's default (29500, or a free one when that is taken).
    """
    if processes == 1:
        return [sys.executable]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu"]
    command += ["--num_processes", str(processes), "--num_machines", "1"]
    command += ["--mixed_precision", mixed_precision, "--dynamo_backend", "no"]
    return command + (["--main_process_port", str(port)] if port is not None else [])
