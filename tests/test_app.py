"""The web demo (app.py) through gradio_client: every knob against infer.py, bad inputs, queue, \
caches, CLI.

One in-process server per module (random-weight VGG decoder, 48x64 images, a size cap of 128 px).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import vary_outputs
from PIL import Image

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from gradio_client.utils import Status  # noqa: E402

import infer  # noqa: E402
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig  # noqa: E402
from demo import serving  # noqa: E402
from demo.limits import Budget  # noqa: E402
from demo.page import build_app, serve  # noqa: E402
from demo.picker import discover_models  # noqa: E402
from demo.state import OPTIMIZE, Cancelled, Demo, Limits, Request, Result, Step  # noqa: E402
from demo.web import Upload, make_temp_root  # noqa: E402
from media.images import load_image  # noqa: E402
from models.adain import MAX_ALPHA  # noqa: E402
from models.net import StyleTransferNet  # noqa: E402
from weights.checkpoint import STEP_WEIGHTS  # noqa: E402
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]
CAP = 128
HANG = 120  # s: a deadline only a hung server reaches, never a slow one
LABEL = "runs/a/model.safetensors"  # the picker's name of env["ckpt"]


def wait_for(condition, what: str) -> None:
    """Poll `condition()` until it holds; the deadline only turns a hang into a failure."""
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"hung waiting for {what}"
        time.sleep(0.05)


def picture(path: Path, h: int, w: int, seed: int) -> str:
    """A smooth pattern plus noise: structure for the decoder to keep, statistics that differ per
    seed."""
    y, x = np.mgrid[0:h, 0:w]
    base = (
        np.stack([np.sin(x / (3 + seed)), np.cos(y / (4 + seed)), np.sin((x + y) / 5)], -1) * 0.4
        + 0.5
    )
    arr = np.clip(base + np.random.default_rng(seed).normal(0, 0.05, (h, w, 3)), 0, 1)
    Image.fromarray((arr * 255).astype(np.uint8)).save(path)
    return str(path)


def release(path: Path) -> str:
    """A random-weight VGG release file; He init keeps the image's structure visible through the
    decoder."""
    torch.manual_seed(0)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
    vary_outputs(net)
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(save_release(path, net))


def bomb(path: Path) -> str:
    """A 100 byte PNG that claims 30000x30000 pixels: Pillow refuses it from the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
    return str(path)


@pytest.fixture(scope="module")
def env(tmp_path_factory, one_thread):
    root = tmp_path_factory.mktemp("app")
    files = dict(
        ckpt=release(root / "runs" / "a" / "model.safetensors"),
        step=release(root / "runs" / "a" / "checkpoints" / "step_000010" / STEP_WEIGHTS),
        c=picture(root / "c.png", 48, 64, 1),
        s1=picture(root / "s1.png", 40, 40, 3),
        s2=picture(root / "s2.png", 56, 32, 4),
        big=picture(root / "big.png", 300, 200, 5),
    )
    broken = root / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    # labels: runs/a/model.safetensors, runs/a/checkpoints/step_000010, broken.safetensors,
    # missing.safetensors
    models = discover_models([root / "runs", broken, root / "missing.safetensors"])
    temp = make_temp_root()
    demo = Demo(models, temp / "results", "random", Limits(max_size=CAP), "cpu")
    page = build_app(demo, [])
    url = serve(page, port=None, block=False)
    client = Client(url, verbose=False, download_files=str(root / "downloads"))
    yield dict(files, root=root, demo=demo, client=client, temp=temp, baselines={}, label=LABEL)
    client.close()
    page.close()


def api(env, **kwargs) -> torch.Tensor:
    """One /stylize call with the env's content and style unless given; returns the image (3, H,
    W)."""
    args = dict(content=handle_file(env["c"]), style=handle_file(env["s1"]))
    args.update(
        {k: [handle_file(p) for p in v] if k == "more_styles" else v for k, v in kwargs.items()}
    )
    return load_image(env["client"].predict(**args, api_name="/stylize"))


