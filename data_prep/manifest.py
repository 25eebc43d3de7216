"""The manifest of a prepared folder, OUT/manifest.json: every source with its verdict (kept, with
its output and size; or dropped, with the reason), the options it was prepared with, and counts.

`data_prep.prepare` writes it for real datasets, `data_prep.sample` for the offline sample set; a
re-run reuses the verdicts of unchanged sources (same size, mtime and options).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from data_prep.sources import SIDES
from media.files import atomic_path

MANIFEST = "manifest.json"
FORMAT = "adain-prepared-v1"


def write_if_changed(path: Path, data: bytes) -> None:
    """Atomic write, skipped when the file already holds exactly these bytes (keeps its mtime)."""
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def load_manifest(out: Path) -> dict | None:
    """OUT/manifest.json, or None when it is missing or unreadable (then everything is redone)."""
    try:
        return json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def summarize(files: list[dict]) -> dict:
    """Kept/dropped counts per side and split."""
    summary: dict = {}
    for f in files:
        counts = summary.setdefault(f["side"], {}).setdefault(f["split"], {"kept": 0, "dropped": 0})
        counts[f["status"]] += 1
    return summary


def write_manifest(out: Path, manifest: dict) -> None:
    """Write OUT/manifest.json atomically (untouched when its content would not change)."""
    write_if_changed(
        out / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    )


def print_summary(manifest: dict, out: str | os.PathLike) -> None:
    """Print kept/dropped per side and split, then the most common drop reasons."""
    print(f"prepared {out}")
    for side, splits in manifest["summary"].items():
        for split, c in splits.items():
            print(f"  {side:7s} {split:5s}  kept {c['kept']:7d}  dropped {c['dropped']:6d}")
    for side in SIDES:
        if manifest["summary"].get(side, {}).get("val", {}).get("kept", 0) == 0:
            print(f"  warning: no {side} val images (raise --val-fraction for small plain folders)")
    reasons: dict[str, int] = {}
    for f in manifest["files"]:
        if f["status"] == "dropped":
            key = f["reason"].split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        print(f"  dropped {n:6d}  {reason}  (details in {MANIFEST})")


def summary_lines(manifest: dict) -> list[str]:
    """One line per side: `content: train 11, val 2` (what the builders print)."""
    return [
        f"{side}: " + ", ".join(f"{split} {c['kept']}" for split, c in splits.items())
        for side, splits in manifest["summary"].items()
    ]


def write_jpeg(out: Path, side: str, split: str, stem: str, img, source: str) -> dict:
    """Write `img` as OUT/side/split/stem.jpg (JPEG quality 95, only when the bytes changed) and
    return its manifest entry: what both generated sets (sample.py, offline.py) record per file."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95)
    output = f"{side}/{split}/{stem}.jpg"
    write_if_changed(out / output, buf.getvalue())
    return {
        "side": side,
        "split": split,
        "source": source,
        "status": "kept",
        "output": output,
        "width": img.width,
        "height": img.height,
        "bytes": len(buf.getvalue()),
    }
