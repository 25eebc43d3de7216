"""`python -m bench student`'s report: the markdown table (one line per row: speed, memory, quality,
parity to the student's PyTorch fp32; the reference rows; then the CPU, what the columns mean and
the command) of the record bench/student.py writes, and that command line."""

from __future__ import annotations

import shlex

__all__ = ["command", "ort_version", "table"]


def ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def command(args) -> str:
    """The command line that makes this record (the sizes as --quick set them, when it did)."""
    flags = {"--student": args.student, "--teacher": args.teacher, "--pairs": args.pairs}
    flags.update({"--out": args.out, "--threads": args.threads, "--onnx": args.onnx})
    if not args.quick:
        flags.update({"--size": args.size, "--big-size": args.big_size})
        flags["--big-max-seconds"] = f"{args.big_max_seconds:g}"
    argv = [x for k, v in flags.items() if v is not None for x in (k, str(v))]
    return shlex.join(["python", "-m", "bench", "student", *argv] + ["--quick"] * args.quick)


def _cell(part: dict, key: str, fmt: str, skipped: str) -> str:
    return skipped if "skipped" in part else format(part[key], fmt)


def table(record: dict) -> str:
    """The markdown table of a record: one line per row, then the references and the notes."""
    size, big = record["rows"][0]["speed"]["size"], record["rows"][0]["big"]["size"]
    lines = [
        f"| method | backend | precision | s / pair at {size} px | peak MiB at {size} px | "
        f"s at {big}x{big} | peak MiB at {big}x{big} | style distance | edge correlation "
        "| max diff to student fp32 (1/255) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in record["rows"]:
        s, b = r["speed"], r["big"]
        diff = "" if r["max_abs_diff_255"] is None else f"{r['max_abs_diff_255']:.1f}"
        lines.append(
            f"| {r['name']} | {r['backend']} | {r['precision']} | {s['seconds_per_pair']:.4f} | "
            f"{s['peak_mib']:.0f} | {_cell(b, 'seconds', '.2f', b.get('skipped'))} | "
            f"{_cell(b, 'peak_mib', '.0f', 'skipped')} | {r['style_distance']:.3f} | "
            f"{r['edge_correlation']:.3f} | {diff} |"
        )
    for r in record["references"]:
        lines.append(
            f"| {r['name']} | | | | | | | {r['style_distance']:.3f} | "
            f"{r['edge_correlation']:.3f} | |"
        )
    load = " to ".join(f"{x:.1f}" for x in record["load_average_1min"])
    lines += [
        "",
        f"- CPU: {record['cpu']}; {record['threads']} torch thread(s) and as many onnxruntime "
        f"intra-op threads; torch {record['torch']}, onnxruntime {record['onnxruntime']}; 1-min "
        f"load average {load} during the run",
        f"- quality: {record['pairs']} pairs of {record['pairs_manifest']} at "
        f"{record['quality_size']} px (eval.peer's protocol); speed: the same pairs at {size} px, "
        f"mean after one warm-up; {big}x{big}: the first pair's content, its style at {size} px, "
        "one pass, untiled; peak: resident-set high-water mark above the RSS before the pass (the "
        "JSON's rss_mib: the whole process's, every row's model and kept heap included)",
        f"- command: {record['command']}",
    ]
    if record.get("int8_skipped"):
        lines.append(f"- no onnxruntime int8 row: {record['int8_skipped']}")
    return "\n".join(lines)
