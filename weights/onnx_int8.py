"""int8 copies of an ONNX export's graphs (onnxruntime's dynamic quantization), checked against
PyTorch.

    python export.py --checkpoint hed-adain --out onnx/hed-adain --int8
    python infer.py --backend onnxruntime --checkpoint onnx/hed-adain/int8 \
        --content c.jpg --style s.jpg

`quantize_int8` writes DIR/int8/ beside the float32 graphs: an export folder of its own
(onnx_model.json with "precision": "int8", which graphs are int8 and the parity figures), so
infer.py, app.py and `python -m bench student` load it as they load DIR.

Int8 where it keeps quality: encoder.onnx and decoder.onnx are each quantized
(onnxruntime.quantization.quantize_dynamic: every Conv and MatMul in its integer form, weights uint8
per tensor, each activation quantized to uint8 with a scale computed from that input at run time,
so no calibration set; onnxruntime's CPU ConvInteger takes uint8 weights only), except each graph's
first and last Conv (the encoder's first sees the normalized image; the decoder's first sees the
transform's target, whose outliers set a per-tensor scale, and its last makes the RGB image). A
graph stays int8 only when the images with that graph alone in int8 are within KEEP_MEAN_255 of
PyTorch's on average; otherwise its float32 graph is copied. On hed-adain (VGG16 to relu4_1 +
mirror decoder), three held-out pairs at 256 px: the int8 encoder costs 2.3 levels on average and
up to 57, the decoder 0.8 and up to 19, so only the decoder goes int8 (per-channel weights changed
nothing; int8 weights with reduce_range were worse). No graph that keeps quality: ExportError.
ConvTranspose (no dynamic integer form) and the style statistics and transform graphs (no weights)
stay float32.

Parity: one pair of smooth random images (bicubic-upsampled 6x6 noise, seeded) at PARITY_SIZE,
stylized by PyTorch and by the graphs (the transform in PyTorch: the same float code either way);
the max and mean |difference| of the images in 8-bit levels (1/255) go into the JSON, per graph
and for the folder. The float32 graphs keep their own bound (1e-3, weights/onnx_graph.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from media.files import atomic_folder
from models.net import StyleTransferNet
from weights.checkpoint import ONNX_META
from weights.onnx_graph import ExportError, session

INT8_DIR = "int8"  # the int8 folder's name inside an export folder
QUANTIZED_OPS = ("Conv", "MatMul")
PARITY_SIZE = 256
KEEP_MEAN_255 = 1.0  # a graph stays int8 when its images are within this mean |difference|

__all__ = ["INT8_DIR", "KEEP_MEAN_255", "PARITY_SIZE", "QUANTIZED_OPS", "quantize_int8"]


def _end_convs(path: Path) -> list[str]:
    """The names of the graph's first and last Conv nodes (ONNX nodes are in topological order)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    convs = [n.name for n in graph.node if n.op_type == "Conv"]
    return list(dict.fromkeys(convs[:1] + convs[-1:]))


def _quantize(source: Path, target: Path, keep_float: list[str]) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # onnxruntime logs its advice to pre-process on the root logger (not the user's concern): raise
    # the root's level for this call only, so the process's own warnings are never silenced after it
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            source,
            target,
            op_types_to_quantize=list(QUANTIZED_OPS),
            weight_type=QuantType.QUInt8,
            nodes_to_exclude=keep_float,
        )
    finally:
        root.setLevel(level)


def _copy_graph(source: Path, target: Path) -> None:
    for suffix in ("", ".data"):  # the graph and its weights file, where it has one
        if source.with_name(source.name + suffix).is_file():
            shutil.copy2(
                source.with_name(source.name + suffix), target.with_name(target.name + suffix)
            )


