"""What a resume may change: what extends or observes a run, never the model, objective or data.

`--resume latest loss.style_loss=gram` used to continue silently, overwrite config.yaml and make the
logged style loss jump 10x inside one run. The config a checkpoint was trained with is kept in its
trainer_state.json (older checkpoints: the run folder's config.yaml) and compared key by key, before
anything is loaded or written.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from configs.schema import Config, dotted, to_json
from training.checkpoints import read_complete
from weights.checkpoint import CheckpointError

# Keys that only extend or observe a run: a resume may change them (they are listed when it does).
# Every other key (model.*, loss.*, data.*, optim.*, the batch, precision, seed, any section added
# later) defines what the run trains; a resume changing it is refused (its curves would mix two).
RESUME_MAY_CHANGE = {
    "name", "model.init_from", "data.num_workers", "train.steps", "train.epochs", "train.log_every",
    "train.eval_every", "train.save_every", "train.keep_last", "train.max_nonfinite",
    "train.log_root", "train.val_pairs", "train.memory_format", "train.debug_nan_at_step",
}  # fmt: skip


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
