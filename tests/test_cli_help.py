"""Every command's parser: one-line errors with a suggestion, and every option with help text and
one default.
"""

from __future__ import annotations

import argparse
import importlib
import re

import pytest

from configs.cli import ArgumentParser, HelpFormatter

ENTRY_POINTS = [
    ("train", []),
    ("infer", ["--content", "x"]),
    ("app", []),
    ("eval.evaluate", []),
    ("eval.runs.compare", ["r", "--out", "o"]),
    ("eval.variants", []),
    ("bench.__main__", []),
    ("bench.__main__", ["figures"]),
    ("bench.train_step", []),
    ("weights.convert", ["--from", "x"]),
    ("data_prep.prepare", ["--out", "o"]),
    ("data_prep.sample", []),
    ("data_prep.sample_clip", []),
    ("data_prep.offline", []),
    ("eval.video", []),
    ("eval.peer", []),
]


def parsers(monkeypatch) -> list[tuple[str, ArgumentParser]]:
    """Each entry point's parser, caught when its main() parses (nothing runs)."""
    seen = []

    def catch(self, args=None, namespace=None):
        seen.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(ArgumentParser, "parse_known_args", catch)
    out = []
    for module, argv in ENTRY_POINTS:
        with pytest.raises(SystemExit):
            importlib.import_module(module).main(argv)
        assert seen, f"{module}.main does not parse with configs.cli.ArgumentParser"
        out.append((module, seen.pop()))
    return out


def test_every_option_has_help_and_shows_its_default_once(monkeypatch):
    problems = []
    for module, parser in parsers(monkeypatch):
        assert parser.formatter_class is HelpFormatter, module
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            name = "/".join(action.option_strings) or action.dest
            text = formatter._expand_help(action) if action.help else ""
            if not text.strip():
                problems.append(f"{module} {name}: no help text")
            elif len(re.findall(r"(?<![\w.])default(?!\w)", text.lower())) > 1:
                problems.append(f"{module} {name}: its default is shown twice: {text!r}")
    assert not problems, "\n".join(problems)


def test_help_never_contradicts_itself(monkeypatch):
    """A switch shows no default (`--no-channels-last ... (default: True)` read as "on by default"),
    and a default that depends on the machine is shown as its rule, not as this machine's value
    (`--device ... (cuda when available) (default: cpu)`)."""
    problems = []
    for module, parser in parsers(monkeypatch):
        formatter = parser._get_formatter()
        for action in parser._actions:
            text = formatter._expand_help(action) if action.help else ""
            name = "/".join(action.option_strings)
            if isinstance(action, argparse._StoreConstAction) and re.search(
                r"\(default: (True|False)\)", text
            ):
                problems.append(f"{module} {name}: a switch with a default: {text!r}")
            if "when available" in text and re.search(r"\(default: (cpu|cuda[:\d]*)\)", text):
                problems.append(f"{module} {name}: this machine's default: {text!r}")
    assert not problems, "\n".join(problems)


def test_a_typo_is_one_line_that_suggests_the_flag(capsys):
    import infer

    with pytest.raises(SystemExit) as stop:
        infer.main(["--content", "a.jpg", "--style", "b.jpg", "--aplha", "0.5"])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert err.count("\n") == 1 and "did you mean --alpha (not --aplha)?" in err, err
    with pytest.raises(SystemExit):
        infer.main(["--style", "b.jpg"])  # a missing required flag: one line too, no usage block
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--content" in err and "usage:" not in err, err
