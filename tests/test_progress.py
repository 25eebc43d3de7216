"""Progress shows in a log file too (issue 33: infer.py's bars showed only in a terminal, so a run
under nohup or SLURM logged nothing while it worked): one rule, media/progress.py."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from conftest import vgg_config
from foreign_refs import write_png

from media.progress import tqdm
from models.net import StyleTransferNet
from weights.release import save_release

REPO = Path(__file__).resolve().parents[1]


def test_infer_writes_its_bar_into_a_log_file(tmp_path):
    release = save_release(tmp_path / "m.safetensors", StyleTransferNet(vgg_config()).eval())
    write_png(tmp_path / "c.png", 32, 40, 1)
    write_png(tmp_path / "s.png", 32, 32, 2)
    log = tmp_path / "run.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env.pop("TQDM_DISABLE", None)
    with log.open("w") as stderr:  # a file, as under nohup: not a terminal
        proc = subprocess.run(
            [sys.executable, "infer.py", "--checkpoint", str(release), "--weights", "random"]
            + ["--content", str(tmp_path / "c.png"), "--style", str(tmp_path / "s.png")]
            + ["--out", str(tmp_path / "out")],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            timeout=300,
        )
    text = log.read_text()
    assert proc.returncode == 0, text
    bars = [line for line in text.splitlines() if line.startswith("stylize:")]
    assert bars and bars[-1].startswith("stylize: 100%") and "1/1" in bars[-1], text
    assert "\r" not in text and "\x1b" not in text, repr(text)  # lines a log reader can read


def _log(**kwargs) -> list[str]:
    """What a run with a bar of 3 steps, a nested bar and a message in between writes to a file."""
    log = io.StringIO()
    with tqdm(total=3, desc="outer", file=log, **kwargs) as outer:
        outer.update()
        log.write("tiled: a message\n")
        for _ in tqdm(range(2), desc="inner", leave=False, file=log, **kwargs):
            pass
        outer.update(2)
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue(), repr(log.getvalue())
    return log.getvalue().splitlines()


def test_a_log_gets_whole_lines_and_keeps_every_bars_last_state():
    lines = _log()
    assert "tiled: a message" in lines  # never glued to a bar
    assert lines[0].startswith("outer:   0%") and lines[-1].startswith("outer: 100%"), lines
    assert any(line.startswith("inner: 100%") for line in lines), lines  # leave=False kept


def test_quiet_only_when_asked(monkeypatch):
    assert _log(disable=True) == ["tiled: a message"]  # another rank, or a caller's flag
    assert len(_log(disable=None)) > 1  # tqdm's "terminal only" is not this repo's rule
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert _log() == ["tiled: a message"]


def test_a_terminal_keeps_tqdms_redraws():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with tqdm(total=2, desc="bar", file=screen) as bar:
        bar.update(2)
    assert screen.getvalue().startswith("\rbar:"), repr(screen.getvalue())
