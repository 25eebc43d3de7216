"""README.md and docs/*.md stay true: the README short, every relative link a file, every printed
command a script or module that exists, and its flags accepted by its entry point's own parser.

Run as printed by other tests (tests/doc_blocks.py finds each block by its marker):
- `ci:install`, `ci:test` (README): .ci/run, in a fresh virtual environment;
- in one `git clone`, in this order, by tests/test_readme_clean_clone.py (sizes and step counts
  shrunk through documented flags): `quickstart:commands` (README), the clip line of
  `video:commands` (docs/video.md), the sample and baseline lines of `plugin:commands`
  (docs/plugins.md), the --hub and --out lines of `export:commands` (docs/export.md),
  `protocol:commands` (docs/evaluation.md);
- `plugin:file`, `plugin:commands` (docs/plugins.md), all of it: tests/test_readme_plugin.py;
- `onnx-example` (docs/export.md): tests/test_export_onnx.py, in a process without torch.
The two launches of "More than one machine" (docs/training.md) are compared by
tests/test_train_preempt.py with the commands scripts/slurm/train.sbatch builds, which it runs.
Every other printed `python X.py`, `python -m pkg.mod`, `accelerate launch ... X.py` or `bash X.sh`
line is checked here only: its script or module exists and, for the entry points in ENTRY_POINTS
and infer.py, its argv parses with the parser that entry point builds (configs/cli.py's
ArgumentParser), stopped right after parsing, so nothing runs: those lines need data, GPUs,
downloads or hours.
"""

from __future__ import annotations

import importlib
import importlib.util
import re

import pytest
from doc_blocks import REPO, argv_of, doc_files, printed_commands, without_fences

from configs.cli import ArgumentParser

# entry point -> the module whose main(argv) parses argv first and does nothing before; infer.py's
# main imports --plugins files before parsing, so its parser is taken from where main builds it
ENTRY_POINTS = {
    "train.py": "train",
    "export.py": "export",
    "app.py": "app",
    "bench": "bench.__main__",
    "eval.styleid": "eval.styleid.command",
    "eval.runs": "eval.runs.compare",
    **{
        f"{package}.{name}": f"{package}.{name}"
        for package, names in {
            "eval": ("evaluate", "variants", "peer", "video"),
            "data_prep": ("prepare", "sample", "sample_clip", "offline"),
            "weights": ("convert",),
        }.items()
        for name in names
    },
}


class _Parsed(BaseException):
    """Raised by the patched parser once argv is parsed: main() stops before doing anything."""


def entry(argv: list[str]) -> tuple[str, list[str]] | None:
    """(script or module, its argv) of a command's argv, or None when it runs neither."""
    if argv[0] in ("python", "python3") and len(argv) > 2 and argv[1] == "-m":
        return argv[2], argv[3:]
    if argv[0] in ("python", "python3") and len(argv) > 1 and argv[1].endswith(".py"):
        return argv[1], argv[2:]
    if argv[:2] == ["accelerate", "launch"]:
        script = next((i for i, t in enumerate(argv) if t.endswith(".py")), None)
        assert script is not None, f"an accelerate launch without a script: {argv}"
        return argv[script], argv[script + 1 :]
    if argv[0] == "bash" and len(argv) > 1:
        return argv[1], argv[2:]
    return None


def entries() -> list[tuple[str, str, list[str]]]:
    """(file it is printed in, script or module, argv) of every printed command."""
    found = []
    for path in doc_files():
        for command in printed_commands(path.read_text()):
            for argv in argv_of(command):
                if hit := entry(argv):
                    found.append((path.relative_to(REPO).as_posix(), *hit))
    return found


def exists(target: str) -> bool:
    if target.endswith((".py", ".sh")):
        return (REPO / target).is_file()
    path = REPO / target.replace(".", "/")
    if (REPO / target.split(".")[0]).is_dir() or path.with_suffix(".py").is_file():
        return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()
    return importlib.util.find_spec(target) is not None  # the standard library's or a package's


def test_the_readme_is_at_most_300_lines():
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= 300, f"README.md has {lines} lines (at most 300): move a section to docs/*.md"


def test_every_relative_link_points_to_a_file():
    missing = []
    for path in doc_files():
        for target in re.findall(r"\]\(([^)\s]+)\)", without_fences(path.read_text())):
            file = target.split("#")[0]
            if file and "://" not in file and not file.startswith("mailto:"):
                if not (path.parent / file).exists():
                    missing.append(f"{path.relative_to(REPO)}: {target}")
    assert not missing, "links to files that do not exist: " + "; ".join(missing)


def test_every_printed_command_names_an_existing_script_or_module():
    found = entries()
    assert len(found) > 50 and {t for _, t, _ in found} >= {"train.py", "infer.py", "app.py"}
    missing = [f"{doc}: {target}" for doc, target, _ in found if not exists(target)]
    assert not missing, "printed commands of scripts or modules that do not exist: " + "; ".join(
        missing
    )


def parse_only(target: str, argv: list[str], monkeypatch) -> None:
    """Parse `argv` as `target`'s main would, and stop there (SystemExit 2 on a bad flag)."""
    real = ArgumentParser.parse_known_args
    depth = 0

    def parse_known_args(self, args=None, namespace=None):
        nonlocal depth
        depth += 1  # subcommands parse through a nested call; stop at the outermost one
        try:
            namespace, extras = real(self, args, namespace)
        finally:
            depth -= 1
        if depth == 0:
            if extras:
                self.error(f"unrecognized arguments: {' '.join(extras)}")
            raise _Parsed
        return namespace, extras

    monkeypatch.setattr(ArgumentParser, "parse_known_args", parse_known_args)
    if target == "infer.py":
        from inference.flags import build_parser

        main = build_parser().parse_args
    else:
        main = importlib.import_module(ENTRY_POINTS[target]).main
    with pytest.raises(_Parsed):
        main(argv)


def test_printed_flags_parse(monkeypatch, capsys):
    parsed, failed = set(), []
    for doc, target, argv in entries():
        if target not in ENTRY_POINTS and target != "infer.py":
            continue
        try:
            parse_only(target, [t for t in argv if t != "..."], monkeypatch)
        except SystemExit:
            error = capsys.readouterr().err.strip()
            # `...` stands for flags the line leaves out, a required one among them
            if not ("..." in argv and "arguments are required" in error):
                failed.append(f"{doc}: {target} {' '.join(argv)}: {error}")
        except pytest.fail.Exception:
            failed.append(f"{doc}: {target} {' '.join(argv)}: main() returned without parsing")
        parsed.add(target)
        monkeypatch.undo()
    assert not failed, "printed commands whose flags do not parse:\n" + "\n".join(failed)
    assert parsed >= {"train.py", "infer.py", "export.py", "app.py", "eval.styleid"}