def baseline(env, method: str) -> torch.Tensor:
    """The output with every knob at its default (computed once per module)."""
    if method not in env["baselines"]:
        env["baselines"][method] = api(env) if method == "decoder" else api(env, **OPTIMIZE_BASE)
    return env["baselines"][method]


def cli(env, tmp_path, *flags) -> torch.Tensor:
    """The same pair through infer.py with the app's cap and weights."""
    argv = [
        "--content",
        env["c"],
        "--weights",
        "random",
        "--max-size",
        str(CAP),
        "--out",
        str(tmp_path),
        *flags,
    ]
    if "--style" not in flags:
        argv += ["--style", env["s1"]]
    if "--method" not in flags:
        argv += ["--checkpoint", env["ckpt"]]
    return load_image(infer.stylize(argv)["written"][0])


def test_stylize_endpoint_signature(env):
    info = env["client"].view_api(print_info=False, return_format="dict")["named_endpoints"][
        "/stylize"
    ]
    params = {p["parameter_name"]: p for p in info["parameters"]}
    assert list(params)[:3] == ["content", "style", "alpha"]
    assert (
        not params["content"]["parameter_has_default"]
        and not params["style"]["parameter_has_default"]
    )
    assert params["alpha"]["parameter_default"] == 1.0
    assert all(params[k]["parameter_has_default"] for k in list(params)[2:])


DECODER_KNOBS = [  # (API keyword arguments, the infer.py flags that must give the same image)
    (dict(alpha=0.5), ["--alpha", "0.5"]),
    (
        dict(more_styles=["s2"], style_weights="0.3,0.7"),
        ["--style", "s1", "s2", "--style-weights", "0.3,0.7"],
    ),
    (dict(preserve_color="luminance"), ["--preserve-color", "luminance"]),
    (dict(preserve_color="covariance"), ["--preserve-color", "covariance"]),
    (dict(size=32), ["--size", "32"]),
    (dict(precision="bf16"), ["--precision", "bf16"]),
]
OPTIMIZE_BASE = dict(model=OPTIMIZE, steps=3, size=32)
OPTIMIZE_KNOBS = [
    (dict(style_weight=1e4), ["--style-weight", "1e4"]),
    (dict(scales="16"), ["--scales", "16,32"]),
    (dict(steps=6), ["--steps", "6"]),
]


@pytest.mark.parametrize(
    "kwargs,flags", DECODER_KNOBS, ids=lambda v: str(v) if isinstance(v, dict) else ""
)
def test_decoder_knob_equals_infer_and_changes_the_output(env, tmp_path, kwargs, flags):
    kwargs = {k: [env[p] for p in v] if k == "more_styles" else v for k, v in kwargs.items()}
    flags = [env.get(f, f) for f in flags]
    out, default = api(env, **kwargs), baseline(env, "decoder")
    assert (out - cli(env, tmp_path, *flags)).abs().max() <= 1 / 255
    if "size" in kwargs:
        assert tuple(out.shape[-2:]) == (32, 43) and tuple(default.shape[-2:]) == (48, 64)
    else:
        assert (out - default).abs().mean() > 2e-3, "the knob had no effect"


@pytest.mark.parametrize(
    "kwargs,flags", OPTIMIZE_KNOBS, ids=lambda v: str(v) if isinstance(v, dict) else ""
)
def test_optimization_knob_equals_infer_and_changes_the_output(env, tmp_path, kwargs, flags):
    out = api(env, **{**OPTIMIZE_BASE, **kwargs})
    reference = cli(env, tmp_path, "--method", "optimize", "--steps", "3", "--size", "32", *flags)
    assert (out - reference).abs().max() <= 2 / 255
    assert (out - baseline(env, "optimize")).abs().mean() > 1e-3, "the knob had no effect"


