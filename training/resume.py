"""Resuming a run: which checkpoint `--resume` names, what a resume may change (what extends or
observes a run, never the model, objective or data), and restoring the checkpoint's state.

`--resume latest loss.style_loss=gram` used to continue silently, overwrite config.yaml and make the
logged style loss jump 10x inside one run. The config a checkpoint was trained with is kept in its
trainer_state.json (older checkpoints: the run folder's config.yaml) and compared key by key, before
anything is loaded or written.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import torch
import yaml
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list, gather_object
from safetensors.torch import load_file

from configs.schema import Config, dotted, to_json
from training.checkpoints import (
    MARKER,
    TrainerState,
    accelerate_skips_the_model,
    checkpoints_dir,
    complete_checkpoints,
    read_complete,
    step_tensors,
)
from weights.checkpoint import STEP_WEIGHTS, CheckpointError
from weights.release import release_state_dict

log = logging.getLogger(__name__)

# Keys that only extend or observe a run: a resume may change them (they are listed when it does).
# Every other key (model.*, loss.*, data.*, optim.*, the batch, precision, seed, any section added
# later) defines what the run trains; a resume changing it is refused (its curves would mix two).
RESUME_MAY_CHANGE = {
    "name", "model.init_from", "data.num_workers", "train.steps", "train.epochs", "train.log_every",
    "train.eval_every", "train.save_every", "train.keep_last", "train.max_nonfinite",
    "train.log_root", "train.val_pairs", "train.memory_format", "train.debug_nan_at_step",
}  # fmt: skip


def resolve_resume(run_dir: Path, resume: str) -> Path | None:
    """`latest` -> the newest complete checkpoint of run_dir, None when there is none yet (a fresh
    start: a scheduler's job runs the same command first and after every requeue); otherwise
    `resume` is a checkpoint folder."""
    if resume == "latest":
        found = complete_checkpoints(run_dir)
        if not found:
            log.info("--resume latest: no checkpoint in %s yet: starting at step 0", run_dir)
            return None
        return found[-1][1]
    folder = Path(resume)
    if read_complete(folder) is None:
        raise CheckpointError(
            f"--resume {resume}: not a complete checkpoint folder (expected {MARKER} and the files "
            f"it lists, e.g. {checkpoints_dir(run_dir)}/step_000050)"
        )
    return folder


def same_checkpoint_everywhere(
    accelerator: Accelerator, checkpoint: Path | None, run_dir: Path
) -> Path | None:
    """The main process's checkpoint, once every rank found the same one in its own view of the
    run folder (a collective: every rank calls it, before any step).

    A run folder on a machine's local disk is not shared: another machine's rank would start afresh
    (or from an older step) while the main process resumes, and fail at the first save.

    Raises:
        CheckpointError: on every rank, naming the ranks and hosts that see another checkpoint.
    """
    if accelerator.num_processes == 1:
        return checkpoint
    main = broadcast_object_list([str(checkpoint) if checkpoint else None])[0]
    mine = str(checkpoint) if checkpoint else None
    seen = gather_object([(accelerator.process_index, socket.gethostname(), mine)])
    blind = [(rank, host, found) for rank, host, found in seen if found != main]
    if blind:
        where = ", ".join(f"rank {r} on {h} finds {f or 'no checkpoint'}" for r, h, f in blind)
        raise CheckpointError(
            f"the main process resumes from {main or 'step 0 (no checkpoint)'} but {where}: the "
            f"run folder {run_dir} is not shared between the machines. Put --run-dir on storage "
            "every machine mounts at the same path (data.root may stay node-local if identical)"
        )
    return Path(main) if main else None


def run_folder_everywhere(accelerator: Accelerator, run_dir: Path) -> None:
    """Every rank sees the config.yaml the main process just wrote (a collective, before any step):
    a fresh run on a node-local disk would otherwise fail at its first save.

    Raises:
        CheckpointError: on every rank, naming the ranks and hosts that do not see it.
    """
    if accelerator.num_processes == 1:
        return
    accelerator.wait_for_everyone()  # the main process has written it
    seen = gather_object(
        [(accelerator.process_index, socket.gethostname(), (run_dir / "config.yaml").is_file())]
    )
    blind = [f"rank {rank} on {host}" for rank, host, sees in seen if not sees]
    if blind:
        raise CheckpointError(
            f"{', '.join(blind)} cannot see {run_dir / 'config.yaml'}, which the main process "
            f"just wrote: the run folder {run_dir} is not shared between the machines. Put "
            "--run-dir on storage every machine mounts at the same path (data.root may stay "
            "node-local if identical)"
        )


def saved_config(folder: Path) -> dict | None:
    """A checkpoint's training config: its trainer_state.json, else its run folder's config.yaml."""
    state = read_complete(folder)
    if state is not None and state.config:
        return json.loads(state.config)
    run_config = folder.parent.parent / "config.yaml"
    try:
        return yaml.safe_load(run_config.read_text())
    except (OSError, yaml.YAMLError):
        return None


def check_resume_config(folder: Path, cfg: Config) -> list[str]:
    """The keys a resume changes, as `key old -> new`; only RESUME_MAY_CHANGE may differ.

    Raises:
        CheckpointError: A key that defines the model, the objective or the data differs (one line,
            every such key named, and how to start a new run from these weights instead).
    """
    saved = saved_config(folder)
    if saved is None:
        return []  # an old checkpoint: load_checkpoint still compares the architecture
    old, new = dotted(saved), dotted(json.loads(to_json(cfg)))
    changed = sorted(
        k for k in old.keys() | new.keys() if old.get(k, "<unset>") != new.get(k, "<unset>")
    )
    refused = [k for k in changed if k not in RESUME_MAY_CHANGE]
    if refused:
        what = ", ".join(
            f"{k}: {old.get(k, '<unset>')} -> {new.get(k, '<unset>')}" for k in refused
        )
        raise CheckpointError(
            f"--resume {folder} would change what the run trains ({what}); a resume may change "
            "only train.steps, train.epochs and the logging, saving and validation intervals. "
            f"Resume without those overrides (--config {folder.parent.parent / 'config.yaml'}), "
            f"or start a new run from these weights: --run-dir NEW_DIR model.init_from={folder}"
        )
    return [f"{k} {old.get(k, '<unset>')} -> {new.get(k, '<unset>')}" for k in changed]


def _architecture(model_json: str) -> dict:
    """The model config without `init_from`: where a run started from does not change what it
    resumes."""
    return {k: v for k, v in json.loads(model_json).items() if k != "init_from"}


def _check_optimizer(folder: Path, optimizer: torch.optim.Optimizer) -> None:
    """Refuse optimizer state of another kind or shape before anything is loaded.

    torch's load_state_dict would take Adam's state into an SGD (its param groups carry the saved
    hyper-parameters) and fail only at the first step, after the run folder was touched.
    """
    path = folder / "optimizer.bin"  # accelerate's name for the first prepared optimizer
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path}: unreadable optimizer state ({type(err).__name__}); the checkpoint is "
            "damaged: resume from an earlier one (--resume <run_dir>/checkpoints/step_N)"
        ) from None
    groups, current = saved.get("param_groups", []), optimizer.state_dict()["param_groups"]
    if [sorted(g) for g in groups] != [sorted(g) for g in current] or [
        len(g["params"]) for g in groups
    ] != [len(g["params"]) for g in current]:
        raise CheckpointError(
            f"{path} holds the state of another optimizer (settings "
            f"{sorted(groups[0]) if groups else []}, this run's {sorted(current[0])}); resume with "
            f"the run's own optim.name (see <run_dir>/config.yaml)"
        )
    for index, values in saved.get("state", {}).items():
        params = [p for g in optimizer.param_groups for p in g["params"]]
        shapes = {
            k: tuple(v.shape) for k, v in values.items() if torch.is_tensor(v) and v.dim() > 0
        }
        if any(shape != tuple(params[int(index)].shape) for shape in shapes.values()):
            raise CheckpointError(
                f"{path}: optimizer state of parameter {index} has shape {shapes}, the model's is "
                f"{tuple(params[int(index)].shape)}; was it saved by another architecture?"
            )


def load_checkpoint(
    accelerator: Accelerator,
    folder: Path,
    model: torch.nn.Module,
    cfg: Config,
    optimizer: torch.optim.Optimizer,
) -> TrainerState:
    """Restore model, optimizer, scaler and RNG from a complete checkpoint; returns its
    TrainerState.

    A checkpoint saved by another number of processes resumes too, with a warning: the step-t
    batches then differ from the ones the interrupted run would have drawn
    (data_prep.datasets.StreamSampler).

    Nothing is written: the caller writes the run folder only once this returned.

    Raises:
        CheckpointError: The checkpoint was saved from another architecture or optimizer, or lacks
            weights.
    """
    state = read_complete(folder)
    if state is None:
        raise CheckpointError(f"{folder} is not a complete checkpoint (see the warning above)")
    if state.model_config and _architecture(state.model_config) != _architecture(
        to_json(cfg.model)
    ):
        raise CheckpointError(
            f"{folder} was trained with model config {state.model_config}, but this "
            f"run's is {to_json(cfg.model)}; "
            "resume with the run's own config.yaml (train.py --config "
            "<run_dir>/config.yaml --resume latest)"
        )
    objective = accelerator.unwrap_model(model)
    expected = {**release_state_dict(objective.net), **step_tensors(objective)}
    saved = load_file(str(folder / STEP_WEIGHTS)) if (folder / STEP_WEIGHTS).is_file() else {}
    missing, unexpected = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{folder / STEP_WEIGHTS} does not hold this run's weights (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); was it saved by a run of another config, or before "
            f"step checkpoints held {STEP_WEIGHTS}?"
        )
    _check_optimizer(folder, optimizer)
    # file names are the release ones (decoder.*, encoder.*) plus loss_net.* and ccpl.*; the
    # objective's are net.* there
    own = ("loss_net.", "ccpl.")
    objective.load_state_dict(
        {k if k.startswith(own) else f"net.{k}": v for k, v in saved.items()}, strict=False
    )  # frozen pretrained weights were left out on purpose (checked above)
    with accelerate_skips_the_model(accelerator):
        accelerator.load_state(str(folder))
    if (
        state.world_size
        and state.world_size != accelerator.num_processes
        and accelerator.is_main_process
    ):
        log.warning(
            "%s was saved by a %d-process run and resumes on %d: the data order is no longer the "
            "one the uninterrupted run would have seen (global batch %d -> %d)",
            folder,
            state.world_size,
            accelerator.num_processes,
            state.world_size * cfg.train.batch_size,
            accelerator.num_processes * cfg.train.batch_size,
        )
    return state
