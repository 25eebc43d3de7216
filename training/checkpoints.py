"""Resumable training checkpoints: atomic folders, rotation, and finding the newest complete one.

Layout: `run_dir/checkpoints/step_000050/` holds accelerate's `save_state` files (model, optimizer, grad
scaler, one RNG file per rank) and `trainer_state.json`, written last: the completion marker with the step,
the counters and the size of every file. A checkpoint is written into `.tmp_step_000050/` and renamed only
once complete, so a kill during a save leaves the previous checkpoint intact and `latest` never picks a
half-written folder (a folder without a valid marker, or whose files differ from the recorded sizes,
is skipped).

Frozen networks with pretrained weights (a frozen ViT-B/16 is 330 MB, the VGG19 loss network 80 MB) are
left out: they are rebuilt from the library on resume. Random-weight networks are kept.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from safetensors import safe_open

from configs.schema import Config, to_json
from data_prep.files import atomic_write
from models.checkpoint import CheckpointError
from models.pretrained import uses_random_weights

log = logging.getLogger(__name__)

MARKER = "trainer_state.json"
MODEL_FILE = "model.safetensors"  # accelerate's name for the first prepared model's weights
_STEP_DIR = re.compile(r"step_(\d{6,})")


@dataclass
class TrainerState:
    """What the loop needs besides the tensors: the step and the counters that are logged over a run."""

    step: int = 0
    skipped_steps: int = 0
    model_config: str = ""  # JSON; a resume with a different architecture fails with a clear message
    files: dict[str, int] = field(default_factory=dict)  # name -> size in bytes, checked by `latest`


def checkpoints_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def step_dir(run_dir: Path, step: int) -> Path:
    return checkpoints_dir(run_dir) / f"step_{step:06d}"


def read_complete(folder: Path) -> TrainerState | None:
    """The folder's TrainerState if it is a complete checkpoint, else None (with the reason logged)."""
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
    """(step, folder) of the complete checkpoints of a run, oldest first; temp folders are never listed."""
    found = []
    root = checkpoints_dir(run_dir)
    for folder in root.iterdir() if root.is_dir() else []:
        match = _STEP_DIR.fullmatch(folder.name)
        if match and folder.is_dir() and read_complete(folder) is not None:
            found.append((int(match.group(1)), folder))
    return sorted(found)


def resolve_resume(run_dir: Path, resume: str) -> Path:
    """`latest` -> the newest complete checkpoint of run_dir; otherwise `resume` is a checkpoint folder."""
    if resume == "latest":
        found = complete_checkpoints(run_dir)
        if not found:
            raise CheckpointError(
                f"--resume latest: no complete checkpoint in {checkpoints_dir(run_dir)}; check --run-dir "
                "(it defaults to <train.log_root>/<config name>) or start without --resume"
            )
        return found[-1][1]
    folder = Path(resume)
    if read_complete(folder) is None:
        raise CheckpointError(
            f"--resume {resume}: not a complete checkpoint folder (expected {MARKER} and the files it lists, "
            f"e.g. {checkpoints_dir(run_dir)}/step_000050)"
        )
    return folder


def _droppable_prefixes(cfg: Config) -> tuple[str, ...]:
    """State-dict prefixes of frozen networks whose weights the library can rebuild (see module docstring)."""
    prefixes = []
    if not uses_random_weights(cfg.model.encoder):
        prefixes.append("net.encoder.")
    if cfg.loss.loss_net_pretrained or cfg.loss.loss_net_weights_file:
        prefixes.append("loss_net.")
    return tuple(prefixes)


def _strip_wrapper(key: str) -> str:
    return key[len("module."):] if key.startswith("module.") else key  # DDP's prefix


def register_frozen_filter(accelerator: Accelerator, cfg: Config) -> None:
    """Leave frozen pretrained weights and shared-tensor aliases out of `save_state` (edits the dicts in place)."""
    prefixes = _droppable_prefixes(cfg)

    def hook(models, weights, output_dir):
        for state in weights:
            seen = set()
            for key in list(state):
                # aliases (the loss network's stem IS the encoder) are saved once; safetensors restores them
                alias = (state[key].data_ptr(), state[key].shape) in seen
                seen.add((state[key].data_ptr(), state[key].shape))
                if alias or _strip_wrapper(key).startswith(prefixes):
                    del state[key]

    accelerator.register_save_state_pre_hook(hook)


def save_checkpoint(accelerator: Accelerator, run_dir: Path, state: TrainerState, keep_last: int) -> Path:
    """Write a resumable checkpoint atomically, then delete complete ones beyond `keep_last`.

    Every rank must call this: accelerate writes one RNG file per rank (the rest on the main process only).
    """
    final, tmp = step_dir(run_dir, state.step), checkpoints_dir(run_dir) / f".tmp_step_{state.step:06d}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)  # a leftover of a save that was killed
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
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


def load_checkpoint(accelerator: Accelerator, folder: Path, model: torch.nn.Module, cfg: Config) -> TrainerState:
    """Restore model, optimizer, scaler and RNG from a complete checkpoint; returns its TrainerState.

    Raises:
        CheckpointError: The checkpoint was saved from another architecture, or lacks trained weights.
    """
    state = read_complete(folder)
    if state is None:
        raise CheckpointError(f"{folder} is not a complete checkpoint (see the warning above)")
    if state.model_config and state.model_config != to_json(cfg.model):
        raise CheckpointError(
            f"{folder} was trained with model config {state.model_config}, but this run's is {to_json(cfg.model)}; "
            "resume with the run's own config.yaml (train.py --config <run_dir>/config.yaml --resume latest)"
        )
    with safe_open(str(folder / MODEL_FILE), framework="pt") as f:
        saved = set(f.keys())
    # names without DDP's `module.`: accelerate saves and loads the unwrapped model's state dict
    saved = {_strip_wrapper(k) for k in saved}
    missing = sorted(_strip_wrapper(k) for k, p in model.named_parameters()
                     if p.requires_grad and _strip_wrapper(k) not in saved)
    if missing:
        raise CheckpointError(
            f"{folder}/{MODEL_FILE} lacks trained weights {missing[:3]}; was it saved by a run of another config?"
        )
    # strict=False only because frozen pretrained weights were left out on purpose (checked above)
    accelerator.load_state(str(folder), strict=not _droppable_prefixes(cfg))
    return state
