"""Resumable training checkpoints: atomic folders, rotation, and finding the newest complete one.

Layout of `run_dir/checkpoints/step_000050/`:
- `weights.safetensors` (weights.checkpoint.STEP_WEIGHTS): the trainable weights in the release
  format (`decoder.*`, `encoder.*` when random or trained, the model config and step in the
  metadata), so `infer.py --checkpoint` and `eval.evaluate --checkpoint` take the folder like a
  release file. A random loss network is stored beside them as `loss_net.*` (loaders skip that
  prefix) so a resume is exact; frozen pretrained networks (a ViT-B/16 is 330 MB, the VGG19 loss
  network 80 MB) are left out and rebuilt from the library.
- accelerate's `save_state` files minus the model: optimizer, grad scaler, one RNG file per rank.
  Its model file would be called `model.safetensors`, the release file's name, yet hold the training
  objective's `net.`-prefixed state dict that no loader reads; accelerate's documented pre-hooks
  (register_*_state_pre_hook: a hook that handles the model itself removes it from the list) keep
  the model out of save_state and load_state, and this module writes and reads STEP_WEIGHTS instead.
  Renaming accelerate's file after the save and back before a load was the alternative; it makes
  loading write into the checkpoint.
- `trainer_state.json`, written last: the completion marker with the step, the counters, the world
  size and the size of every file.

A checkpoint is written into `.tmp_step_000050/` and renamed only once complete, so a kill during a
save leaves the previous checkpoint intact and `latest` never picks a half-written folder (a folder
without a valid marker, or whose files differ from the recorded sizes, is skipped).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from safetensors.torch import load_file

from configs.schema import Config, to_json
from media.files import TEMP_SUFFIX, atomic_write
from weights.checkpoint import STEP_WEIGHTS, CheckpointError
from weights.release import release_state_dict, save_release

log = logging.getLogger(__name__)

MARKER = "trainer_state.json"
_STEP_DIR = re.compile(r"step_(\d{6,})")


@dataclass
class TrainerState:
    """What the loop needs besides the tensors: the step and the counters that are logged over a
    run."""

    step: int = 0
    skipped_steps: int = 0
    model_config: str = (
        ""  # JSON; a resume with a different architecture fails with a clear message
    )
    config: str = ""  # the whole config as JSON; a resume may change only RESUME_MAY_CHANGE
    # processes that trained it (0: saved before it was recorded); the data order depends on it
    world_size: int = 0
    files: dict[str, int] = field(
        default_factory=dict
    )  # name -> size in bytes, checked by `latest`


def checkpoints_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def step_dir(run_dir: Path, step: int) -> Path:
    return checkpoints_dir(run_dir) / f"step_{step:06d}"


def read_complete(folder: Path) -> TrainerState | None:
    """The folder's TrainerState if it is a complete checkpoint, else None (with the reason
    logged)."""
    try:
        data = json.loads((folder / MARKER).read_text())
        state = TrainerState(**data)
    except (OSError, ValueError, TypeError) as err:
        log.warning("ignoring checkpoint %s: no valid %s (%s)", folder, MARKER, err)
        return None
    for name, size in state.files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            log.warning("ignoring checkpoint %s: %s is missing or truncated", folder, name)
            return None
    return state


def complete_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of the complete checkpoints of a run, oldest first; temp folders are never
    listed."""
    found = []
    root = checkpoints_dir(run_dir)
    for folder in root.iterdir() if root.is_dir() else []:
        match = _STEP_DIR.fullmatch(folder.name)
        if match and folder.is_dir() and read_complete(folder) is not None:
            found.append((int(match.group(1)), folder))
    return sorted(found)


def resolve_resume(run_dir: Path, resume: str) -> Path:
    """`latest` -> the newest complete checkpoint of run_dir; otherwise `resume` is a checkpoint
    folder."""
    if resume == "latest":
        found = complete_checkpoints(run_dir)
        if not found:
            raise CheckpointError(
                f"--resume latest: no complete checkpoint in {checkpoints_dir(run_dir)}; check "
                "--run-dir (it defaults to <train.log_root>/<config "
                "name>) or start without --resume"
            )
        return found[-1][1]
    folder = Path(resume)
    if read_complete(folder) is None:
        raise CheckpointError(
            f"--resume {resume}: not a complete checkpoint folder (expected {MARKER} and the files "
            f"it lists, e.g. {checkpoints_dir(run_dir)}/step_000050)"
        )
    return folder


