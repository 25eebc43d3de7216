"""docs/plugins.md "Add your own method": its plugin file and its commands, run exactly as
printed, in a new folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from doc_blocks import block, commands
from safetensors import safe_open

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_readme_plugin_trains_compares_evaluates_and_stylizes(tmp_path):
    (tmp_path / "my_method.py").write_text(block("plugin:file my_method.py"))
    for entry in (
        "train.py",
        "infer.py",
        "configs",
    ):  # the commands are written for the repo's root
        (tmp_path / entry).symlink_to(REPO / entry)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    for command in commands("plugin:commands"):
        proc = subprocess.run(
            command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"{command}\n{proc.stderr[-3000:]}"
    with safe_open(str(tmp_path / "runs" / "my_method" / "model.safetensors"), "pt") as f:
        assert (
            "adain_soft" in f.metadata()["model_config"]
            and "my_method.py" in f.metadata()["plugins"]
        )
    summary = (tmp_path / "reports" / "my_method" / "curves" / "summary.md").read_text()
    assert "my_method" in summary and "adain" in summary
    metrics = (tmp_path / "reports" / "my_method" / "variants" / "eval" / "metrics.md").read_text()
    assert "vgg_adain_soft_meanstd" in metrics and "vgg_adain_meanstd" in metrics
    assert len(list((tmp_path / "outputs" / "my_method").glob("*.png"))) >= 4
