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
  the model out of save_state and load_state; this module writes STEP_WEIGHTS instead and
  training/resume.py reads it.
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

from media.files import TEMP_SUFFIX, atomic_write
from weights.checkpoint import STEP_WEIGHTS
from weights.release import save_release

log = logging.getLogger(__name__)

MARKER = "trainer_state.json"
_STEP_DIR = re.compile(r"step_(\d{6,})")


@dataclass
class TrainerState:
    """What the loop needs besides the tensors: the step and the counters that are logged over a
    run."""

    step: int = 0
    skipped_steps: int = 0
    # JSON; a resume with a different architecture fails with a clear message
    model_config: str = ""
    config: str = ""  # the whole config as JSON; a resume may change only RESUME_MAY_CHANGE
    # processes that trained it (0: saved before it was recorded); the data order depends on it
    world_size: int = 0
    # name -> size in bytes, checked by `latest`
    files: dict[str, int] = field(default_factory=dict)


def checkpoints_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def step_dir(run_dir: Path, step: int) -> Path:
    return checkpoints_dir(run_dir) / f"step_{step:06d}"


def read_complete(folder: Path, quiet: bool = False) -> TrainerState | None:
    """The folder's TrainerState if it is a complete checkpoint, else None (with the reason
    logged as a warning; at debug level if `quiet`, for a poll that waits for a run to save)."""
    level = logging.DEBUG if quiet else logging.WARNING
    try:
        data = json.loads((folder / MARKER).read_text())
        state = TrainerState(**data)
    except (OSError, ValueError, TypeError) as err:
        log.log(level, "ignoring checkpoint %s: no valid %s (%s)", folder, MARKER, err)
        return None
    for name, size in state.files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            log.log(level, "ignoring checkpoint %s: %s is missing or truncated", folder, name)
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


def step_tensors(objective: torch.nn.Module) -> dict[str, torch.Tensor]:
    """What STEP_WEIGHTS holds beyond the release tensors: the CCPL heads (`ccpl.*`, trained with
    the decoder: training/ccpl.py) and a random loss network's own weights (`loss_net.*`).

    Pretrained loss networks are rebuilt from the library; tensors it shares with the encoder (the
    AdaIN recipe's loss network IS the encoder's stem) are restored with the encoder.
    """
    loss, out = objective.cfg, {}
    if objective.ccpl_layers:
        out = {
            f"ccpl.{k}": v.detach().cpu().contiguous()
            for k, v in objective.ccpl.state_dict().items()
        }
    if loss.loss_net_pretrained or loss.loss_net_weights_file:
        return out
    shared = {t.data_ptr() for t in objective.net.state_dict().values()}
    return out | {
        f"loss_net.{k}": v.detach().cpu().contiguous()
        for k, v in objective.loss_net.state_dict().items()
        if v.data_ptr() not in shared
    }


@contextmanager
def accelerate_skips_the_model(accelerator: Accelerator):
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
    with accelerate_skips_the_model(accelerator):
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