def step_tensors(objective: torch.nn.Module) -> dict[str, torch.Tensor]:
    """What STEP_WEIGHTS holds beyond the release tensors: a random loss network's own weights, as
    `loss_net.*`.

    Pretrained loss networks are rebuilt from the library; tensors it shares with the encoder (the
    AdaIN recipe's loss network IS the encoder's stem) are restored with the encoder.
    """
    loss = objective.cfg
    if loss.loss_net_pretrained or loss.loss_net_weights_file:
        return {}
    shared = {t.data_ptr() for t in objective.net.state_dict().values()}
    return {
        f"loss_net.{k}": v.detach().cpu().contiguous()
        for k, v in objective.loss_net.state_dict().items()
        if v.data_ptr() not in shared
    }


@contextmanager
def _accelerate_skips_the_model(accelerator: Accelerator):
    """accelerate's save_state / load_state skip the model: STEP_WEIGHTS holds it (see module
    docstring)."""
    save = accelerator.register_save_state_pre_hook(
        lambda models, weights, output_dir: weights.clear()
    )
    load = accelerator.register_load_state_pre_hook(lambda models, input_dir: models.clear())
    try:
        yield
    finally:
        save.remove()
        load.remove()


def save_checkpoint(
    accelerator: Accelerator,
    run_dir: Path,
    state: TrainerState,
    keep_last: int,
    objective: torch.nn.Module,
    metadata: dict[str, str],
) -> Path:
    """Write a resumable checkpoint atomically, then delete complete ones beyond `keep_last`.

    Every rank must call this: accelerate writes one RNG file per rank (the rest on the main process
    only).

    Args:
        objective: the unwrapped StyleTransferObjective (its net and loss network go into
            STEP_WEIGHTS).
        metadata: the release metadata of STEP_WEIGHTS (step, config name, loss config).
    """
    final, tmp = (
        step_dir(run_dir, state.step),
        checkpoints_dir(run_dir) / f".tmp_step_{state.step:06d}",
    )
    state.world_size = accelerator.num_processes
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)  # a leftover of a save that was killed
        tmp.mkdir(parents=True)
        save_release(tmp / STEP_WEIGHTS, objective.net, metadata, extra=step_tensors(objective))
    accelerator.wait_for_everyone()
    with _accelerate_skips_the_model(accelerator):
        accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()  # every rank's files are in tmp before it is declared complete
    if accelerator.is_main_process:
        state.files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
        atomic_write(tmp / MARKER, json.dumps(asdict(state), indent=1))
        if final.exists():  # re-saving a step (a resumed run's final save): swap, never leave a gap
            old = final.with_name(f".old_{final.name}")
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old)
        else:
            tmp.rename(final)
        for _, folder in complete_checkpoints(run_dir)[:-keep_last] if keep_last > 0 else []:
            shutil.rmtree(folder)
    accelerator.wait_for_everyone()
    return final


def _architecture(model_json: str) -> dict:
    """The model config without `init_from`: where a run started from does not change what it
    resumes."""
    return {k: v for k, v in json.loads(model_json).items() if k != "init_from"}


def remove_stale_temp_files(run_dir: Path) -> int:
    """Delete what interrupted saves of this run left: hidden `.*.partial` / `.*.tmp` files of
    atomic writes and `checkpoints/.tmp_step_*` / `.old_step_*` folders. Complete files and
    checkpoints are never touched."""
    removed = 0
    for root, dirs, files in os.walk(run_dir):  # does not follow links
        for name in files:
            if name.startswith(".") and name.endswith((TEMP_SUFFIX, ".tmp")):
                (Path(root) / name).unlink()
                removed += 1
        for name in [d for d in dirs if d.startswith((".tmp_step_", ".old_step_"))]:
            shutil.rmtree(Path(root) / name)
            dirs.remove(name)
            removed += 1
    return removed


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
    # file names are the release ones (decoder.*, encoder.*) plus loss_net.*; the objective's are
    # net.* there
    objective.load_state_dict(
        {k if k.startswith("loss_net.") else f"net.{k}": v for k, v in saved.items()}, strict=False
    )  # frozen pretrained weights were left out on purpose (checked above)
    with _accelerate_skips_the_model(accelerator):
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