def smooth_pair(size: int = PARITY_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (content, style), (1, 3, size, size) each in [0, 1]: 6x6 noise, bicubic-upsampled."""
    g = torch.Generator().manual_seed(0)
    return tuple(
        F.interpolate(torch.rand(1, 3, 6, 6, generator=g), size=(size, size), mode="bicubic").clamp(
            0, 1
        )
        for _ in range(2)
    )


@torch.no_grad()
def parity(net: StyleTransferNet, graphs: dict[str, Path], size: int = PARITY_SIZE) -> dict:
    """Max and mean |image difference| (in 1/255) of the encoder and decoder `graphs` ({key: path})
    against `net` on smooth_pair(size) (module docstring)."""
    net = net.float().eval()
    sessions = {k: session(path) for k, path in graphs.items()}

    def run(key: str, name: str, x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.numpy())
        return torch.from_numpy(sessions[key].run(None, {name: array})[0])

    content, style = smooth_pair(size)
    want = net(content, style)
    # net's own padding and transform around the two graphs, as the onnxruntime backend runs them
    stats = net.style_stats(run("encoder", "image", net.pad(style)))
    target = net.transfer(run("encoder", "image", net.pad(content)), [stats])
    got = run("decoder", "features", target)[..., :size, :size]
    diff = (got - want).abs() * 255
    return {
        "max_abs_255": round(float(diff.max()), 3),
        "mean_abs_255": round(float(diff.mean()), 4),
    }


def quantize_int8(net: StyleTransferNet, folder: str | Path) -> dict:
    """Write `folder`/int8 (module docstring) for the export folder `folder` of `net`; returns the
    quantization record its onnx_model.json holds (which graphs are int8, which nodes stayed
    float, parity per graph and for the folder).

    Written in a temp folder and renamed when complete. Raises ExportError for a folder that is no
    export or already holds int8/, or where no graph keeps quality in int8.
    """
    folder = Path(folder)
    out = folder / INT8_DIR
    if not (folder / ONNX_META).is_file():
        raise ExportError(
            f"{folder} holds no {ONNX_META}; export first: python export.py --checkpoint X "
            f"--out {folder} --int8"
        )
    if out.exists():
        raise ExportError(f"{out} exists; remove it to quantize again (nothing written)")
    meta = json.loads((folder / ONNX_META).read_text(encoding="utf-8"))
    try:
        with atomic_folder(out) as tmp:
            record = _write(net, folder, tmp, meta)
            int8_meta = {**meta, "precision": "int8", "quantization": record}
            (tmp / ONNX_META).write_text(json.dumps(int8_meta, indent=1), encoding="utf-8")
    except ExportError:
        raise
    except Exception as err:  # the quantizer's own errors: an operator it cannot rewrite
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ExportError(
            f"--int8: {folder}'s graphs do not quantize ({type(err).__name__}: {first[:200]}); "
            "the float32 export is unaffected"
        ) from None
    return record


def _write(net: StyleTransferNet, folder: Path, tmp: Path, meta: dict) -> dict:
    """The graphs into `tmp`, each int8 where that keeps quality; returns the record."""
    fp32 = {key: folder / name for key, name in meta["files"].items()}
    kept, alone, int8 = {}, {}, []
    for key, name in meta["files"].items():
        kept[key] = _end_convs(fp32[key])
        _quantize(fp32[key], tmp / name, kept[key])
        alone[key] = parity(net, {**fp32, key: tmp / name})
        if alone[key]["mean_abs_255"] <= KEEP_MEAN_255:
            int8.append(key)
        else:
            (tmp / name).unlink()
            _copy_graph(fp32[key], tmp / name)
    if not int8:
        figures = ", ".join(f"{k} {v['mean_abs_255']:.2f}/255" for k, v in alone.items())
        raise ExportError(
            f"--int8: no graph of {folder} keeps quality in int8 (mean image difference {figures}"
            f" > {KEEP_MEAN_255:g}/255); use the float32 graphs"
        )
    for name in (meta["transform"].get("files") or {}).values():
        _copy_graph(folder / name, tmp / name)  # no weights: float32 as they are
    return {
        "method": "onnxruntime.quantization.quantize_dynamic",
        "ops": list(QUANTIZED_OPS),
        "weights": "uint8, per tensor",
        "activations": "uint8, scale and zero point from each input at run time",
        "int8_graphs": int8,
        "float_nodes": {k: kept[k] for k in int8},
        "keep_mean_255": KEEP_MEAN_255,
        "parity_alone": alone,
        "parity": parity(net, {k: tmp / n for k, n in meta["files"].items()}),
        "parity_images": f"one smooth random pair at {PARITY_SIZE}x{PARITY_SIZE} "
        "(weights/onnx_int8.py smooth_pair)",
    }
