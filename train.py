"""Train a style-transfer decoder with accelerate.

    accelerate launch [--multi_gpu --num_processes N] train.py \
        --config configs/vgg_adain_meanstd.yaml \
        [--run-dir DIR] [--resume latest|PATH] [train.steps=1000 loss.style_weight=5 ...]

The run folder (default `<train.log_root>/<config name>`) holds the resolved `config.yaml`, the
TensorBoard events, resumable `checkpoints/step_XXXXXX/` and the release file `model.safetensors`.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import torch
from accelerate.utils import set_seed

from configs.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, ArgumentParser
from configs.read import load_config
from configs.schema import Config, ConfigError, to_json, to_yaml
from configs.validate import validate
from media.files import atomic_write
from models.net import StyleTransferNet
from models.pretrained import PretrainedWeightsError
from runtime.allocator import keep_freed_memory
from runtime.device import memory_format
from training import interrupt
from training.checkpoints import TrainerState, complete_checkpoints, remove_stale_temp_files
from training.data import build_streams, loader_workers, training_datasets, validation_images
from training.interrupt import EXIT_PREEMPTED, TrainingInterrupted, TrainingPreempted
from training.launch import LaunchError, make_accelerator, start_line
from training.launch_errors import report_error
from training.loop import Loop, NonFiniteLossError, TrainResult
from training.objective import StyleTransferObjective
from training.optimizer import build_optimizer
from training.resume import (
    check_resume_config,
    load_checkpoint,
    resolve_resume,
    run_folder_everywhere,
    same_checkpoint_everywhere,
)
from training.run_log import RunLogger
from training.schedule import total_steps
from weights.checkpoint import CheckpointError
from weights.load import load_into
from weights.sources import resolve_checkpoint

log = logging.getLogger("train")


def default_run_dir(cfg: Config) -> Path:
    return Path(cfg.train.log_root) / cfg.name


def train(
    cfg: Config,
    run_dir: str | Path | None = None,
    resume: str | None = None,
    validated: bool = False,
) -> TrainResult:
    """Train per `cfg` into `run_dir` (default `<log_root>/<name>`), optionally resuming a
    checkpoint.

    Args:
        resume: "latest" (newest complete checkpoint of run_dir; none yet: a fresh start, so a
            requeued job's command is its first one) or a checkpoint folder.
        validated: `cfg` came from configs.read.load_config (main): not validated again.

    Raises:
        NonFiniteLossError: The loss stayed non-finite for `train.max_nonfinite` steps in a row.
        CheckpointError: `resume` names no usable checkpoint, or a fresh run would overwrite one.
    """
    if not validated:  # a Config built in Python is checked like a file's
        cfg = validate(cfg, cuda=torch.cuda.is_available())
    run_dir = Path(run_dir) if run_dir else default_run_dir(cfg)
    accelerator = make_accelerator(cfg)
    if resume is None and complete_checkpoints(run_dir):
        raise CheckpointError(
            f"{run_dir} already holds checkpoints of a run: pass --resume latest to continue it, "
            "or choose another --run-dir (or name=...) for a new run"
        )
    checkpoint = resolve_resume(run_dir, resume) if resume else None
    # a rank on a machine that cannot see the run folder's checkpoints stops here, on every rank
    checkpoint = same_checkpoint_everywhere(accelerator, checkpoint, run_dir)
    changes = check_resume_config(checkpoint, cfg) if checkpoint else []
    t = cfg.train
    # every data problem is found here, before the network is built and the run folder written
    datasets = training_datasets(cfg.data)
    val = validation_images(cfg.data, t.val_pairs, cfg.data.crop) if t.val_pairs > 0 else None

    set_seed(cfg.train.seed)  # before building: random-weight networks equal on every rank and run
    net = StyleTransferNet(cfg.model)
    if cfg.model.init_from and checkpoint is None:  # fine-tuning; a resume has its own weights
        load_into(net, resolve_checkpoint(cfg.model.init_from))  # a spec -> its local file
    layout = memory_format(t.memory_format, accelerator.device)  # chosen once: objective, batches
    objective = StyleTransferObjective(net, cfg.loss).to(memory_format=layout)
    optimizer = build_optimizer(cfg, [p for p in objective.parameters() if p.requires_grad])
    objective, optimizer = accelerator.prepare(objective, optimizer)
    state = TrainerState()
    if checkpoint is not None:
        state = load_checkpoint(accelerator, checkpoint, objective, cfg, optimizer)
        if accelerator.is_main_process:  # stdout, like the start line: what this launch is
            print(
                f"resume: {checkpoint} at step {state.step}"
                + (f"; changed: {', '.join(changes)}" if changes else ""),
                flush=True,
            )
    state.config = to_json(cfg)  # what the next checkpoints were trained with (training/resume.py)
    workers = loader_workers(
        cfg.data.num_workers,
        accelerator.device.type,
        int(os.environ.get("LOCAL_WORLD_SIZE", accelerator.num_processes)),
    )
    streams = build_streams(
        cfg.data,
        t.batch_size,
        t.seed,
        accelerator.process_index,
        accelerator.num_processes,
        start_step=state.step,
        workers=workers,
        pin_memory=accelerator.device.type == "cuda",
        datasets=datasets,
    )
    end_step = total_steps(
        t.steps, t.epochs, len(streams.content), t.batch_size, accelerator.num_processes
    )
    if checkpoint is not None and state.step >= end_step:
        # a resume of a finished run: the run folder (config.yaml, events) stays as it is
        if accelerator.is_main_process:
            print(f"nothing to train: the run is at step {state.step} of {end_step}", flush=True)
        accelerator.end_training()
        return TrainResult(run_dir, state.step, state.skipped_steps)
    if accelerator.is_main_process:
        print(start_line(cfg, accelerator, layout), flush=True)
    log.info(
        "data loader: %d worker process(es) per stream (data.num_workers=%d)",
        workers,
        cfg.data.num_workers,
    )
    # the resume was accepted (or there is none) and there is something to train: only now is the
    # run folder written
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        removed = remove_stale_temp_files(run_dir)
        if removed:
            log.info("removed %d temp file(s) left by an interrupted save", removed)
        atomic_write(run_dir / "config.yaml", to_yaml(cfg))
    run_folder_everywhere(accelerator, run_dir)  # a fresh run's node-local disk: before any step
    logger = RunLogger(run_dir, enabled=accelerator.is_main_process, loss=cfg.loss)
    loop = Loop(
        accelerator, cfg, objective, optimizer, streams, val, logger, run_dir, state, layout
    )
    try:
        try:
            result = loop.run(end_step)
        except TrainingPreempted:
            raise  # SIGTERM / SIGUSR1: the step's checkpoint is complete
        except BaseException as err:
            # Ctrl-C, or a peer rank that left on it (training/interrupt.py)
            if interrupt.caused(err):
                # what is on disk: a Ctrl-C in a save's last barrier leaves that save complete
                saved = complete_checkpoints(run_dir)
                last = saved[-1][0] if saved else loop.last_saved
                raise TrainingInterrupted(state.step, last, run_dir, t.mixed_precision) from None
            raise
        if result.bad_files:
            log.warning(
                "unreadable training images (skipped, replaced by the next readable one):\n%s",
                "\n".join(f"  {path}: {reason}" for path, reason in result.bad_files.items()),
            )
        if result.trained_steps:  # a no-op resume must not overwrite the run's hparams with zeros
            metrics = {
                f"hparam/{k.replace('/', '_')}": v
                for k, v in result.metrics.items()
                if k.count("/") == 1
            }
            metrics.update(
                {
                    "hparam/images_per_s": result.images_per_s,
                    "hparam/skipped_steps": result.skipped_steps,
                }
            )
            logger.hparams(cfg, metrics)
    finally:
        logger.close()
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return result


def parse_args(argv: list[str] | None):
    p = ArgumentParser(
        description="Train a style-transfer decoder (run under `accelerate launch`).",
        epilog="Config keys, their allowed values and ranges: the dataclasses in "
        "configs/schema.py (section.field, "
        "e.g. model.decoder.kind=transposed_conv loss.style_loss=gram train.steps=100). A bad "
        "value stops the run before anything is written.",
    )
    p.add_argument("--config", required=True, help="experiment YAML, e.g. configs/smoke.yaml")
    p.add_argument("--run-dir", help="run folder (default: <train.log_root>/<config name>)")
    p.add_argument(
        "--resume",
        help="'latest' (newest complete checkpoint of the run folder) or a checkpoint folder; "
        "overrides may then change only train.steps/epochs and the logging and saving intervals",
    )
    p.add_argument(
        "--plugins",
        nargs="+",
        metavar="FILE|MODULE",
        help="your own transforms/losses/encoders/decoders: the config "
        "key plugins= (recorded in the "
        "run's config.yaml, so a resume imports them again)",
    )
    p.add_argument(
        "overrides", nargs="*", help="config overrides by field name, e.g. train.steps=100"
    )
    args = p.parse_args(argv)
    # `--plugins a.py train.steps=9`: nargs="+" took the overrides too; give them back
    if args.plugins:
        args.overrides += [v for v in args.plugins if "=" in v]
        args.overrides.append(f"plugins={','.join(v for v in args.plugins if '=' not in v)}")
    return args


WEIGHTS_HINT = (
    "or set model.encoder.weights_file=PATH / loss.loss_net_weights_file=PATH (local files), or "
    "model.encoder.pretrained=false loss.loss_net_pretrained=false "
    "(random weights, smoke runs only)"
)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rank = int(os.environ.get("RANK", 0))
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s",
    )
    # accelerate's per-file save/load INFO lines are noise
    logging.getLogger("accelerate").setLevel(logging.WARNING)
    with interrupt.handling():
        try:
            return _main(args, rank)
        except BaseException as err:  # before the loop; TrainingInterrupted covers the loop itself
            if not interrupt.caused(err):
                raise
            if rank == 0:  # stdout, as the line of an interrupted run (_main)
                print("interrupted before training started: nothing was trained", flush=True)
            return EXIT_INTERRUPTED


def _main(args, rank: int) -> int:
    try:
        # read and check everything before the Accelerator or the run folder exist: a typo costs no
        # cleanup
        cfg = load_config(args.config, args.overrides, cuda=torch.cuda.is_available())
        # CPU training: every step reallocates the same activations; keeping freed memory makes a
        # step faster (runtime/allocator.py; docs/results/design_figures.md)
        if not torch.cuda.is_available():
            keep_freed_memory()
        result = train(cfg, args.run_dir, args.resume, validated=True)
    except TrainingInterrupted as stop:
        if rank == 0:
            # stdout, which every launcher leaves to the terminal: accelerate's simple launcher
            # (--cpu) tees the rank's stderr through itself and, at the Ctrl-C, can drop what the
            # rank writes then (seen in 1 of 5 fresh-clone CI runs: the line missing); and on
            # stderr the line could be glued to the progress bar's last unterminated line
            print(stop.message(), flush=True)
        return EXIT_INTERRUPTED
    except TrainingPreempted as stop:
        if rank == 0:
            print(stop.message(), file=sys.stderr, flush=True)
        return EXIT_PREEMPTED
    except (
        PretrainedWeightsError,
        ConfigError,
        CheckpointError,
        LaunchError,
        NonFiniteLossError,
        FileNotFoundError,
    ) as err:
        hint = f"; {WEIGHTS_HINT}" if isinstance(err, PretrainedWeightsError) else ""
        # once, last: every rank meets it (see training/launch_errors.py)
        report_error(f"error: {err}{hint}")
        return EXIT_FAILED if isinstance(err, NonFiniteLossError) else EXIT_USAGE
    if rank == 0:
        print(
            f"done: step {result.step} in {result.run_dir} ({result.images_per_s:.2f} images/s, "
            f"{100 * result.data_wait_fraction:.1f}% waiting for data)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