def test_model_picker_includes_step_folders_and_they_run(env):
    assert env["demo"].models["runs/a/checkpoints/step_000010"] == str(Path(env["step"]).parent)
    out = api(env, model="runs/a/checkpoints/step_000010")
    assert (out - baseline(env, "decoder")).abs().max() == 0  # the release file's weights


@pytest.mark.parametrize(
    "case,message",
    [
        ("text", "not an image"),
        ("bomb", "decompression bomb"),
        ("tiny", "1x1 px"),
        ("missing_checkpoint", "does not exist"),
        ("broken_checkpoint", "not a readable safetensors file"),
        ("unknown_model", "unknown model"),
        ("fp16_on_cpu", "not available on this device"),
        ("weights_not_numbers", "style_weights must be a number"),
        ("weights_count", "2 style weights for 1 styles"),
        ("scales", "scales must be a whole number"),
        ("alpha", "alpha must lie in [0, 2]"),
    ],
)
def test_bad_input_returns_a_one_line_message(env, case, message):
    root = env["root"]
    (root / "notes.txt").write_text("not an image")
    Image.new("RGB", (1, 1)).save(root / "tiny.png")
    content = {
        "text": str(root / "notes.txt"),
        "bomb": bomb(root / "bomb.png"),
        "tiny": str(root / "tiny.png"),
    }
    kwargs = {
        "missing_checkpoint": dict(model="missing.safetensors"),
        "broken_checkpoint": dict(model="broken.safetensors"),
        "unknown_model": dict(model="/etc/passwd"),
        "fp16_on_cpu": dict(precision="fp16"),
        "weights_not_numbers": dict(style_weights="1,x"),
        "weights_count": dict(style_weights="1,1"),
        "scales": dict(model=OPTIMIZE, scales="a,b"),
        "alpha": dict(alpha=MAX_ALPHA + 0.5),
    }.get(case, {})
    if case in content:
        kwargs["content"] = handle_file(content[case])
    with pytest.raises(AppError) as err:
        api(env, **kwargs)
    assert (
        message in str(err.value)
        and "\n" not in str(err.value)
        and "Traceback" not in str(err.value)
    )


def test_page_uploads_reach_the_demo_undecoded(env):
    """The page's image inputs pass the file on, so media.images (not gradio) explains a bad
    file."""
    from gradio.data_classes import ImageData

    (env["root"] / "upload.txt").write_text("not an image")
    upload = Upload(type="filepath", render=False)
    assert upload.preprocess(ImageData(path=str(env["root"] / "upload.txt"))) == str(
        env["root"] / "upload.txt"
    )


def test_examples_are_inline_thumbnails_and_an_unreadable_one_is_an_empty_cell(env):
    (env["root"] / "notes.txt").write_text("not an image")
    pairs = [[str(env["root"] / "notes.txt"), env["s1"]], [env["big"], env["s1"]]]
    page = build_app(env["demo"], pairs)  # what app.py does with its --examples folder
    dataset = next(c for c in page.config["components"] if c["type"] == "dataset")
    (broken, style), (content, _) = dataset["props"]["samples"]
    assert broken is None and style["orig_name"] == "s1.png" and content["orig_name"] == "big.png"
    jpeg = base64.b64decode(content["url"].removeprefix("data:image/jpeg;base64,"))
    assert Image.open(io.BytesIO(jpeg)).size == (107, 160)  # big.png: 200x300


def test_huge_image_is_downscaled_to_the_cap_and_said_so(env):
    out = api(env, content=handle_file(env["big"]), size=CAP)
    assert tuple(out.shape[-2:]) == (CAP, round(200 * CAP / 300))
    result = env["demo"].run(Request(env["big"], [env["s1"]], LABEL, size=CAP))
    assert result.notes == [f"content 200x300 downscaled to 85x{CAP} (size cap {CAP} px)"]


