"""bench/house.py: the import graph, circles, arrows up and sizes of a source tree (issue 30)."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from bench.__main__ import main
from bench.house import house

# files of a tiny tree: models.a <-> models.b (b's import is lazy, a's relative), models.c pointing
# up at configs.x, an unlisted package, a file over 300 lines, and folders that are not source
TREE = {
    "train.py": "import configs.x\n",
    "models/__init__.py": "",
    "models/a.py": "from . import b\n",
    "models/b.py": "import torch\n\n\ndef late():\n    from models.a import thing\n",
    "models/c.py": "from configs.x import value\n",
    "configs/__init__.py": "",
    "configs/x.py": "import importlib\n\nimportlib.import_module('models.a')\nvalue = 1\n",
    "extras/__init__.py": "from configs import x\n",
    "media/big.py": "x = 1\n" * 301,
    "tests/test_a.py": "import models.a\nimport configs.x\n",
    ".venv/lib/site.py": "import models.a\n",
    "data/prep.py": "import models.a\n",
    "media/runs/__init__.py": "",  # a package named like the skipped top-level runs/: counted
    "media/runs/log.py": "x = 1\n",
}


def _tree(root: Path) -> Path:
    for name, text in TREE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_house_finds_the_circle_the_lazy_import_and_the_arrow_up(tmp_path):
    figures = house(_tree(tmp_path))
    # tests/, .venv/ and data/ are not source; media/runs/ is
    assert figures["files"] == 11
    assert figures["source_lines"] == 1 + 1 + 5 + 1 + 4 + 1 + 301 + 1
    # the circle closes only through b's import inside a function
    assert figures["circles"] == [["models.a", "models.b"]]
    lazy = [(e["source"], e["target"]) for e in figures["edges"] if e["lazy"]]
    assert lazy == [("models.b", "models.a")]
    up = ["models.c -> configs.x (models/c.py:1)"]
    assert figures["upward"] == up
    assert figures["models_outside"] == up
    # a literal import_module counts (configs.x -> models.a points down: no arrow up)
    assert {"source": "configs.x", "target": "models.a"}.items() <= figures["edges"][0].items()
    assert figures["over_300"] == ["media/big.py (301)"]
    assert [layer["packages"] for layer in figures["layers"]] == [
        ["train"],
        [],
        ["configs", "extras", "media"],
        ["models"],
    ]
    assert figures["unlisted"] == [
        "extras/ is in no layer of LAYERS: placed in 'parts' (the deepest its imports allow)"
    ]


def test_python_m_bench_house_runs_on_the_repo(capsys):
    figures = main(["house", "--json"])
    assert json.loads(capsys.readouterr().out)["files"] == figures["files"] > 0
    main(["house"])
    assert "| import circles (lazy imports included) |" in capsys.readouterr().out


# the repo's top-level modules and packages: an import naming one of them is not third-party
REPO = Path(__file__).resolve().parents[1]
REPO_TOP = {p.stem for p in REPO.glob("*.py")} | {
    p.name for p in REPO.iterdir() if p.is_dir() and any(p.glob("*.py"))
}


def imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in `path`, wherever it is written (at the top, inside a
    function, under TYPE_CHECKING, or importlib.import_module("a.b")); relative imports read as
    the package they start from, `models`."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append((node.lineno, "models" if node.level else node.module))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
        ):
            arg = node.args[0] if node.args else None
            name = arg.value if isinstance(arg, ast.Constant) else "<not a literal>"
            names.append((node.lineno, name))
    return names


def test_every_import_in_models_is_stdlib_third_party_or_models():
    """models/ (the method) reads alone: its networks load their published weights through
    models/pretrained.py, hed.py, vgg_weights.py and hub_files.py, never through weights/."""
    outside = []
    for path in sorted((REPO / "models").rglob("*.py")):
        for line, name in imported_names(path):
            top = name.split(".")[0]
            if top != "models" and (top not in sys.stdlib_module_names) and top in REPO_TOP:
                outside.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert outside == []
    assert "weights" in REPO_TOP and "configs" in REPO_TOP  # the check sees the repo's packages


def test_the_repo_has_no_import_circle_and_no_import_pointing_up():
    figures = house()
    assert figures["circles"] == []
    assert figures["upward"] == []
    assert figures["over_300"] == []


def test_models_imports_nothing_outside_models_and_sits_in_no_circle():
    figures = house()
    assert figures["models_outside"] == []
    assert not [c for c in figures["circles"] if any(m.split(".")[0] == "models" for m in c)]


# the readers of weight files know local paths only: the spec -> file function (weights/sources.py)
# sits above them, called at the entry points, so no path helper can start a download
LOCAL_ONLY = ("weights.checkpoint", "weights.load", "weights.release", "weights.convert")
SPEC_MODULES = ("weights.sources", "weights.download", "weights.hub")


def test_weights_sits_in_no_circle_and_its_readers_import_no_spec_resolution():
    figures = house()
    assert not [c for c in figures["circles"] if any(m.split(".")[0] == "weights" for m in c)]
    reach = {e["source"]: set() for e in figures["edges"]}
    for e in figures["edges"]:
        reach[e["source"]].add(e["target"])
    for module in LOCAL_ONLY:
        seen, todo = set(), [module]
        while todo:  # everything `module` imports, directly or through others (lazy included)
            for target in reach.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        assert not seen & set(SPEC_MODULES), (module, sorted(seen & set(SPEC_MODULES)))
