"""Whether a checkpoint file says its images are no real stylizations: its encoder was random.

infer.py warns with it before a run; the web demo shows it as a banner over each result.
"""

from __future__ import annotations

import json
from pathlib import Path

from configs.read import model_config_from_json
from models.pretrained import random_weights_reason
from weights.checkpoint import ONNX_META, read_metadata
from weights.sources import is_spec


def random_weights(path: str | Path) -> str | None:
    """Why a checkpoint's images are no real stylizations (its metadata); None if nothing says so.

    Release files and step folders: their safetensors metadata; ONNX folders (export.py --out): the
    configs export copied into onnx_model.json. The rule: models.pretrained.random_weights_reason.
    """
    if is_spec(path):
        return None  # reading a download spec's metadata would download it
    try:
        if (Path(path) / ONNX_META).is_file():
            meta = json.loads((Path(path) / ONNX_META).read_text(encoding="utf-8"))
            model, loss = meta.get("model_config"), meta.get("loss_config") or {}
            encoder = model_config_from_json(json.dumps(model)).encoder if model else None
        else:
            meta = read_metadata(path)
            encoder = (
                model_config_from_json(meta["model_config"]).encoder
                if "model_config" in meta
                else None
            )
            loss = json.loads(meta.get("loss_config", "{}"))
    except Exception:  # an unreadable file: its load error is reported where it is loaded
        return None
    return random_weights_reason(encoder, loss if isinstance(loss, dict) else {})
