"""README.md and docs/*.md as the tests read them: marked blocks, sections, printed commands.

One place for every test that runs or checks what the documentation prints, so moving a block
between README.md and a docs page never breaks a test. A marked block is the first fenced block
after a line `<!-- marker -->` (as .ci/run reads `ci:install` and `ci:test`: those stay in the
README).
"""

from __future__ import annotations

import ast
import functools
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\S*)\n(.*?)^```$", re.S | re.M)
# what a printed command starts with, after any VAR=value assignments
COMMAND = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S+ )*(?:python3? |accelerate launch |bash )")


def doc_files() -> list[Path]:
    """README.md, then docs/*.md (the order `block` and `section` search in)."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def block(marker: str) -> str:
    """The body of the first fenced block after the line `<!-- marker -->`."""
    pattern = re.compile(rf"^<!-- {re.escape(marker)} -->\n```\S*\n(.*?)^```$", re.S | re.M)
    for path in doc_files():
        match = pattern.search(path.read_text())
        if match:
            return match.group(1)
    raise AssertionError(
        f"no fenced block after a line <!-- {marker} --> in README.md or docs/*.md: "
        "put the marker on the line above the block the tests run"
    )


def bare(line: str) -> str:
    """A command line without its trailing comment."""
    return re.sub(r"\s+# .*", "", line).strip()


def commands(marker: str) -> list[str]:
    """The lines of `block(marker)`, without comments (whole lines or trailing ones)."""
    lines = (bare(line) for line in block(marker).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def printed(doc: str) -> list[str]:
    """Every command README.md or docs/NAME.md (`doc`, relative to the repo) prints, in order, as
    `printed_commands` finds them, without trailing comments."""
    return [bare(line) for line in printed_commands((REPO / doc).read_text())]


def section(title: str) -> str:
    """The text under the heading `title` (any level) up to the next heading of its level or
    above; `#` lines inside fenced blocks are not headings."""
    for path in doc_files():
        lines, level, fenced = [], 0, False
        for line in path.read_text().splitlines():
            fenced ^= line.startswith("```")
            heading = re.match(r"(#+) (.*)", line) if not fenced else None
            if heading and level and len(heading.group(1)) <= level:
                break
            if level:
                lines.append(line)
            elif heading and heading.group(2).strip() == title:
                level = len(heading.group(1))
        if level:
            return "\n".join(lines)
    raise AssertionError(
        f'no heading "{title}" in README.md or docs/*.md: a test reads that section; '
        "rename it in both places"
    )


def without_fences(text: str) -> str:
    """`text` with its fenced blocks blanked (a link-like `](x)` in code is not a link)."""
    return FENCE.sub("", text)


def printed_commands(text: str) -> Iterator[str]:
    """Every shell command `text` prints in a fenced shell block or an indented code block that
    starts like `python`, `accelerate launch` or `bash` (continued lines joined)."""
    shell = [b for lang, b in FENCE.findall(text) if lang in ("", "bash", "sh", "shell")]
    indented = [
        m.group(1) for m in re.finditer(r"^    (\S(?:.*\\\n {4,})*.*)$", without_fences(text), re.M)
    ]
    for line in "\n".join([*shell, *indented]).replace("\\\n", " ").splitlines():
        line = re.sub(r" +", " ", line.strip())
        if COMMAND.match(line):
            yield line


def argv_of(command: str) -> list[list[str]]:
    """A printed command line as the argv lists of its `&&`/`;`/`|` parts: comments dropped and
    `[optional]` brackets opened (as the reader would type it); `...` (flags left out) is kept."""
    parts: list[list[str]] = [[]]
    for token in shlex.split(command, comments=True):
        if token in ("&&", "||", ";", "|"):
            parts.append([])
        else:
            parts[-1].append(token.removeprefix("[").removesuffix("]"))
    return [
        p[next(i for i, t in enumerate(p) if not re.match(r"[A-Z_][A-Z0-9_]*=", t)) :]
        for p in parts
        if p
    ]


@functools.cache
def not_run() -> dict[str, str]:
    """tests/test_docs.py's list of printed commands no test runs: the start of the commands an
    entry stands for -> why (read from that module's docstring, the one place it is written)."""
    doc = ast.get_docstring(ast.parse((REPO / "tests" / "test_docs.py").read_text())) or ""
    listed = doc.split("\nNot run by a test", 1)[1].split("\n\n", 1)[0]
    return {
        start: " ".join(why.split())
        for start, why in re.findall(r"^- `([^`]+)`: (.*(?:\n  .*)*)", listed, re.M)
    }


def why_not_run(command: str) -> str | None:
    """The reason no test runs `command` (bare, as `printed` gives it), or None: a test runs it."""
    return next((why for start, why in not_run().items() if command.startswith(start)), None)
