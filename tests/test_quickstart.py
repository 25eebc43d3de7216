"""The README's offline quickstart runs end to end: sample set, smoke training, stylized images and a grid."""

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def test_quickstart_script(tmp_path):
    env = {**os.environ, "QUICKSTART_DIR": str(tmp_path), "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(REPO / "quickstart.sh"), "train.steps=2", "train.save_every=2", "train.eval_every=2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = tmp_path / "outputs" / "quickstart"
    stylized = sorted(p.name for p in out.glob("*__*.png"))
    contents = sorted(p.stem for p in (tmp_path / "data/sample/content/val").iterdir())
    styles = sorted(p.stem for p in (tmp_path / "data/sample/style/val").iterdir())
    assert stylized == sorted(f"{c}__{s}.png" for c in contents for s in styles)
    grid = Image.open(out / "grid.png")
    assert grid.width > 256 and grid.height > 256
    assert (tmp_path / "runs/quickstart/model.safetensors").is_file()
    assert "random weights" in proc.stdout
