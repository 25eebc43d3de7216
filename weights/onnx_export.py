"""ONNX export of a StyleTransferNet: the encoder and the decoder as graphs, the transform where it
exports.

    python export.py --checkpoint runs/x/model.safetensors --out onnx/x

The folder holds encoder.onnx ((B, 3, H, W) [0, 1] RGB -> (B, C, H/s, W/s) features, input
normalization inside), decoder.onnx (features -> (B, 3, H, W) in [0, 1], output activation inside),
and for a transform that traces (adain, mean, std, efdm, a plugin's plain function) style_stats.onnx
(style features -> statistics) and transform.onnx (content features, alpha, statistics -> the
alpha-blended target). Batch, height and width are dynamic (torch.export with Dim.DYNAMIC, opset 18:
timm's ViT resizes its position embedding with an antialiased bicubic, ONNX Resize's `antialias`
needs opset 18). wct does not export: its symmetric eigendecomposition has no ONNX operator, so the
runtime computes it on the host (models/transforms.py). ONNX_META (JSON, FORMAT_VERSION) says what a
runtime must do around the graphs: pad the image's bottom and right edges (the rule below), run the
graphs, crop the output to the content's size. Every graph is checked against PyTorch with
onnxruntime at a size other than the traced one before the folder appears.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from configs.schema import to_json
from media.files import atomic_folder
from media.progress import tqdm
from models.adain import blend
from models.net import StyleTransferNet
from runtime.channels_last import keep_channels_last
from weights.checkpoint import ONNX_META, read_metadata
from weights.onnx_graph import OPSET, ExportError, check_graph, export_graph

FORMAT = "adain-style-transfer/onnx"
FORMAT_VERSION = 1
HOST_ONLY = {
    "wct": "whitening and colouring needs a symmetric eigendecomposition (torch.linalg.eigh), "
    "which ONNX has no operator for: the runtime computes it on the host (models/transforms.py)"
}


class _Encode(nn.Module):
    def __init__(self, net: StyleTransferNet):
        super().__init__()
        self.net = net

    # the image already padded (ONNX_META "pad")
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net.encoder(image)[self.net.layer]


class _Decode(nn.Module):
    def __init__(self, net: StyleTransferNet):
        super().__init__()
        self.decoder = net.decoder

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.decoder(feat)


class _Stats(nn.Module):
    def __init__(self, net: StyleTransferNet):
        super().__init__()
        self.transform = net.transform

    def forward(self, feat: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.transform.stats(feat))


class _Transfer(nn.Module):
    def __init__(self, net: StyleTransferNet):
        super().__init__()
        self.transform = net.transform

    def forward(
        self, feat: torch.Tensor, alpha: torch.Tensor, *style: torch.Tensor
    ) -> torch.Tensor:
        return blend(feat, self.transform.apply(feat, None, tuple(style)), alpha)


def pad_rule(net: StyleTransferNet) -> dict:
    """StyleTransferNet.pad in words and numbers, for runtimes that are not this repo."""
    multiple = 1 if getattr(net.encoder, "ceil_pools", False) else net.stride
    return {
        "multiple": multiple,
        "minimum": 2 * net.stride,
        "sides": "bottom and right",
        "mode": "reflect; edge (replicate) when a pad is as large as the side it pads",
        "rule": "pad H to max(H + (-H mod multiple), minimum) rounded up to a multiple; "
        "the same for W",
    }


def export_onnx(net: StyleTransferNet, out: str | Path, source: str = "") -> dict:
    """Write the ONNX folder `out` for `net` (float32, CPU); returns ONNX_META's content.

    The graphs go to a temp folder beside `out`, renamed onto it when all of them passed their
    check, so a failed export leaves nothing. Raises ExportError for an `out` that holds files or a
    graph that fails.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(
            f"--out {out} exists and is not an empty folder; choose a new folder (nothing written)"
        )
    # as every run: a ViT's token map is NHWC, so the decoder traces the NHWC-keeping
    # InstanceNorm (runtime/channels_last.py)
    net = keep_channels_last(net.float().eval().to(memory_format=torch.contiguous_format))
    # each graph is traced, exported and checked in onnxruntime: seconds to a minute per graph
    graphs = 2 if net.cfg.transform in HOST_ONLY else 4
    with atomic_folder(out) as tmp:
        with tqdm(total=graphs, desc="onnx graphs", unit="graph") as bar:
            meta = _write_graphs(net, tmp, source, lambda: bar.update(1))
        loss = _loss_config(source)
        if loss:  # what the decoder was trained against: infer.py warns about a random one
            meta["loss_config"] = loss
        (tmp / ONNX_META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta


def _loss_config(source: str) -> dict:
    """The source release's loss config ({} when it has none or is no safetensors file)."""
    if not source.endswith(".safetensors"):
        return {}
    try:
        return json.loads(read_metadata(source).get("loss_config") or "{}")
    except Exception:  # the load already read this file; a metadata oddity copies nothing
        return {}


def _write_graphs(
    net: StyleTransferNet, folder: Path, source: str, done: Callable[[], None]
) -> dict:
    s, dyn = net.stride, torch.export.Dim.DYNAMIC
    image, image2 = torch.rand(2, 3, 5 * s, 7 * s), torch.rand(1, 3, 3 * s + 1, 4 * s + 3)
    image2 = net.pad(image2)
    with torch.no_grad():
        feat, feat2 = net.encoder(image)[net.layer], net.encoder(image2)[net.layer]
    bhw = {0: dyn, 2: dyn, 3: dyn}
    try:
        export_graph(
            _Encode(net), (image,), folder / "encoder.onnx", ["image"], ["features"], [bhw]
        )
        check_graph(folder / "encoder.onnx", _Encode(net), (image2,), ["image"], "encoder.onnx")
        done()
        export_graph(_Decode(net), (feat,), folder / "decoder.onnx", ["features"], ["image"], [bhw])
        check_graph(folder / "decoder.onnx", _Decode(net), (feat2,), ["features"], "decoder.onnx")
        done()
    except ExportError:
        raise
    except Exception as err:  # the exporter's own errors: an operator without an ONNX form
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ExportError(
            f"the {net.cfg.encoder.kind}+{net.cfg.decoder.kind} network does not export to ONNX "
            f"({type(err).__name__}: {first[:200]})"
        ) from None
    transform = export_transform(net, folder, feat, feat2, done)
    norm = getattr(net.encoder, "normalize", None)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "opset": OPSET,
        "source": source,
        "model_config": json.loads(to_json(net.cfg)),
        "input": {
            "layout": "NCHW",
            "dtype": "float32",
            "color": "RGB",
            "range": [0, 1],
            "normalization": "inside encoder.onnx: (x - mean) / std",
            "mean": norm.mean.flatten().tolist() if norm is not None else None,
            "std": norm.std.flatten().tolist() if norm is not None else None,
        },
        "stride": s,
        "pad": pad_rule(net),
        "channels": int(feat.shape[1]),
        "files": {"encoder": "encoder.onnx", "decoder": "decoder.onnx"},
        "transform": transform,
        "output": {
            "activation": net.cfg.decoder.output,
            "range": [0, 1],
            "dtype": "float32",
            "crop": "the decoded image's top-left H x W: the content's size before padding",
            "note": "activation inside decoder.onnx; clamp to [0, 1] before 8-bit rounding",
        },
    }


