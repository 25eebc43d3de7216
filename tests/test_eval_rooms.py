"""eval/'s rooms as commands: `python -m eval.styleid` and `python -m eval.runs` reach their main(),
and eval/runs/ is source (a fresh clone has it) although .gitignore ignores run folders named
runs/."""

import runpy
import shutil
import subprocess
import sys

import pytest
from doc_blocks import REPO


@pytest.mark.parametrize(
    ("package", "usage"),
    [("eval.styleid", "python -m eval.styleid"), ("eval.runs", "python -m eval.runs")],
)
def test_python_m_runs_the_rooms_command(package, usage, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [package, "--help"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module(package, run_name="__main__", alter_sys=True)
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {usage} ")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_eval_runs_is_not_ignored_by_git():
    files = [p.relative_to(REPO).as_posix() for p in (REPO / "eval" / "runs").glob("*.py")]
    assert "eval/runs/compare.py" in files
    # check-ignore prints every ignored path among them and exits 1 when there is none
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *files], cwd=REPO, capture_output=True, text=True
    )
    assert ignored.returncode == 1 and not ignored.stdout, ignored.stdout
