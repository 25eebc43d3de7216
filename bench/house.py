"""The house's figures, read from the source tree alone (issue 30): size, layers, circles, arrows.

    python -m bench house            # a Markdown table and the lists behind it
    python -m bench house --json     # the same as JSON

Every .py file outside .venv/, tests/, runs/, data/ (and hidden or cache folders) is parsed with
`ast`; nothing is imported. An import counts wherever it is written: at the top, inside a function
(lazy: it still closes a circle), under `if TYPE_CHECKING:`, or as `importlib.import_module("a.b")`
with a literal name (an f-string name, as models/registry.py's load_builtins, cannot be read). An
import of `a.b.c` points at the deepest of a.b.c, a.b, a that is a file of the tree; the parent
packages Python also runs are not counted as edges (every submodule would then close a circle
through its package's __init__.py).

Layers, top to bottom (the design's arrows; an import may point down or sideways, never up):
entry points -> run -> parts -> method (LAYERS). A top-level package LAYERS does not list is placed
in the deepest layer its own imports allow (nothing of the repo imported: an entry point), and the
output says so.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from configs.cli import ArgumentParser

REPO = Path(__file__).resolve().parents[1]
LAYERS = (
    ("entry points", ("train", "infer", "export", "app")),
    ("run", ("demo", "inference", "training", "eval", "bench")),
    ("parts", ("weights", "media", "data_prep", "configs", "runtime")),
    ("method", ("models",)),
)
SKIPPED = {".venv", "__pycache__", "node_modules"}  # at any depth
TOP_SKIPPED = {"tests", "runs", "data"}  # at the top only: eval/runs/ is a package
MAX_LINES = 300  # STYLE.md 1: about 300 lines at most
METHOD = "models"  # the package that imports nothing of the repo outside itself


@dataclass(frozen=True)
class Edge:
    """`source` imports `target` at `path`:`line`; lazy: written inside a function."""

    source: str
    target: str
    path: str
    line: int
    lazy: bool

    def __str__(self) -> str:
        lazy = ", lazy" if self.lazy else ""
        return f"{self.source} -> {self.target} ({self.path}:{self.line}{lazy})"


def source_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py of the tree outside SKIPPED, TOP_SKIPPED and hidden
    folders."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(p in SKIPPED or p.startswith(".") or p.endswith(".egg-info") for p in parts[:-1]):
            continue
        if len(parts) > 1 and parts[0] in TOP_SKIPPED:
            continue
        dotted = list(parts[:-1]) + ([] if parts[-1] == "__init__.py" else [path.stem])
        if dotted:
            found[".".join(dotted)] = path
    return found


def _resolve(name: str, modules: dict) -> str | None:
    """The deepest module of the tree that `name` (a.b.c) names or lies in; None if external."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def _imported_names(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names one import statement (or literal import_module call) reaches."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the module's own package, one folder up per extra dot
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join(package + ([base] if base else []))
        # `from a import b`: the submodule a.b when there is one, else a itself
        return [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    arg = node.args[0] if node.args else None
    if name == "import_module" and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    return []


def _with_laziness(tree: ast.AST):
    """Every node of `tree` with whether it sits inside a function (runs only when called)."""
    work = [(tree, False)]
    while work:
        node, lazy = work.pop()
        yield node, lazy
        inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        work.extend((child, inner) for child in ast.iter_child_nodes(node))


def imports(root: Path, modules: dict[str, Path]) -> list[Edge]:
    """Every import from a module of the tree to another one (itself excluded), in file order."""
    edges = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel, is_package = path.relative_to(root).as_posix(), path.name == "__init__.py"
        for node, lazy in _with_laziness(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Call)):
                continue
            for name in _imported_names(node, module, is_package):
                target = _resolve(name, modules)
                if target and target != module:
                    edges.append(Edge(module, target, rel, node.lineno, lazy))
    # one edge per statement and target (`from a import b, c` names a twice)
    return sorted(set(edges), key=lambda e: (e.path, e.line, e.target))


