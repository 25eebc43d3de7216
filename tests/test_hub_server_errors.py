"""A hub that answers every request with 503 costs one request and ends in one line (issue 33:
huggingface_hub retried it 6 more times, ~25 s, before an error), for an `hf:` checkpoint and a
timm ViT's pretrained weights alike. The hub is a local server (HF_ENDPOINT), the cache empty."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from foreign_refs import write_png

REPO = Path(__file__).resolve().parents[1]


class Always503(BaseHTTPRequestHandler):
    def answer(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hub(tmp_path):
    """(the server, with .seen: the requests it answered; the env a command runs with)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Always503)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
        "HF_HOME": str(tmp_path / "hf"),  # an empty cache
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
    }
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE"):
        env.pop(name, None)
    yield server, env
    server.shutdown()
    server.server_close()


def _run(env, *args: str) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    return proc.returncode, [line for line in proc.stderr.splitlines() if line.strip()]


def test_an_hf_checkpoint_is_one_request_and_one_line(hub, tmp_path):
    server, env = hub
    write_png(tmp_path / "c.png", 32, 32, 1)
    code, err = _run(
        env,
        *("infer.py", "--checkpoint", "hf:alice/tiny", "--out", str(tmp_path / "out")),
        *("--content", str(tmp_path / "c.png"), "--style", str(tmp_path / "c.png")),
    )
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("error: --checkpoint hf:alice/tiny: the hub"), err
    assert "answered 503" in err[0] and "alice/tiny/model.safetensors" in err[0], err
    assert "try again later" in err[0], err
    asked = [r for r in server.seen if "/resolve/" in r]  # not huggingface_hub's own /api calls
    assert asked == ["HEAD /alice/tiny/resolve/main/model.safetensors"], server.seen


def test_timm_weights_are_one_request_and_one_line(hub):
    server, env = hub
    code, err = _run(
        env,
        "-c",
        "import sys\n"
        "from models.pretrained import PretrainedWeightsError, create_timm_model\n"
        "try:\n"
        "    create_timm_model('vit_tiny_patch16_224', pretrained=True)\n"
        "except PretrainedWeightsError as err:\n"
        "    sys.exit(f'error: {err}')\n",
    )
    assert code == 1 and len(err) == 1, err
    assert "timm model 'vit_tiny_patch16_224'" in err[0] and "answered 503" in err[0], err
    assert "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k/model.safetensors" in err[0], err
    asked = [r for r in server.seen if "/resolve/" in r]
    assert len(asked) == 1 and asked[0].startswith("HEAD "), server.seen
