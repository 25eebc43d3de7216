"""Writing an evaluation's results: metrics.csv / metrics.json / metrics.md and TensorBoard hparams.

A row is a flat dict: `name`, `kind`, `pairs`, then metric columns whose values are floats or
strings starting with "unavailable: " (a learned metric whose weights are missing is reported, never
dropped). Wall time per image is the one thing that differs between two runs on the same inputs, so
it goes to its own `timing.csv`, and the metric tables of two runs are identical byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from media.files import atomic_write

TIMING_COLUMN = "seconds_per_image"


def _cell(value: object) -> str:
    """CSV cell: repr of floats (exact, so two runs compare byte for byte), text as is."""
    return repr(float(value)) if isinstance(value, float) else str(value)


def _short(value: object) -> str:
    """Markdown cell: 4 significant digits; an 'unavailable' reason is given once in the notes
    instead."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return "unavailable (see notes)" if str(value).startswith("unavailable") else str(value)


def write_tables(
    rows: list[dict], out_dir: Path, notes: list[str], title: str = "Evaluation"
) -> list[Path]:
    """Write the three tables (same rows and columns); returns their paths."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _cell(row.get(k, "")) for k in columns} for row in rows)
    paths = [out_dir / "metrics.csv", out_dir / "metrics.json", out_dir / "metrics.md"]
    atomic_write(paths[0], buffer.getvalue())
    # NaN is not JSON: written as null (FID of a degenerate set can be NaN).
    clean = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in rows
    ]
    atomic_write(paths[1], json.dumps({"rows": clean, "notes": notes}, indent=2) + "\n")
    lines = [f"# {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_short(row.get(k, "")) for k in columns) + " |" for row in rows]
    reasons: dict[
        str, list[str]
    ] = {}  # reason -> metrics, each reason once however many rows share it
    for row in rows:
        for k, v in row.items():
            if (
                isinstance(v, str)
                and v.startswith("unavailable")
                and k not in reasons.setdefault(v, [])
            ):
                reasons[v].append(k)
    unavailable = [f"{', '.join(keys)}: {reason}" for reason, keys in reasons.items()]
    if notes or unavailable:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes] + [f"- {u}" for u in unavailable]
    atomic_write(paths[2], "\n".join(lines) + "\n")
    return paths


def write_timings(timings: list[dict], path: Path) -> None:
    """timing.csv: `name`, seconds per stylized image (not reproducible, hence not in the metric
    tables)."""
    lines = [f"name,{TIMING_COLUMN}"] + [f"{t['name']},{t[TIMING_COLUMN]!r}" for t in timings]
    atomic_write(path, "\n".join(lines) + "\n")


def log_hparams(tb_dir: Path, hparams: dict, row: dict) -> None:
    """One TensorBoard run folder per method: hparams + the numeric metrics under `eval/<metric>`.

    run_name='.' writes into `tb_dir` itself (the default makes a timestamped sub-folder, which the
    HParams view would list as a separate run). Non-numeric cells ('unavailable: ...') are left out
    here; the tables carry them.
    """
    metrics = {
        f"eval/{k}": float(v)
        for k, v in row.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "pairs"
    }
    clean = {
        k: (v if isinstance(v, (bool, int, float, str)) else str(v)) for k, v in hparams.items()
    }
    with SummaryWriter(str(tb_dir)) as writer:
        writer.add_hparams(clean, metrics, run_name=".")
