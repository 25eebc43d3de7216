"""The benchmark table: every case of a set measured by bench.harness, one validated row per case.

Achieved GFLOP/s is compared with the reference conv measured in the same process and precision
(`ratio_to_ref_conv`), once before and once after the cases: a large drift between the two means the
machine was shared or throttled during the run (the Markdown table says so).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from bench.cases import CONFIG_DIR, Case, build_case, default_cases
from bench.harness import PeakMemory, measure, reference_conv
from bench.report import compare, markdown, validate
from media.files import atomic_path
from media.progress import tqdm

__all__ = ["compare_files", "run_benchmark", "run_case"]


def _environment(device: torch.device) -> dict:
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else (platform.processor() or platform.machine())
    )
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device.type,
        "device_name": name,
        "threads": torch.get_num_threads(),
    }


def _empty_row(case: Case, device: torch.device, status: str) -> dict:
    return {
        "method": case.method,
        "kind": case.kind,
        "size": case.size,
        "precision": case.precision,
        "batch": case.batch,
        "device": device.type,
        "status": status,
        "seconds": None,
        "repeats": 0,
        "spread": None,
        "latency_ms": None,
        "images_per_s": None,
        "peak_memory_mib": None,
        "memory_method": "",
        "gflop": None,
        "gflops_per_s": None,
        "ratio_to_ref_conv": None,
    }


def run_case(
    case: Case, device: torch.device, ref_gflops: dict[str, float], quick: bool = False
) -> dict:
    """Build and measure one case; a missing config or a failure becomes the row's status, not a
    crash."""
    row = _empty_row(case, device, "ok")
    if case.kind == "train_step" and not (CONFIG_DIR / f"{case.model_name}.yaml").is_file():
        row["status"] = f"skipped: {CONFIG_DIR / case.model_name}.yaml not found"
        return row
    try:
        fn = build_case(case, device)
        with PeakMemory(device) as memory:
            m = measure(fn, device, quick)
    # one broken case (e.g. an unsupported precision) must not lose the others
    except Exception as err:
        row["status"] = (
            f"failed: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
        )
        return row
    seconds, ref = m.timing.seconds, ref_gflops.get(case.precision)
    row.update(
        seconds=seconds,
        repeats=m.timing.repeats,
        spread=m.timing.spread,
        latency_ms=1000 * seconds,
        images_per_s=case.batch / seconds,
        peak_memory_mib=memory.peak_mib,
        memory_method=memory.method,
        gflop=m.flops / 1e9,
        gflops_per_s=m.gflops_per_s,
        ratio_to_ref_conv=m.gflops_per_s / ref if ref else None,
    )
    return row


def run_benchmark(
    out: str | Path | None = None,
    quick: bool = False,
    device: str | None = None,
    cases: Sequence[Case] | None = None,
    train_batch: int = 2,
) -> dict:
    """Run the quick or default set (or `cases`), validate the result, write `out` (.json) and its
    .md.

    Returns:
        The result dict (see bench/schema.json).
    """
    start = time.perf_counter()
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cases = list(cases) if cases is not None else default_cases(dev, quick, train_batch)
    refs = {p: reference_conv(dev, p, quick) for p in dict.fromkeys(c.precision for c in cases)}
    rows = []
    bar = tqdm(cases, desc="benchmark", dynamic_ncols=True)
    for case in bar:
        bar.set_postfix_str(f"{case.method} {case.size}px {case.precision}")
        rows.append(run_case(case, dev, {p: r["gflops_per_s"] for p, r in refs.items()}, quick))
    refs_end = {p: reference_conv(dev, p, quick) for p in refs}
    result = {
        "schema_version": 1,
        "quick": quick,
        "environment": _environment(dev),
        "reference_conv": refs,
        "reference_conv_end": refs_end,
        "rows": rows,
        "wall_time_s": time.perf_counter() - start,
    }
    validate(result)
    table = markdown(result)
    print(table)
    if out:
        out = Path(out)
        with atomic_path(out) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        with atomic_path(out.with_suffix(".md")) as tmp:
            tmp.write_text(table, encoding="utf-8")
    return result


def compare_files(a: str | Path, b: str | Path) -> str:
    """Validate two result files and return (and print) the B / A ratio table."""
    results = []
    for path in (a, b):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"benchmark result {path} does not exist (write one with "
                f"`python -m bench --out {path}`)"
            )
        result = json.loads(path.read_text(encoding="utf-8"))
        validate(result)
        results.append(result)
    text = compare(results[0], results[1], Path(a).stem, Path(b).stem)
    print(text)
    return text
