"""The README's offline quickstart runs end to end: sample set, smoke training, stylized images \
and a grid."""

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def run_quickstart(tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QUICKSTART_DIR": str(tmp_path), "PYTHON": sys.executable}
    proc = subprocess.run(
        [
            "bash",
            str(REPO / "quickstart.sh"),
            "train.steps=2",
            "train.save_every=2",
            "train.eval_every=2",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def test_quickstart_script_runs_again_and_again(tmp_path):
    (tmp_path / "outputs").mkdir()
    mine = tmp_path / "outputs" / "mine.png"  # a file of the user's beside the quickstart's outputs
    mine.write_bytes(b"not the quickstart's")
    run_quickstart(tmp_path)
    first = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "outputs" / "quickstart").iterdir()}
    # a second run replaces its own outputs (it used to exit 2 here)
    proc = run_quickstart(tmp_path)
    assert mine.read_bytes() == b"not the quickstart's"
    again = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "outputs" / "quickstart").iterdir()}
    # rewritten, not kept
    assert again.keys() == first.keys() and all(again[k] != first[k] for k in first)
    out = tmp_path / "outputs" / "quickstart"
    stylized = sorted(p.name for p in out.glob("*__*.png"))
    contents = sorted(p.stem for p in (tmp_path / "data/sample/content/val").iterdir())
    styles = sorted(p.stem for p in (tmp_path / "data/sample/style/val").iterdir())
    assert stylized == sorted(f"{c}__{s}.png" for c in contents for s in styles)
    grid = Image.open(out / "grid.png")
    assert grid.width > 256 and grid.height > 256
    assert (tmp_path / "runs/quickstart/model.safetensors").is_file()
    assert "random weights" in proc.stdout
