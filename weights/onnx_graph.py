"""One graph out of PyTorch and checked in onnxruntime: the exporter call, the translation it lacks,
the check.

torch.onnx.export(dynamo=True) (torch.export, then onnxscript) at opset 18: timm's ViT resizes its
position embedding with an antialiased bicubic, which ONNX's Resize supports from opset 18, and the
TorchScript exporter does not translate at all. Every graph is compared with the PyTorch module at a
shape it was not traced at, so a size that was baked in as a constant is caught before a folder is
written.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from weights.checkpoint import CheckpointError

OPSET = 18
TOLERANCE = 1e-3  # of the output's range: a graph that misses it is not exported (1/255 is 4e-3)


class ExportError(CheckpointError):
    """A network or folder that cannot be exported (a graph that does not trace, a full --out)."""


def _sort_stable(self, stable=None, dim=-1, descending=False):
    """aten.sort.stable, which torch.onnx does not translate, as ONNX TopK over the whole axis: TopK
    orders equal
    values by index, as a stable sort does (efdm breaks ReLU zeros' ties so)."""
    from onnxscript import opset18 as op

    k = op.Shape(self, start=-1) if dim == -1 else op.Shape(self, start=dim, end=dim + 1)
    values, indices = op.TopK(self, k, axis=dim, largest=descending, sorted=True)
    return values, indices


def export_graph(
    module: nn.Module, args: tuple, path: Path, names: list[str], outputs: list[str], shapes: list
) -> None:
    """torch.export -> ONNX; `shapes`: torch.export's dynamic_shapes, one entry per forward()
    parameter.
    """
    with warnings.catch_warnings():
        # the exporter's notes on its own internals are not the user's
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=names,
            output_names=outputs,
            opset_version=OPSET,
            dynamo=True,
            dynamic_shapes=shapes,
            verbose=False,
            optimize=True,
            custom_translation_table={torch.ops.aten.sort.stable: _sort_stable},
        )
    data = path.with_name(path.name + ".data")
    if data.is_file() and data.stat().st_size == 0:
        # no tensor lives there (a graph without weights): an empty file only invites copying
        # half a folder; check_graph then loads the graph without it
        data.unlink()


def session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_graph(path: Path, module: nn.Module, args: tuple, names: list[str], what: str) -> None:
    """onnxruntime's outputs equal PyTorch's at `args` (a size the graph was not traced at)."""
    with torch.no_grad():
        want = module(*args)
    want = [want] if isinstance(want, torch.Tensor) else list(want)
    got = session(path).run(None, {n: a.numpy() for n, a in zip(names, args)})
    for w, g in zip(want, got):
        scale = max(1.0, float(w.abs().max()))
        if w.shape != g.shape or np.abs(g - w.numpy()).max() > TOLERANCE * scale:
            raise ExportError(
                f"{what}: onnxruntime's output differs from PyTorch's at shape "
                f"{tuple(args[0].shape)} (max {np.abs(g - w.numpy()).max():.3g})"
            )
