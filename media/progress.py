"""Progress bars: the one rule every command follows (`from media.progress import tqdm`).

The rule: a bar shows wherever a person may be waiting, in a terminal AND in a log file (nohup,
SLURM, `2> run.log`), on the main process only. tqdm's own `disable=None` hides a bar whenever
stderr is not a terminal, which left a researcher's log silent for a whole run; here `None` counts
as False. Off a terminal the bar is written for a log: one full line per redraw (no carriage
returns or cursor moves, so a message printed meanwhile never lands inside a bar), at most one
every LOG_INTERVAL seconds, plain ASCII, and its final line is kept (`leave`), so the log ends with
the totals. In a terminal or a notebook, tqdm's defaults. tqdm's own variables still apply:
TQDM_DISABLE=1 silences every bar, TQDM_MININTERVAL sets the redraw interval in a log.
"""

from __future__ import annotations

import os
import sys

from tqdm.auto import notebook_tqdm, std_tqdm
from tqdm.auto import tqdm as auto_tqdm

LOG_INTERVAL = 30.0  # seconds between a log's bar lines: a line per half minute, not ten a second
_CURSOR_UP = "\x1b[A"  # tqdm moves between stacked bars with it; a log file has no cursor


class LogLines:
    """A file that takes tqdm's redraws ('\\r' + bar + padding, cursor moves, clears) and writes
    each non-empty one as a line of its own."""

    def __init__(self, file):
        self.file = file

    def write(self, text: str) -> int:
        line = text.replace(_CURSOR_UP, "").replace("\r", "").strip()
        if line:
            self.file.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.file.flush()

    def __getattr__(self, name: str):  # encoding, isatty, closed: the real file's
        return getattr(self.file, name)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def is_terminal(file) -> bool:
    return bool(getattr(file, "isatty", None) and file.isatty())


def tqdm(iterable=None, *, disable: bool | None = False, **kwargs) -> std_tqdm:
    """tqdm's bar under the rule above; `disable=True` only for other ranks or a caller's quiet
    flag (`None`, tqdm's "terminal only", shows the bar too)."""
    disable = bool(disable) or _env_flag("TQDM_DISABLE")
    file = kwargs.get("file") or sys.stderr
    if not disable and notebook_tqdm is std_tqdm and not is_terminal(file):
        kwargs["file"] = LogLines(file)
        kwargs["leave"] = True
        kwargs["dynamic_ncols"] = False
        kwargs.setdefault("ascii", True)
        if "TQDM_MININTERVAL" not in os.environ:
            kwargs.setdefault("mininterval", LOG_INTERVAL)
    return auto_tqdm(iterable, disable=disable, **kwargs)
