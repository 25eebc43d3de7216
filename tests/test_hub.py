"""`--checkpoint hf:USER/REPO[@REVISION]`: files placed in huggingface_hub's cache layout, read with
HF_HUB_OFFLINE=1, give exactly the local file's images (infer.py in a new process with HF_HOME, as a
user runs it; revisions and unknown repos in this process); every failure is one line naming the
repo.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import huggingface_hub.constants as hf_constants
import pytest
from conftest import vary_outputs, vgg_config
from foreign_refs import write_png

import infer
from models.net import StyleTransferNet
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def pixels(path) -> bytes:
    """The decoded image (a PNG also records the settings that made it, the checkpoint spec
    included)."""
    from PIL import Image

    return Image.open(path).convert("RGB").tobytes()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """(HF_HOME, the local release file, content, style): alice/tiny cached at COMMIT, main and tag
    v1.
    """
    root = tmp_path_factory.mktemp("hf")
    net = StyleTransferNet(vgg_config()).eval()
    vary_outputs(net)
    local = save_release(root / "local" / "model.safetensors", net)
    repo = root / "home" / "hub" / "models--alice--tiny"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").write_bytes(local.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    (repo / "refs" / "v1").write_text(COMMIT)
    write_png(root / "content.png", 37, 45, 1)
    write_png(root / "style.png", 40, 40, 2)
    return root / "home", local, root / "content.png", root / "style.png"


def _args(hub, checkpoint: str, out: Path) -> list[str]:
    return [
        "--content",
        str(hub[2]),
        "--style",
        str(hub[3]),
        "--checkpoint",
        checkpoint,
        "--out",
        str(out),
        "--alpha",
        "0.7",
    ]


@pytest.fixture
def offline_cache(hub, monkeypatch):
    """This process reads hub[0]'s cache offline (huggingface_hub reads its env vars once, at
    import).
    """
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(hub[0] / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)


def test_hf_spec_offline_in_a_new_process_equals_the_local_file(hub, tmp_path):
    local = infer.stylize(_args(hub, str(hub[1]), tmp_path / "local"))["written"]
    env = {**os.environ, "HF_HOME": str(hub[0]), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    env.pop("HF_HUB_CACHE", None)
    proc = subprocess.run(
        [sys.executable, "infer.py", *_args(hub, "hf:alice/tiny", tmp_path / "hub")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    remote = sorted((tmp_path / "hub").glob("*.png"))
    assert [p.name for p in remote] == [Path(p).name for p in local]
    # the files differ in their settings chunk (the checkpoint)
    assert pixels(remote[0]) == pixels(local[0])


def test_a_revision_reads_its_snapshot(hub, tmp_path, offline_cache):
    local = infer.stylize(_args(hub, str(hub[1]), tmp_path / "local"))["written"]
    tagged = infer.stylize(_args(hub, "hf:alice/tiny@v1", tmp_path / "v1"))["written"]
    pinned = infer.stylize(_args(hub, f"hf:alice/tiny@{COMMIT}", tmp_path / "pinned"))["written"]
    assert pixels(tagged[0]) == pixels(local[0]) == pixels(pinned[0])


@pytest.mark.parametrize(
    "spec,named",
    [
        ("hf:nobody/nothing", "nobody/nothing"),
        ("hf:alice/tiny@v9", "alice/tiny@v9"),
        ("hf:alice", "hf:USER/REPO"),
    ],
)
def test_unknown_repo_or_revision_is_one_line(hub, tmp_path, offline_cache, capsys, spec, named):
    assert infer.main(_args(hub, spec, tmp_path / "out")) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and named in err[0], err
    assert not (tmp_path / "out").exists()


def test_the_demo_lists_download_specs_as_models():
    """app.py --checkpoint adain-release hf:USER/REPO: the picker offers both."""
    from demo.picker import discover_models

    listed = discover_models(["adain-release", "hf:alice/tiny", "runs_missing"])
    assert listed == {"adain-release": "adain-release", "hf:alice/tiny": "hf:alice/tiny"}
