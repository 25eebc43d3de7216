"""Writing a release file: the trainable weights as safetensors, the model config in the metadata.

`save_release` writes what inference needs and nothing more: the decoder, plus the encoder when its
weights cannot be re-obtained from a library (random or fine-tuned). Frozen pretrained networks are
not copied in. The metadata holds the format, the model config and the plugins its names come from
(weights/plugin_meta.py), so weights/load.py rebuilds the network from the file alone. Resumable
training state lives in training/checkpoints.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from configs.schema import to_json
from media.files import atomic_path
from models.net import StyleTransferNet
from models.pretrained import uses_random_weights
from weights.checkpoint import IGNORED_PREFIXES
from weights.plugin_meta import plugins_used

FORMAT = "adain-style-transfer/release-v1"


def release_state_dict(
    net: StyleTransferNet, dtype: torch.dtype | None = None
) -> dict[str, torch.Tensor]:
    """The tensors a release file holds: decoder.*, plus encoder.* when it is random or trained;
    floating tensors cast to `dtype` when given (bfloat16 halves a release: loading copies them into
    the float32 network)."""
    keep = ("decoder.", "encoder.") if uses_random_weights(net.cfg.encoder) else ("decoder.",)
    return {
        k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v)
        .detach()
        .cpu()
        .contiguous()
        for k, v in net.state_dict().items()
        if k.startswith(keep)
    }


def save_release(
    path: str | Path,
    net: StyleTransferNet,
    metadata: dict[str, str] | None = None,
    extra: dict[str, torch.Tensor] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write the release safetensors file atomically; `metadata` adds str->str entries (step, loss
    config).

    `extra` adds tensors under IGNORED_PREFIXES (a step checkpoint's random loss network): loaders
    skip them. `dtype`: see release_state_dict.
    """
    path = Path(path)
    if extra and not all(k.startswith(IGNORED_PREFIXES) for k in extra):
        raise ValueError(
            f"extra tensors must start with one of {IGNORED_PREFIXES}, or "
            f"loaders would trip on them"
        )
    meta = {
        "format": FORMAT,
        "model_config": to_json(net.cfg),
        "plugins": json.dumps(plugins_used(net.cfg)),
        **{k: str(v) for k, v in (metadata or {}).items()},
    }
    state = {**release_state_dict(net, dtype), **(extra or {})}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return path
