"""How much code a reader meets: the repo files an entry point imports (transitively, also inside \
functions,
as a reader following the calls would open them) and their lines; and the lines of models/.

    python docs/measure_reading.py infer.py train.py app.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

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


def main(argv: list[str]) -> None:
    for entry in argv or ["infer.py"]:
        files = closure(REPO / entry)
        print(f"{entry}: {len(files)} files, {lines(files)} lines")
    models = sorted((REPO / "models").glob("*.py"))
    print(f"models/: {len(models)} files, {lines(models)} lines")


if __name__ == "__main__":
    main(sys.argv[1:])
