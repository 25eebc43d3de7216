"""The plugins a weights file needs: recorded when it is written, checked before it is loaded.

A release file's metadata entry "plugins" maps 'kind:name' (transform, encoder, decoder) to the
plugin file or module that registered the name (models/registry.py). Without that plugin the file
would fail deep in the model builder with an unknown name; `check_plugins` says instead, in one
line, which plugin to pass. Its own file because the writer (weights/release.py) and the reader
(weights/load.py) must agree on this one entry.
"""

from __future__ import annotations

import json
from pathlib import Path

from configs.schema import ModelConfig
from models.registry import REGISTRIES
from weights.checkpoint import CheckpointError


def plugins_used(cfg: ModelConfig) -> dict[str, str]:
    """{'kind:name': plugin} for the model's transform, encoder and decoder that a plugin
    registered."""
    used = {"transform": cfg.transform, "encoder": cfg.encoder.kind, "decoder": cfg.decoder.kind}
    sources = {f"{kind}:{name}": REGISTRIES[kind].sources.get(name) for kind, name in used.items()}
    return {key: plugin for key, plugin in sources.items() if plugin}


def check_plugins(path: Path, meta: dict[str, str]) -> None:
    """A file whose names come from plugins that are not loaded: one line naming the plugin."""
    try:
        plugins = json.loads(meta.get("plugins") or "{}")
        entries = [(*key.split(":", 1), str(plugin)) for key, plugin in plugins.items()]
        if any(len(e) != 3 or e[0] not in REGISTRIES for e in entries):
            raise ValueError("a key is not 'kind:name'")
    except (ValueError, AttributeError, RecursionError) as err:  # RecursionError: deep nesting
        raise CheckpointError(
            f"{path}: plugins metadata is not a {{'kind:name': plugin}} map "
            f"({type(err).__name__}); use a release file written by train.py or export.py"
        ) from None
    for kind, name, plugin in entries:
        if name not in REGISTRIES[kind]:
            raise CheckpointError(
                f"{path}: its {kind} '{name}' comes from the plugin {plugin}, which is not "
                f"loaded; pass --plugins {plugin}"
            )