def circles(nodes: Sequence[str], edges: Sequence[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, without recursion),
    each sorted, largest first."""
    graph = {n: sorted({e.target for e in edges if e.source == n}) for n in nodes}
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for start in nodes:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(graph[node]):
                work.append((node, i + 1))
                nxt = graph[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:  # back in the caller: carry the lowest index up
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found, key=lambda c: (-len(c), c))


def layers(modules: Sequence[str], edges: Sequence[Edge]) -> tuple[dict[str, int], list[str]]:
    """Top-level package -> layer index (0: entry points ... 3: method), and one note per
    top-level package LAYERS does not list, saying where it was placed and why."""
    listed = {top: i for i, (_, tops) in enumerate(LAYERS) for top in tops}
    tops = sorted({m.split(".")[0] for m in modules})
    placed, notes = {t: listed[t] for t in tops if t in listed}, []
    for top in (t for t in tops if t not in listed):
        reached = {
            listed[e.target.split(".")[0]]
            for e in edges
            if e.source.split(".")[0] == top and e.target.split(".")[0] in listed
        }
        placed[top] = min(reached) if reached else 0
        why = "the deepest its imports allow" if reached else "it imports nothing of the repo"
        name = LAYERS[placed[top]][0]
        notes.append(f"{top}/ is in no layer of LAYERS: placed in '{name}' ({why})")
    return placed, notes


def house(root: Path = REPO) -> dict:
    """The figures of issue 30 for the tree at `root` (see the module docstring)."""
    root = Path(root)
    files = source_files(root)
    lines = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in files.items()}
    edges = imports(root, files)
    placed, notes = layers(list(files), edges)
    layer = {m: placed[m.split(".")[0]] for m in files}
    rel = {m: p.relative_to(root).as_posix() for m, p in files.items()}
    in_method = [e for e in edges if e.source.split(".")[0] == METHOD]
    return {
        "source_lines": sum(lines.values()),
        "files": len(files),
        "layers": [
            {"name": name, "packages": sorted(t for t, i in placed.items() if i == n)}
            for n, (name, _) in enumerate(LAYERS)
        ],
        "unlisted": notes,
        "circles": circles(list(files), edges),
        "upward": [str(e) for e in edges if layer[e.target] < layer[e.source]],
        "over_300": [f"{rel[m]} ({n})" for m, n in sorted(lines.items()) if n > MAX_LINES],
        "models_outside": [str(e) for e in in_method if e.target.split(".")[0] != METHOD],
        "edges": [asdict(e) for e in edges],
    }


def markdown(figures: dict) -> str:
    """The table of figures, then the lists behind each count."""
    circled = sum(len(c) for c in figures["circles"])
    rows = [
        ("source lines (non-test .py)", figures["source_lines"]),
        ("source files", figures["files"]),
        ("layers", " -> ".join(layer["name"] for layer in figures["layers"])),
        ("import circles (lazy imports included)", f"{len(figures['circles'])} ({circled} files)"),
        ("imports pointing up a layer", len(figures["upward"])),
        (f"source files over {MAX_LINES} lines", len(figures["over_300"])),
        (f"imports from {METHOD}/ to outside it", len(figures["models_outside"])),
    ]
    out = ["| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    out += ["", "## Layers (top to bottom)"]
    out += [f"- {layer['name']}: {', '.join(layer['packages'])}" for layer in figures["layers"]]
    out += [f"- {note}" for note in figures["unlisted"]]
    out += ["", "## Import circles"]
    edges = [Edge(**e) for e in figures["edges"]]
    for n, members in enumerate(figures["circles"], 1):
        out.append(f"{n}. {', '.join(members)}")
        inside = set(members)
        out += [f"   - {e}" for e in edges if e.source in inside and e.target in inside]
    sections = (
        ("Imports pointing up a layer", "upward"),
        (f"Source files over {MAX_LINES} lines", "over_300"),
        (f"Imports from {METHOD}/ to outside it", "models_outside"),
    )
    for title, key in sections:
        out += ["", f"## {title}"] + [f"- {item}" for item in figures[key]]
    return "\n".join(out)


def main(argv: Sequence[str]) -> dict:
    parser = ArgumentParser(prog="python -m bench house", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--root", default=str(REPO), help="the source tree to read")
    args = parser.parse_args(list(argv))
    root = Path(args.root)
    if not root.is_dir():
        parser.error(f"--root {root} is not a folder; give the checkout's top folder")
    figures = house(root)
    print(json.dumps(figures, indent=1) if args.json else markdown(figures))
    return figures
