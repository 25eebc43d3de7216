"""Style statistics files: a style (one image's or a pooled domain's) saved once and reused.

`infer.py --style-domain anime/ --save-style anime.safetensors` reads a whole folder once;
`infer.py --style anime.safetensors` stylizes with it later. The file is safetensors: the
transform's statistics tensors (`stats.0`, `stats.1`, ...) and metadata naming the transform and the
encoder they were computed with, so statistics are never applied through another network or
transform.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file

from inference.options import InferError
from media.files import atomic_path
from models.adain import Stats
from models.net import StyleTransferNet

FORMAT = "adain-style-transfer/style-stats-v1"


def _encoder_json(net: StyleTransferNet) -> str:
    enc = net.cfg.encoder
    return json.dumps(
        {
            "kind": enc.kind,
            "name": enc.name if enc.kind == "vit" else "",
            "layer": net.layer,
            "weights_file": enc.weights_file,
            "pretrained": enc.pretrained,
        },
        sort_keys=True,
    )


def is_stats_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".safetensors"


def save_stats(
    path: str | Path, stats: Stats, net: StyleTransferNet, images: int, source: str
) -> Path:
    """Write `stats` atomically with the transform, encoder, image count and source folder in the
    metadata."""
    meta = {
        "format": FORMAT,
        "transform": net.cfg.transform,
        "encoder": _encoder_json(net),
        "images": str(images),
        "source": source,
    }
    tensors = {f"stats.{i}": t.detach().cpu().contiguous() for i, t in enumerate(stats)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return Path(path)


def load_stats(path: str | Path, net: StyleTransferNet) -> Stats:
    """The statistics of a file written by `save_stats`, checked against the net's transform and
    encoder."""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:
        raise InferError(
            f"{path} is not a readable style statistics file ({type(err).__name__})"
        ) from None
    if meta.get("format") != FORMAT:
        raise InferError(
            f"{path} is not a style statistics file (written by infer.py --save-style)"
        )
    if meta.get("transform") != net.cfg.transform:
        raise InferError(
            f"{path} holds {meta.get('transform')} statistics but the model runs "
            f"{net.cfg.transform}: pass --transform {meta.get('transform')} or save the style again"
        )
    if meta.get("encoder") != _encoder_json(net):
        raise InferError(
            f"{path} was computed with another encoder ({meta.get('encoder')}); save the style "
            "again with this checkpoint"
        )
    return tuple(tensors[f"stats.{i}"] for i in range(len(tensors)))