def test_two_concurrent_requests_complete_one_model_run_at_a_time(env, monkeypatch):
    """The first run holds the server until the other request waits in its queue, or runs beside
    it if the slot were not exclusive: no sleep decides whether the two overlap (a first run that
    ended before the other arrived would pass without testing anything)."""
    demo, active, peak, calls, jobs, styles = env["demo"], [0], [0], [0], [], (env["s1"], env["s2"])
    run, lock, submitted = demo.run, threading.Lock(), threading.Event()

    def counted(req, *args, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            calls[0] += 1
            first = calls[0] == 1
        try:
            if first:  # either job may be first; an upload keeps its file name
                assert submitted.wait(HANG)
                names = [Path(s).name for s in styles]
                other = jobs[1 - names.index(Path(req.styles[0]).name)]
                wait_for(
                    lambda: active[0] == 2 or other.status().code == Status.IN_QUEUE,
                    "the other request",
                )
            return run(req, *args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(demo, "run", counted)
    jobs += [
        env["client"].submit(
            content=handle_file(env["c"]), style=handle_file(s), api_name="/stylize"
        )
        for s in styles
    ]
    submitted.set()
    outs = [load_image(job.result(timeout=HANG)) for job in jobs]
    assert all(o.shape == (3, 48, 64) for o in outs) and (outs[0] - outs[1]).abs().mean() > 1e-3
    assert peak[0] == 1


def test_model_and_style_statistics_are_cached_across_requests(env, monkeypatch):
    demo = env["demo"]
    api(env, style=handle_file(env["s2"]), size=40)  # the model is built by now
    engine = demo.engines[("decoder", env["ckpt"], "fp32")]
    calls = []
    encode = engine.encode
    monkeypatch.setattr(engine, "encode", lambda x: calls.append(tuple(x.shape)) or encode(x))
    first = api(env, style=handle_file(env["s2"]), size=40)
    again = api(env, style=handle_file(env["s2"]), size=40)  # a new upload of the same picture
    assert calls == [
        (1, 3, 40, 53),
        (1, 3, 40, 53),
    ]  # the content only: the style's statistics are cached
    assert (
        demo.engines[("decoder", env["ckpt"], "fp32")] is engine
        and (first - again).abs().max() == 0
    )
    # a long-running server keeps a bounded number
    monkeypatch.setattr("demo.state.STYLE_CACHE", 1)
    api(env, style=handle_file(env["s1"]), size=40)
    assert len(engine._styles) == 1


def drain(demo, req, budget, cancel_after=None) -> list:
    """Every item serving.stream yields (the page's path); sets the budget's cancel flag after
    `cancel_after`."""

    async def go():
        seen = []
        async with aclosing(serving.stream(demo, req, budget)) as items:
            async for item in items:
                seen.append(item)
                if len(seen) == cancel_after:
                    budget.cancel()
        return seen

    return asyncio.run(go())


def test_optimization_streams_intermediate_images_and_cancels(env):
    demo, req = env["demo"], Request(env["c"], [env["s1"]], OPTIMIZE, size=32, steps=4, scales="16")
    items = drain(demo, req, Budget(60))  # 2 scales x 4 steps, an image every max(1, 8 // 20)
    steps = [i.step for i in items if isinstance(i, Step)]
    assert isinstance(items[-1], Result) and steps == [1, 2, 3, 4, 5, 6, 7, 8, 8]
    assert [tuple(i.image.shape) for i in items if isinstance(i, Step)][3:5] == [
        (3, 16, 22),
        (3, 32, 43),
    ]
    assert all(i.total == 8 for i in items if isinstance(i, Step))
    with pytest.raises(Cancelled, match="cancelled at step 2 of 8"):
        drain(demo, req, Budget(60), cancel_after=1)


def test_random_weights_are_flagged(env):
    assert env["demo"].run(Request(env["c"], [env["s1"]], LABEL, size=32)).random_weights
    # a random encoder
    demo = Demo({LABEL: env["ckpt"]}, env["root"] / "r", "pretrained", Limits(CAP), "cpu")
    assert demo.run(Request(env["c"], [env["s1"]], LABEL, size=32)).random_weights


def test_discover_models(tmp_path):
    runs = tmp_path / "runs"
    for rel in (
        "a/model.safetensors",
        "a/checkpoints/step_000010/weights.safetensors",
        "a/checkpoints/.tmp_step_000020/weights.safetensors",
        "b/checkpoints/step_000005/optimizer.bin",
    ):
        (runs / rel).parent.mkdir(parents=True, exist_ok=True)
        (runs / rel).write_bytes(b"")
    assert discover_models([runs]) == {
        "runs/a/checkpoints/step_000010": str(runs / "a/checkpoints/step_000010"),
        "runs/a/model.safetensors": str(runs / "a/model.safetensors"),
    }
    assert discover_models([tmp_path / "nowhere"]) == {}  # the default runs/ before any training
    assert discover_models([tmp_path / "gone.safetensors"]) == {
        "gone.safetensors": str(tmp_path / "gone.safetensors")
    }
    # files given directly are told apart by their run's folder (issue 33: every run's release is
    # model.safetensors)
    two = discover_models([runs / "a/model.safetensors", runs / "b/model.safetensors"])
    assert list(two) == ["a/model.safetensors", "b/model.safetensors"]
    twice = discover_models([runs / "a/model.safetensors", tmp_path / "a/model.safetensors"])
    assert list(twice) == ["a/model.safetensors", "a/model.safetensors (2)"]


def test_uploads_and_results_stay_in_the_temp_folder(env):
    out = env["client"].predict(
        content=handle_file(env["c"]), style=handle_file(env["s1"]), api_name="/stylize"
    )
    temp = env["temp"].resolve()
    assert Path(os.environ["GRADIO_TEMP_DIR"]).resolve().parent == temp
    uploads = [p for p in temp.rglob("c.png")]
    assert uploads and all(p.read_bytes() == Path(env["c"]).read_bytes() for p in uploads)
    assert any(
        p.read_bytes() == Path(out).read_bytes() for p in (temp / "results").rglob("stylized.png")
    )


@contextmanager
def app_cli(root: Path, *flags: str) -> Iterator[dict]:
    """`python app.py --weights random --device cpu FLAGS` on a free loopback port, run in `root`;
    yields {"url", "temp": the temp folder it prints}; stopped with SIGTERM, as a Space stops it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = root / "cli.log"
    argv = [sys.executable, str(REPO / "app.py"), "--weights", "random", "--device", "cpu"]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*argv, "--port", str(port), *flags],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    try:
        url = f"http://127.0.0.1:{port}/"

        def answers() -> bool:  # importing torch and gradio on a busy 2-core machine takes a while
            if proc.poll() is not None:
                pytest.fail(f"app.py exited: {log.read_text()}")
            try:
                urllib.request.urlopen(url, timeout=HANG)
                return True
            except OSError:  # not listening yet
                return False

        wait_for(answers, f"app.py to answer at {url} (its output: {log})")
        # printed (flushed) before app.py starts serving
        yield dict(url=url, temp=Path(re.search(r"temp folder (\S+)", log.read_text())[1]))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_cli_serves_the_api_and_removes_its_temp_folder(env):
    with app_cli(env["root"], "--checkpoint", str(env["root"] / "runs"), "--max-size", "64") as cli:
        client = Client(cli["url"], verbose=False, download_files=str(env["root"] / "cli"))
        out = client.predict(
            content=handle_file(env["c"]),
            style=handle_file(env["s1"]),
            alpha=0.5,
            api_name="/stylize",
        )
        temp = cli["temp"]
        assert (
            Image.open(out).size == (64, 48) and temp.is_dir() and any(temp.rglob("stylized.png"))
        )
        client.close()
    assert not temp.exists(), "the temp folder outlived the app"
    log = (env["root"] / "cli.log").read_text()
    # gradio's "set `share=True` in `launch()`" names no flag of app.py; one line names the URL
    assert "share=True" not in log and f"serving {cli['url']}" in log, log
