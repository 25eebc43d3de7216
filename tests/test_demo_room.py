"""demo/ is a room of its own (issue 30 item 3): app.py is its only importer outside it, and it
imports no entry point. Read from the source tree by bench/house.py's parser, lazy imports
included: a module of inference/ (or lower) that reaches up into demo/ fails here."""

from __future__ import annotations

from bench.house import REPO, imports, source_files

ENTRY_POINTS = {"app", "infer", "train", "export"}


def _edges():
    modules = source_files(REPO)
    return imports(REPO, modules)


def _in_demo(module: str) -> bool:
    return module == "demo" or module.startswith("demo.")


def test_only_app_imports_the_demo():
    into = [e for e in _edges() if _in_demo(e.target) and not _in_demo(e.source)]
    assert {e.source for e in into} == {"app"}, [str(e) for e in into if e.source != "app"]


def test_the_demo_imports_no_entry_point():
    up = [str(e) for e in _edges() if _in_demo(e.source) and e.target in ENTRY_POINTS]
    assert not up, up
