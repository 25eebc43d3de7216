"""`--checkpoint adain-release`: the two release files from a loopback mirror (ADAIN_RELEASE_URL)
give pytorch-AdaIN's own image through infer.py, the second use runs with the server stopped, and a
truncated, HTML or empty download (or no network) is one line naming the URL with nothing cached.

The files are tests/foreign_refs.py's release network with random weights; its test.py image is the
reference.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import pytest
import test_foreign_adain as ref  # the module, so pytest does not collect its tests twice here
import torch
from foreign_refs import random_adain_release, write_png

import infer

pytestmark = pytest.mark.usefixtures("one_thread")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request lines on the test's stderr
        pass


@pytest.fixture
def serve():
    """serve(folder) -> base URL of a loopback HTTP server for `folder`; stop() ends it (the network
    goes).
    """
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    def stop() -> None:
        while servers:
            server = servers.pop()
            server.shutdown()
            server.server_close()

    start.stop = stop
    yield start
    stop()


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(vgg, decoder, folder): the two release files and test_foreign_adain's images, as
    ref.expected takes.
    """
    folder = tmp_path_factory.mktemp("mirror")
    vgg, decoder = random_adain_release()
    torch.save(vgg.state_dict(), folder / "vgg_normalised.pth")
    torch.save(decoder.state_dict(), folder / "decoder.pth")
    write_png(folder / "content.png", 61, 45, 1)
    write_png(folder / "style.png", 64, 64, 4)
    return vgg, decoder, folder


def _messages(stderr: str) -> list[str]:
    """stderr without tqdm's download bar ("... [00:00<00:00, 461MB/s]") and blank lines."""
    return [
        line for line in stderr.splitlines() if line.strip() and not re.search(r"\[\d+:\d+", line)
    ]


def _cache(tmp_path: Path, monkeypatch, url: str) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("ADAIN_RELEASE_URL", url)
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_release_from_the_mirror_reproduces_test_py_and_then_runs_offline(
    release, serve, tmp_path, monkeypatch
):
    cache = _cache(tmp_path, monkeypatch, serve(release[2]))
    want = ref.expected(release, ["style.png"], alpha=0.6)
    first = ref.run_infer(
        release[2], "first", ["style.png"], "--checkpoint", "adain-release", "--alpha", "0.6"
    )
    assert (first - want).abs().max() <= ref.TOL
    assert sorted(p.name for p in cache.iterdir()) == [
        "adain_release.safetensors",
        "decoder.pth",
        "vgg_normalised.pth",
    ]
    serve.stop()  # second use: nothing to download, the converted file alone
    (cache / "vgg_normalised.pth").unlink()
    (cache / "decoder.pth").unlink()
    second = ref.run_infer(
        release[2], "second", ["style.png"], "--checkpoint", "adain-release", "--alpha", "0.6"
    )
    assert torch.equal(first, second)


def _broken(folder: Path, name: str, kind: str, source: Path) -> None:
    data = (source / name).read_bytes()
    body = {
        "truncated": data[: len(data) // 2],
        "html": b"<!DOCTYPE html><html><body>Not here</body></html>",
        "empty": b"",
    }[kind]
    (folder / name).write_bytes(body)


@pytest.mark.parametrize(
    "kind,name",
    [("truncated", "vgg_normalised.pth"), ("html", "decoder.pth"), ("empty", "vgg_normalised.pth")],
)
def test_a_bad_download_is_one_line_naming_the_url_and_nothing_is_cached(
    release, serve, tmp_path, monkeypatch, capsys, kind, name
):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for good in ("vgg_normalised.pth", "decoder.pth"):
        (mirror / good).write_bytes((release[2] / good).read_bytes())
    _broken(mirror, name, kind, release[2])
    url = serve(mirror)
    cache = _cache(tmp_path, monkeypatch, url)
    code = infer.main(
        [
            "--content",
            str(release[2] / "content.png"),
            "--style",
            str(release[2] / "style.png"),
            "--checkpoint",
            "adain-release",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = _messages(capsys.readouterr().err)
    assert (
        code == 2 and len(err) == 1 and f"{url}/{name}" in err[0] and "nothing was cached" in err[0]
    ), err
    cached = sorted(p.name for p in cache.iterdir()) if cache.exists() else []
    assert name not in cached and "adain_release.safetensors" not in cached
    assert (
        not any(p.name.startswith(".") for p in cache.iterdir()) if cache.exists() else True
    )  # no temp left
    assert not (tmp_path / "out").exists()


def test_no_network_and_no_cache_says_where_to_put_the_files(
    release, tmp_path, monkeypatch, capsys
):
    # the discard port: connection refused
    cache = _cache(tmp_path, monkeypatch, "http://127.0.0.1:9")
    code = infer.main(
        [
            "--content",
            str(release[2] / "content.png"),
            "--style",
            str(release[2] / "style.png"),
            "--checkpoint",
            "adain-release",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = _messages(capsys.readouterr().err)
    assert code == 2 and len(err) == 1, err
    assert "vgg_normalised.pth and decoder.pth" in err[0] and str(cache) in err[0]
    assert "github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0" in err[0]


def test_files_placed_by_hand_are_converted_without_a_download(release, tmp_path, monkeypatch):
    cache = _cache(tmp_path, monkeypatch, "http://127.0.0.1:9")
    cache.mkdir(parents=True)
    for name in ("vgg_normalised.pth", "decoder.pth"):
        (cache / name).write_bytes((release[2] / name).read_bytes())
    ours = ref.run_infer(release[2], "by_hand", ["style.png"], "--checkpoint", "adain-release")
    assert (ours - ref.expected(release, ["style.png"])).abs().max() <= ref.TOL