def export_transform(
    net: StyleTransferNet,
    folder: Path,
    feat: torch.Tensor,
    feat2: torch.Tensor,
    done: Callable[[], None] = lambda: None,
) -> dict:
    """style_stats.onnx + transform.onnx, or why not (host code); never fails the export. `done()`
    after each graph written and checked (the progress bar)."""
    name = net.cfg.transform
    info = {
        "name": name,
        "graph": False,
        "alpha": "0: content features, 1: the transfer, up to 2 extrapolates",
        "mix": "several styles: the transform's mix of their statistics (models/transforms.py)",
    }
    if name in HOST_ONLY:
        return {**info, "host": HOST_ONLY[name]}
    dyn = torch.export.Dim.DYNAMIC
    style, style2 = feat[:1, :, :-1, :-2].contiguous(), feat2[:, :, :-1].contiguous()
    with torch.no_grad():
        stats, stats2 = tuple(net.transform.stats(style)), tuple(net.transform.stats(style2))
    stat_names = [f"style_{i}" for i in range(len(stats))]
    # dynamic where the example is not 1 (a size-1 dimension, e.g. AdaIN's (1, C, 1, 1), stays 1)
    every = tuple(
        {d: torch.export.Dim.AUTO for d in range(t.dim()) if d != 1 and t.shape[d] > 1} or None
        for t in stats
    )
    alpha, alpha2 = torch.tensor(0.7), torch.tensor(0.4)
    try:
        export_graph(
            _Stats(net),
            (style,),
            folder / "style_stats.onnx",
            ["features"],
            stat_names,
            [{2: dyn, 3: dyn}],
        )
        check_graph(
            folder / "style_stats.onnx", _Stats(net), (style2,), ["features"], "style_stats.onnx"
        )
        done()
        names = ["features", "alpha", *stat_names]
        export_graph(
            _Transfer(net),
            (feat, alpha, *stats),
            folder / "transform.onnx",
            names,
            ["target"],
            [{0: dyn, 2: dyn, 3: dyn}, None, every],
        )
        check_graph(
            folder / "transform.onnx",
            _Transfer(net),
            (feat2, alpha2, *stats2),
            names,
            "transform.onnx",
        )
        done()
    except Exception as err:
        for f in ("style_stats.onnx", "transform.onnx"):
            (folder / f).unlink(missing_ok=True)
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return {
            **info,
            "host": f"the transform did not export ({type(err).__name__}: {first[:160]}); the "
            "runtime computes it on the host",
        }
    return {
        **info,
        "graph": True,
        "files": {"style_stats": "style_stats.onnx", "transform": "transform.onnx"},
        "stats": stat_names,
        "inputs": names,
        "host": None,
    }
