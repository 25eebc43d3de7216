"""Benchmark results on paper: JSON Schema validation (bench/schema.json), the Markdown table, \
A-vs-B ratios."""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.json")
_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}
COLUMNS = (
    "method",
    "size",
    "precision",
    "batch",
    "status",
    "latency_ms",
    "images_per_s",
    "peak_memory_mib",
    "gflop",
    "gflops_per_s",
    "ratio_to_ref_conv",
    "spread",
)


class SchemaError(ValueError):
    pass


def _is(value: object, type_name: str) -> bool:
    if isinstance(value, bool) and type_name in ("integer", "number"):
        return False  # JSON Schema: true is not a number
    return isinstance(value, _TYPES[type_name])


def _check(value: object, schema: dict, where: str, errors: list[str]) -> None:
    """The subset of JSON Schema that schema.json uses: type, enum, minimum, required,
    properties, additionalProperties (bool or schema), items."""
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_is(value, t) for t in types):
            errors.append(
                f"{where}: expected {' or '.join(types)}, got {type(value).__name__} {value!r:.60}"
            )
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        errors.append(f"{where}: {value} < minimum {schema['minimum']}")
    if isinstance(value, dict):
        errors += [
            f"{where}: missing required key '{k}'"
            for k in schema.get("required", [])
            if k not in value
        ]
        props, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                _check(item, props[key], f"{where}.{key}", errors)
            elif extra is False:
                errors.append(f"{where}: unexpected key '{key}'")
            elif isinstance(extra, dict):
                _check(item, extra, f"{where}.{key}", errors)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{i}]", errors)


def validate(result: dict, schema_path: Path = SCHEMA_PATH) -> None:
    """Validate a benchmark result against bench/schema.json.

    Uses the `jsonschema` package when installed, else the built-in checker of the subset the schema
    uses.

    Raises:
        SchemaError: naming every violation (path and what was wrong).
    """
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    try:
        import jsonschema
    except ImportError:
        errors: list[str] = []
        _check(result, schema, "result", errors)
    else:
        validator = jsonschema.Draft202012Validator(schema)
        errors = [
            f"result.{'.'.join(map(str, e.path))}: {e.message}"
            for e in validator.iter_errors(result)
        ]
    if errors:
        raise SchemaError(
            f"benchmark result does not match {schema_path}:\n  " + "\n  ".join(errors)
        )


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def markdown(result: dict) -> str:
    """The rows as a Markdown table, plus the reference conv and the environment."""
    env = result["environment"]
    lines = [
        f"# Benchmark ({'quick' if result['quick'] else 'default'} set)",
        "",
        f"{env['device_name']} ({env['device']}, {env['threads']} threads), torch {env['torch']}; "
        f"wall time {result['wall_time_s']:.0f} s",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_fmt(row.get(c)) for c in COLUMNS) + " |" for row in result["rows"]]
    ends = result["reference_conv_end"]
    lines += [
        "",
        "Reference 3x3 conv (GFLOP/s, before -> after the cases): "
        + ", ".join(
            f"{p} {r['gflops_per_s']:.1f} -> {ends[p]['gflops_per_s']:.1f}"
            for p, r in result["reference_conv"].items()
        ),
    ]
    drift = max(
        (
            abs(ends[p]["gflops_per_s"] / r["gflops_per_s"] - 1)
            for p, r in result["reference_conv"].items()
        ),
        default=0.0,
    )
    if drift > 0.2:
        lines.append(
            f"WARNING: the reference conv changed by {100 * drift:.0f}% during the run: the "
            "machine was shared or throttled, so these timings are not "
            "reliable; rerun on an idle machine."
        )
    methods = ", ".join(sorted({r["memory_method"] for r in result["rows"] if r["memory_method"]}))
    lines.append(
        "latency = median seconds per call (bench/harness.py); spread = max / min - 1 of the timed "
        "calls; images_per_s = batch / latency; peak memory above the memory in use before the "
        f"case (method: {methods}); ratio_to_ref_conv = gflops_per_s / the reference conv's before "
        "the cases (it can exceed 1: the reference is one layer, not the peak)."
    )
    return "\n".join(lines) + "\n"


def _key(row: dict) -> tuple:
    return row["method"], row["size"], row["precision"], row["batch"]


def compare(a: dict, b: dict, name_a: str = "A", name_b: str = "B") -> str:
    """Per-row ratios B / A of images/s, latency, peak memory and GFLOP (rows matched on method,
    size, precision, batch)."""
    rows_a = {_key(r): r for r in a["rows"]}
    header = [
        "method",
        "size",
        "precision",
        "batch",
        f"images/s {name_a}",
        f"images/s {name_b}",
        "speedup (B/A)",
        "latency ratio (B/A)",
        "peak mem ratio (B/A)",
        "gflop ratio (B/A)",
    ]
    lines = [
        f"# Benchmark comparison: B = {name_b} vs A = {name_a}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]

    def ratio(x, y):
        return (
            y / x if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x > 0 else None
        )

    matched, recounted = 0, []
    for row in b["rows"]:
        other = rows_a.get(_key(row))
        if other is None:
            continue
        matched += 1
        flop_ratio = ratio(other["gflop"], row["gflop"])
        if flop_ratio is not None and abs(flop_ratio - 1) > 1e-6:
            recounted.append(row["method"])
        cells = [
            *map(str, _key(row)),
            _fmt(other["images_per_s"]),
            _fmt(row["images_per_s"]),
            _fmt(ratio(other["images_per_s"], row["images_per_s"])),
            _fmt(ratio(other["latency_ms"], row["latency_ms"])),
            _fmt(ratio(other["peak_memory_mib"], row["peak_memory_mib"])),
            "-" if flop_ratio is None else f"{flop_ratio:.4g}",
        ]  # 4 digits: a 0.4% recount shows
        lines.append("| " + " | ".join(cells) + " |")
    only = len(a["rows"]) + len(b["rows"]) - 2 * matched
    if only:
        lines += ["", f"{only} row(s) present in only one file were left out."]
    if recounted:
        # The same pass with another FLOP count means the counter changed, not the work (e.g. CPU
        # attention counted in one file only): GFLOP/s is then not comparable between the files;
        # images/s still is.
        lines += [
            "",
            f"The FLOP count differs for {', '.join(sorted(set(recounted)))}: the files were "
            "counted differently, so compare images/s and latency there, not GFLOP/s.",
        ]
    return "\n".join(lines) + "\n"
