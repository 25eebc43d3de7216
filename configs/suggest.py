"""The one suggestion rule of every entry point: a mistyped flag, subcommand, config key, registered
name or file name gets `did you mean X (not Y)?` (difflib's closest match, as git does)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

CUTOFF = 0.6  # difflib's default similarity: `--aplha` -> `--alpha`, `gramm` -> `gram`


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to `word`, or None when none is close (or `word` is one)."""
    candidates = [c for c in candidates if c != word]
    match = difflib.get_close_matches(word, candidates, n=1, cutoff=CUTOFF)
    return match[0] if match else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`did you mean X (not word)?`, or "" when no candidate is close."""
    match = closest(word, candidates)
    return f"did you mean {match} (not {word})?" if match else ""


def did_you_mean_path(path: str | Path) -> str:
    """For a missing file: the closest existing name in its folder (`smoke.yml` -> `smoke.yaml`)."""
    path = Path(path)
    try:
        siblings = [p.name for p in path.parent.iterdir()]
    except OSError:
        return ""
    match = closest(path.name, siblings)
    return f"did you mean {path.parent / match}?" if match else ""
