"""The GPU check: what a user of 2x T4 or an A100/H100 wants to know, in one command (< 8 min).

    python -m bench gpu --out docs/results/gpu          # DIR/gpu.json + DIR/gpu.md
    python -m bench gpu --quick --device cpu            # the same code on tiny sizes (CI runs it)

Rows (random weights, seeded; bench/harness.py times and counts them):
  train/<recipe>  one training step of the VGG and ViT recipes, channels_last, per precision: fp16
                  with a GradScaler (the fast choice on a T4), bf16 where it is native (compute
                  capability >= 8; emulated on a T4 and left out: runtime.device.native_bf16),
                  fp32 on a CPU.
  infer/<method>  a 512 px content x style pair through infer.py's Engine, pairs/s, per precision,
                  torch.compile off and on (the quick set compiles with dynamo's "eager" backend:
                  the same tracing without minutes of code generation).
  tiled           a 4096 px content through the VGG decoder in 1024 px tiles: peak memory.
  ddp             one 2-process DDP training run of a few steps (`accelerate launch --multi_gpu`)
                  when 2+ GPUs exist; otherwise a row saying why it was skipped.
The quick set: 32-64 px, batch 1, the smoke recipes, a 256 px tiled image.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from bench.cases import random_pair, stylization_net, stylization_pass, train_step_pass
from bench.harness import PeakMemory, measure
from inference.engine import Engine
from media.files import atomic_write
from media.progress import tqdm
from runtime.device import check_precision, device_name, native_bf16, resolve_device
from training.launch import launch_command

REPO = Path(__file__).resolve().parents[1]
# each knob's (full, quick) value
SIZES = {
    "train": ({"vgg_adain_meanstd": 256, "vit_adain_meanstd": 224}, {"smoke": 32, "smoke_vit": 32}),
    "batch": (8, 1),
    "infer": (512, 64),
    "tiled": ((4096, 1024, 128), (256, 128, 32)),  # (image, tile, overlap) in px
    "ddp_steps": (20, 2),
}


def sizes_for(quick: bool) -> dict:
    """The full or the quick value of every knob of SIZES."""
    return {knob: values[int(quick)] for knob, values in SIZES.items()}


def precisions(device: torch.device) -> list[str]:
    """The precisions worth timing here: fp16 and native bf16 on a GPU; fp32 (+ native bf16) on a
    CPU."""
    found = ["fp16"] if device.type == "cuda" else ["fp32"]
    return found + (["bf16"] if native_bf16(device) else [])


def train_rows(device: torch.device, sizes: dict, quick: bool) -> list[dict]:
    rows = []
    for config, crop in tqdm(sizes["train"].items(), desc="train rows", unit="config"):
        for precision in precisions(device)[:1] if quick else precisions(device):
            check_precision(device, precision)
            # fp16 trains with a GradScaler; the quick set runs it in fp32 too, so CI covers it
            step = train_step_pass(
                config,
                sizes["batch"],
                crop,
                precision,
                device,
                ["train.memory_format=channels_last"],
                grad_scaler=precision == "fp16" or quick,
            )
            m = measure(step, device, quick)
            rows.append(
                {
                    "row": f"train/{config}",
                    "precision": precision,
                    "size": crop,
                    "batch": sizes["batch"],
                    "seconds": m.timing.seconds,
                    "per_s": sizes["batch"] / m.timing.seconds,
                    "unit": "images/s",
                }
            )
    return rows


def infer_rows(device: torch.device, sizes: dict, quick: bool) -> list[dict]:
    rows = []
    content, style = random_pair(1, sizes["infer"])
    for method in tqdm(("decoder_vgg", "decoder_vit"), desc="infer rows", unit="method"):
        for precision in [p for p in precisions(device) if p != "fp32"] or ["fp32"]:
            for compiled in (False, True):
                net = stylization_net(
                    method, "vit_tiny_patch16_224" if quick else "vit_base_patch16_224"
                )
                if compiled:
                    net = torch.compile(net, backend="eager" if quick else "inductor")
                m = measure(stylization_pass(net, device, precision, content, style), device, quick)
                rows.append(
                    {
                        "row": f"infer/{method}",
                        "precision": precision,
                        "size": sizes["infer"],
                        "compile": compiled,
                        "seconds": m.timing.seconds,
                        "per_s": 1 / m.timing.seconds,
                        "unit": "pairs/s",
                    }
                )
    return rows


def tiled_row(device: torch.device, sizes: dict) -> dict:
    size, tile, overlap = sizes["tiled"]
    precision = precisions(device)[0]
    stylizer = Engine.for_net(
        stylization_net("decoder_vgg"), device, precision, True, tile, overlap
    )
    content, style = random_pair(1, size)[0], random_pair(1, 256)[1]
    start = time.perf_counter()
    with PeakMemory(device) as memory:
        stylizer.decode_batch(content, [stylizer.encode(style)])
    return {
        "row": "tiled",
        "precision": precision,
        "size": size,
        "tile": tile,
        "seconds": time.perf_counter() - start,
        "peak_mib": memory.peak_mib,
        "memory_method": memory.method,
    }


def ddp_row(device: torch.device, sizes: dict) -> dict:
    """A 2-process `accelerate launch --multi_gpu` smoke training, timed as train.py reports it."""
    if device.type != "cuda" or torch.cuda.device_count() < 2:
        return {
            "row": "ddp",
            "skipped": f"needs 2+ CUDA GPUs, this machine has {torch.cuda.device_count()}",
        }
    from data_prep.sample import build_sample

    with tempfile.TemporaryDirectory() as tmp:
        build_sample(Path(tmp) / "data", size=256)
        cmd = [
            *launch_command(2, mixed_precision="fp16"),
            "train.py",
            "--config",
            "configs/smoke.yaml",
            "--run-dir",
            f"{tmp}/run",
            f"data.root={tmp}/data",
            f"train.steps={sizes['ddp_steps']}",
            "train.mixed_precision=fp16",  # the launcher's too: no warning that they differ
            "data.crop=256",
            "data.resize=256",
            "train.batch_size=8",
        ]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    done = [line for line in proc.stdout.splitlines() if line.startswith("done:")]
    return {
        "row": "ddp",
        "processes": 2,
        "seconds": time.perf_counter() - start,
        "returncode": proc.returncode,
        "report": done[-1] if done else proc.stderr.strip().splitlines()[-1:],
    }


def run_gpu(device: str = "auto", quick: bool = False) -> dict:
    dev = resolve_device(device)
    sizes = sizes_for(quick)
    result = {
        "device": device_name(dev),
        "torch": torch.__version__,
        "quick": quick,
        "rows": [],
    }
    result["rows"] += train_rows(dev, sizes, quick)
    result["rows"] += infer_rows(dev, sizes, quick)
    result["rows"].append(tiled_row(dev, sizes))
    result["rows"].append(ddp_row(dev, sizes))
    return result


def markdown(result: dict) -> str:
    lines = [
        f"GPU check on {result['device']} (torch {result['torch']}"
        f"{', quick' if result['quick'] else ''})",
        "",
        "| row | precision | size | compile | s/call | rate | peak MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        if "skipped" in r:
            lines.append(f"| {r['row']} | - | - | - | - | skipped: {r['skipped']} | - |")
            continue
        rate = f"{r['per_s']:.3g} {r['unit']}" if "per_s" in r else "-"
        peak = f"{r['peak_mib']:.0f}" if "peak_mib" in r else "-"
        lines.append(
            f"| {r['row']} | {r.get('precision', '-')} | {r.get('size', '-')} | "
            f"{'on' if r.get('compile') else 'off'} | {r['seconds']:.3g} | {rate} | {peak} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> dict:
    from configs.cli import ArgumentParser

    parser = ArgumentParser(prog="python -m bench gpu", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device", default="auto", help="auto (cuda when available) | cpu | cuda | cuda:N"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds per row (CI)")
    parser.add_argument("--out", help="folder for gpu.json and gpu.md")
    args = parser.parse_args(argv)
    try:
        result = run_gpu(args.device, args.quick)
    except ValueError as err:
        parser.exit(2, f"error: {err}\n")
    text = markdown(result)
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        atomic_write(Path(args.out) / "gpu.json", json.dumps(result, indent=1, default=str))
        atomic_write(Path(args.out) / "gpu.md", text)
    return result
