"""onnxruntime beside PyTorch: the table's decoder_vgg pass (one content x style pair, both encoded,
AdaIN, decoded) through the same Engine, once on the PyTorch network and once on its ONNX export.

    python -m bench onnx --out docs/results/onnx.json [--size 512] [--quick]

Rows: PyTorch fp32 and bf16 (CPU autocast), onnxruntime fp32, and onnxruntime int8 (static QDQ
quantization of the encoder and decoder graphs, calibrated on a few random images: speed does not
depend on the weights' values, the PSNR against fp32 says what int8 costs). onnxruntime's CPU
provider has no bf16 convolution kernels, so that row is reported as unsupported, not measured.
Random weights (nothing downloads).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from bench.cases import random_pair, stylization_net, stylization_pass
from bench.figures import _psnr, _vary_outputs
from bench.harness import time_call
from configs.cli import ArgumentParser
from media.files import atomic_write
from media.progress import tqdm
from models.pretrained import seeded
from runtime.device import cpu_name
from weights.onnx_export import export_onnx

CPU = torch.device("cpu")


def _quantize_int8(folder: Path, out: Path, size: int) -> None:
    """`out`: `folder` with encoder.onnx and decoder.onnx quantized (QDQ, per-channel int8 weights,
    uint8
    activations calibrated on 4 random images at `size` / 4)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    shutil.copytree(folder, out)
    side = max(64, size // 4)
    rng = np.random.default_rng(0)
    images = [rng.random((1, 3, side, side), dtype=np.float32) for _ in range(4)]
    import onnxruntime as ort

    encoder = ort.InferenceSession(str(folder / "encoder.onnx"))
    feats = [encoder.run(None, {"image": x})[0] for x in images]

    class Reader(CalibrationDataReader):
        def __init__(self, name: str, arrays: list[np.ndarray]):
            self.items = iter([{name: a} for a in arrays])

        def get_next(self):
            return next(self.items, None)

    for graph, name, arrays in (("encoder", "image", images), ("decoder", "features", feats)):
        quantize_static(
            str(folder / f"{graph}.onnx"),
            str(out / f"{graph}.onnx"),
            Reader(name, arrays),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
        )


def onnx_vs_pytorch(size: int = 512, quick: bool = False) -> dict:
    """Seconds per pair (median, bench.harness's timer) and PSNR to PyTorch fp32 for every backend
    row.
    """
    from inference.onnx_backend import OnnxNet

    load_before = os.getloadavg()[0]  # a shared machine's figures are only as good as its idleness
    with seeded(0):
        net = _vary_outputs(stylization_net("decoder_vgg"))
    content, style = random_pair(1, size)
    timer = {"min_time_s": 0.2, "max_repeats": 2, "min_repeats": 1} if quick else {}
    rows, reference = [], None
    with tempfile.TemporaryDirectory() as tmp:
        onnx = Path(tmp) / "fp32"
        export_onnx(net, onnx, "bench decoder_vgg")
        backends = [
            ("pytorch", "fp32", net),
            ("pytorch", "bf16", net),
            ("onnxruntime", "fp32", OnnxNet(onnx)),
        ]
        try:
            _quantize_int8(onnx, Path(tmp) / "int8", size)
            backends.append(("onnxruntime", "int8", OnnxNet(Path(tmp) / "int8")))
        except Exception as err:  # a quantizer that cannot handle a graph: reported, not hidden
            rows.append(
                {"backend": "onnxruntime", "precision": "int8", "status": f"failed: {err}"[:200]}
            )
        for backend, precision, model in tqdm(backends, desc="backends", unit="backend"):
            run = stylization_pass(
                model, CPU, "fp32" if backend == "onnxruntime" else precision, content, style
            )
            timing = time_call(run, CPU, **timer)
            image = run()
            reference = image if reference is None else reference
            rows.append(
                {
                    "backend": backend,
                    "precision": precision,
                    "size": size,
                    "status": "ok",
                    "seconds": timing.seconds,
                    "repeats": timing.repeats,
                    "spread": timing.spread,
                    "psnr_to_pytorch_fp32_db": None
                    if image is reference
                    else _psnr(reference, image),
                }
            )
    rows.append(
        {
            "backend": "onnxruntime",
            "precision": "bf16",
            "size": size,
            "status": "unsupported: the CPU execution provider has no bf16 Conv kernels",
        }
    )
    return {
        "case": "decoder_vgg (one pair, style encoded too, batch 1)",
        "size": size,
        "rows": rows,
        "cpu": cpu_name(),
        "onnxruntime": _ort_version(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": [load_before, os.getloadavg()[0]],
    }


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def table(result: dict) -> str:
    load = " to ".join(f"{x:.1f}" for x in result.get("load_average_1min", []))
    lines = [
        f"{result['case']}, {result['cpu']}, {result['torch_threads']} torch threads, "
        f"1-min load average {load} during the run",
        "",
        "| backend | precision | size | seconds per pair | PSNR to PyTorch fp32 |",
        "|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        if r["status"] != "ok":
            lines.append(
                f"| {r['backend']} | {r['precision']} | {result['size']} | {r['status']} | |"
            )
            continue
        psnr = (
            "reference"
            if r["psnr_to_pytorch_fp32_db"] is None
            else f"{r['psnr_to_pytorch_fp32_db']:.1f} dB"
        )
        lines.append(
            f"| {r['backend']} | {r['precision']} | {r['size']} | {r['seconds']:.3f} | {psnr} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> dict:
    p = ArgumentParser(prog="python -m bench onnx", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--quick", action="store_true", help="few timed calls (tests)")
    p.add_argument("--out", help="result .json (a .md table is written next to it)")
    args = p.parse_args(argv)
    result = onnx_vs_pytorch(args.size, args.quick)
    print(table(result))
    if args.out:
        atomic_write(args.out, json.dumps(result, indent=1))
        atomic_write(Path(args.out).with_suffix(".md"), table(result) + "\n")
    return result
