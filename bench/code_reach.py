"""How much code a reader meets: the repo files an entry point imports (transitively, also inside
functions, as a reader following the calls would open them) and their lines; and the lines of
models/.

    python -m bench.code_reach infer.py train.py app.py
    python -m bench.code_reach --executed infer.py --weights random --content a.png ...

--executed runs the entry point's main() with the given flags and counts what the call path
touches instead: the repo files whose functions ran (module bodies, i.e. imports, left out) and the
distinct lines executed inside those functions, a reader following that one run.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from configs.cli import ArgumentParser

REPO = Path(__file__).resolve().parents[1]


def module_file(name: str) -> Path | None:
    """The repo file of a dotted module name (a package's __init__.py), or None outside the repo."""
    base = REPO.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imports(path: Path) -> set[Path]:
    """The repo files `path` imports anywhere in its body (from X import Y also tries the module
    X.Y)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            if (file := module_file(name)) is not None:
                found.add(file)
    return found


def closure(entry: Path) -> set[Path]:
    seen, todo = set(), [entry]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imports(path) - seen
    return seen


def lines(paths) -> int:
    return sum(len(p.read_text().splitlines()) for p in paths)


def executed(entry: str, argv: list[str]) -> None:
    import importlib

    touched: dict[str, set[int]] = {}

    def trace(frame, event, arg):
        path = frame.f_code.co_filename
        if frame.f_code.co_name == "<module>" or not path.startswith(str(REPO)) or ".venv" in path:
            return None
        lines = touched.setdefault(path, set())

        def local(frame, event, arg):
            if event == "line":
                lines.add(frame.f_lineno)
            return local

        return local

    sys.path.insert(0, str(REPO))
    module = importlib.import_module(Path(entry).stem)
    sys.settrace(trace)
    try:
        module.main(argv)
    finally:
        sys.settrace(None)
    files = {Path(p) for p in touched}
    print(
        f"{entry} {' '.join(argv)}: functions run in {len(files)} files ({lines(files)} lines), "
        f"{sum(len(v) for v in touched.values())} distinct lines executed"
    )
    for path in sorted(files):
        print(f"  {path.relative_to(REPO)}: {len(touched[str(path)])}")


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("entries", nargs="*", default=["infer.py"], help="entry point scripts")
    parser.add_argument(
        "--executed",
        nargs=argparse.REMAINDER,
        metavar="ENTRY ARGS",
        help="run ENTRY's main() with ARGS and count what that one run touches (last flag)",
    )
    args = parser.parse_args(argv)
    if args.executed:
        return executed(args.executed[0], args.executed[1:])
    for entry in args.entries:
        files = closure(REPO / entry)
        print(f"{entry}: {len(files)} files, {lines(files)} lines")
    models = sorted((REPO / "models").glob("*.py"))
    print(f"models/: {len(models)} files, {lines(models)} lines")


if __name__ == "__main__":
    main(sys.argv[1:])
