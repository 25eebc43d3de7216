"""The demo served to strangers, through gradio_client on loopback: limits, time budget, cancel,
disconnect, pixel budget, non-finite numbers, wrong types, unknown choices, no server path, the
default model.

One in-process server per module (random-weight VGG decoders, tiny images, small limits). No test
here reads the wall clock: the time limit runs on a clock that only the layers advance, a request to
stop waits for the computation to be under way (an event, not a sleep), and "it stopped" is the
computing thread's end, not a CPU measurement over a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from test_app import HANG, REPO, app_cli, bomb, picture, release  # noqa: E402

import infer  # noqa: E402
from demo.limits import Budget  # noqa: E402
from demo.page import build_app, example_pairs, serve  # noqa: E402
from demo.picker import discover_models  # noqa: E402
from demo.state import OPTIMIZE, RANDOM_BANNER, Cancelled, Demo, Limits, OutOfTime  # noqa: E402
from demo.web import make_temp_root  # noqa: E402
from weights.checkpoint import STEP_WEIGHTS  # noqa: E402
from weights.random_check import random_weights  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
LIMITS = Limits(
    max_size=64, max_steps=400, max_scales=2, max_styles=2, max_megapixels=1.0, time_limit=60
)
NEWEST = "runs/b_new/model.safetensors"
LONG_OPTIMIZATION = dict(model=OPTIMIZE, steps=400, size=64)  # ~20 s of one core: cancelled early


@pytest.fixture(scope="module")
def srv(tmp_path_factory, one_thread, sample_root):
    root = tmp_path_factory.mktemp("limits")
    now = time.time()
    files = {
        "runs/a_old/model.safetensors": now - 300,
        "runs/a_old/checkpoints/step_000004": now - 50,
        NEWEST: now - 100,
        "runs/c_broken.safetensors": now,
    }  # newest of all: broken
    release(root / "runs/a_old/model.safetensors")
    release(root / "runs/a_old/checkpoints/step_000004" / STEP_WEIGHTS)
    release(root / NEWEST)
    (root / "runs/c_broken.safetensors").write_bytes(b"not a safetensors file")
    for rel, mtime in files.items():
        os.utime(root / rel, (mtime, mtime))
    temp = make_temp_root()
    demo = Demo(discover_models([root / "runs"]), temp / "results", "random", LIMITS, "cpu")
    page = build_app(demo, example_pairs(sample_root))
    url = serve(page, port=None, block=False)
    client = Client(url, verbose=False, download_files=str(root / "downloads"))
    yield dict(
        root=root,
        url=url,
        demo=demo,
        client=client,
        temp=temp,
        sample=sample_root,
        c=picture(root / "c.png", 48, 64, 1),
        s=picture(root / "s.png", 40, 40, 3),
    )
    client.close()
    page.close()


def call(srv, **kwargs):
    args = dict(content=handle_file(srv["c"]), style=handle_file(srv["s"]))
    return srv["client"].predict(**{**args, **kwargs}, api_name="/stylize")


def refused(srv, **kwargs) -> str:
    with pytest.raises(AppError) as err:
        call(srv, **kwargs)
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message and "internal error" not in message
    return message


@pytest.fixture
def runs(srv, monkeypatch):
    """Records each Demo.run: its exception (None: it returned) and the thread that ran it;
    `ended` is set when one ends."""
    runs = SimpleNamespace(errors=[], threads=[], ended=threading.Event())
    run = srv["demo"].run

    def recorded(*args, **kwargs):
        runs.threads.append(threading.current_thread())
        error = None
        try:
            return run(*args, **kwargs)
        except Exception as err:
            error = err
            raise
        finally:
            runs.errors.append(error)
            runs.ended.set()

    monkeypatch.setattr(srv["demo"], "run", recorded)
    return runs


def held_at_first_layer(monkeypatch) -> threading.Event:
    """From now on, the next request's first layer waits until the request is stopped, then runs
    its budget check (demo/limits.py: one before every layer). The request is then under
    way when the returned event is set, and can only end by being stopped: no sleep decides either.
    """
    under_way, check = threading.Event(), Budget.check

    def held(budget: Budget) -> None:
        if not under_way.is_set():
            under_way.set()
            budget.cancel_flag.wait(HANG)  # a hang, not a slow machine, ends this wait unstopped
        check(budget)

    monkeypatch.setattr(Budget, "check", held)
    return under_way


def stopped(runs, why: str) -> None:
    """The last run ended with Cancelled(why...) and its thread is gone: nothing computes on."""
    assert runs.ended.wait(HANG), "the stopped request did not end"
    assert isinstance(runs.errors[-1], Cancelled) and why in str(runs.errors[-1]), runs.errors
    runs.threads[-1].join(HANG)
    assert not runs.threads[-1].is_alive(), "the stopped request's thread kept computing"


def test_default_is_the_newest_loadable_release_file_and_the_api_shows_the_limits(srv):
    info = srv["client"].view_api(print_info=False, return_format="dict")
    info = info["named_endpoints"]["/stylize"]
    params = {p["parameter_name"]: p for p in info["parameters"]}
    assert params["model"]["parameter_default"] == NEWEST  # not a_old (first), c_broken (newest)
    assert LIMITS.describe() in info["description"]  # what view_api() prints


@pytest.mark.parametrize(
    "kwargs,flag",
    [
        (dict(model=OPTIMIZE, steps=401), "--max-steps"),
        (dict(size=65), "--max-size"),
        (dict(model=OPTIMIZE, scales="16,24,32"), "--max-scales"),
        (dict(style_weights="1,1,1"), "--max-styles"),
    ],
)
def test_a_request_over_a_limit_is_one_line_naming_it(srv, kwargs, flag):
    if flag == "--max-styles":
        kwargs["more_styles"] = [handle_file(srv["s"]), handle_file(srv["c"])]
    message = refused(srv, **kwargs)
    assert f"(app.py {flag})" in message and "over this server's limit" in message


def test_time_limit_stops_a_decoder_request_and_the_next_one_is_served(srv, runs, monkeypatch):
    """On a clock that only the convs advance, 1/8 s each: 4 of them use the 0.5 s limit up, the
    5th starts at it, and the check before the next layer stops the ~20-conv pass."""
    clock, convs, forward = [0.0], [], torch.nn.Conv2d.forward

    def timed(self, x):
        convs.append(clock[0])
        clock[0] += 0.125
        return forward(self, x)

    monkeypatch.setattr("demo.limits.time", SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(torch.nn.Conv2d, "forward", timed)
    monkeypatch.setattr(srv["demo"], "limits", Limits(**{**LIMITS.__dict__, "time_limit": 0.5}))
    message = refused(srv)
    assert "time limit" in message and "--time-limit" in message
    assert isinstance(runs.errors[-1], OutOfTime) and len(convs) == 5, convs
    monkeypatch.undo()
    assert Image.open(call(srv)).size == (64, 48)


@pytest.mark.parametrize("model", [OPTIMIZE, NEWEST])
def test_cancelled_api_job_stops_its_computation(srv, runs, monkeypatch, model):
    kwargs = LONG_OPTIMIZATION if model == OPTIMIZE else {}
    call(srv, **{**kwargs, "steps": 1})  # the model is built (a build has no check point), cached
    runs.ended.clear()
    under_way = held_at_first_layer(monkeypatch)
    job = srv["client"].submit(
        content=handle_file(srv["c"]), style=handle_file(srv["s"]), **kwargs, api_name="/stylize"
    )
    assert under_way.wait(HANG)
    job.cancel()
    stopped(runs, "cancelled")
    monkeypatch.undo()
    assert Image.open(call(srv)).size == (64, 48)


def test_a_client_that_goes_away_stops_its_computation(srv, runs, monkeypatch):
    call(srv, model=OPTIMIZE, steps=1, size=16)  # the model is built and cached
    runs.ended.clear()
    under_way = held_at_first_layer(monkeypatch)
    # the client says when its event stream is open (it has read "process_starts" from it): a
    # client that went away before opening it leaves the server nothing that closes
    script = """import sys, time
from gradio_client import Client, handle_file
from gradio_client.utils import Status
c = Client(sys.argv[1], verbose=False)
job = c.submit(content=handle_file(sys.argv[2]), style=handle_file(sys.argv[2]),
               model="optimize", steps=400, size=64, api_name="/stylize")
while job.status().code != Status.PROCESSING:
    time.sleep(0.05)
print("streaming", flush=True)
sys.stdin.read()
"""
    child = subprocess.Popen(
        [sys.executable, "-c", script, srv["url"], srv["c"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "streaming\n"  # or "": the client failed (see stderr)
        assert under_way.wait(HANG)
    finally:
        child.kill()
        child.wait()
    stopped(runs, "went away")


def huge_png(path: Path, side: int) -> str:
    """A PNG whose header declares side x side px, written in microseconds (its pixels: a stub)."""
    bomb(path)
    data = bytearray(path.read_bytes())
    import struct
    import zlib

    data[16:24] = struct.pack(">II", side, side)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return str(path)


def test_header_declared_huge_png_is_refused_before_decoding(srv):
    path = huge_png(srv["root"] / "huge.png", 13000)
    message = refused(srv, content=handle_file(path))
    # decoding the stub would fail as "truncated": this message comes from the header alone
    assert "13000x13000 px (169 MP) is over the pixel budget of 1 MP" in message
    code = (
        "import sys; from media.images import read_image; read_image(sys.argv[1], max_pixels=None)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, path],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert "decompression bomb" in out.stderr  # Pillow's warning is an error, not a log line


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(style_weights="nan,1", more_styles=True), "style_weights must be a finite number"),
        (dict(style_weights="inf,1", more_styles=True), "style_weights must be a finite number"),
        (
            dict(style_weights="1e308,1e308", more_styles=True),
            "style_weights must lie in [0, 1e+06]",
        ),
        (dict(model=OPTIMIZE, style_weight=1e308), "style_weight must lie in [0, 1e+12]"),
        (dict(alpha="nan"), "alpha must be a finite number"),
        (dict(alpha=[1, 2]), "alpha must be a number"),
        (dict(model=OPTIMIZE, style_weight="abc"), "style_weight must be a number"),
        (dict(size="abc"), "size must be a whole number"),
        (dict(steps="1e9"), "over this server's limit"),
        (dict(size=15), "size must be >= 16, got 15"),
        (dict(size=None), "size must be a whole number"),
        (dict(preserve_color="foo"), "preserve_color must be one of none, luminance, covariance"),
        (dict(preserve_color="../../etc"), "preserve_color must be one of"),
        (dict(model=["a"]), "unknown model"),
        (dict(precision="fp64"), "not available on this device"),
    ],
)
def test_bad_values_get_the_demos_one_line_message_and_no_traceback(srv, capfd, kwargs, message):
    if kwargs.pop("more_styles", False):
        kwargs["more_styles"] = [handle_file(srv["c"])]
    capfd.readouterr()
    assert message in refused(srv, **kwargs)
    assert "Traceback" not in "".join(capfd.readouterr())


def test_scales_none_is_no_scales_and_min_side_holds_after_resizing(srv):
    assert Image.open(call(srv, model=OPTIMIZE, steps=1, size=32, scales=None)).size == (43, 32)
    strip = srv["root"] / "strip.png"
    Image.new("RGB", (640, 20), "gray").save(strip)
    message = refused(srv, content=handle_file(str(strip)), size=32)
    assert "content is 640x20 px, 64x2 after resizing; it needs at least 16 px" in message


# fields that hold a file's path or URL, a model's label or a parameter's default
PATH_FIELDS = {"path", "url", "value", "default", "parameter_default", "choices", "orig_name"}
# an absolute POSIX path at the start of a field, or after `file=` in a URL
ABSOLUTE = re.compile(r"(?:^|=)/(?!gradio_api/)[^/\s]+/")


def path_fields(data, key: str | None = None) -> Iterator[str]:
    """Every string of the JSON `data` under a path-like field (list items under their list's
    field); an absolute URL from its path on, without the leading slash (a path on the URL's
    host, not a server file: only what follows `file=` is); `data:` URLs hold no path."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from path_fields(v, k)
    elif isinstance(data, list):
        for v in data:
            yield from path_fields(v, key)
    elif isinstance(data, str) and key in PATH_FIELDS and not data.startswith("data:"):
        yield re.sub(r"^[a-z]+://[^/]*/?", "", data)


def test_checkpoint_errors_name_the_label_not_the_path(srv):
    message = refused(srv, model="runs/c_broken.safetensors")
    assert "runs/c_broken.safetensors" in message and "not a readable safetensors file" in message
    for secret in (str(srv["root"]), str(srv["root"].resolve()), str(srv["temp"]), os.getcwd()):
        assert secret not in message


def test_config_and_api_info_name_no_server_path(srv, tmp_path):
    """`python app.py` with absolute --checkpoint paths (a folder and a file) and an absolute
    --examples folder: /config and /gradio_api/info name no folder of the server's (its temp
    folder, working folder, home, the repository, the checkpoints', the examples'); the examples
    show."""
    single = tmp_path / "elsewhere" / "model.safetensors"  # the newest: the default model
    release(single)
    work, sample = tmp_path / "work", srv["sample"].resolve()
    work.mkdir()
    flags = ["--checkpoint", str(srv["root"].resolve() / "runs"), str(single.resolve())]
    with app_cli(work, *flags, "--examples", str(sample), "--max-size", "64") as cli:
        pages = [
            urllib.request.urlopen(cli["url"] + p).read().decode()
            for p in ("config", "gradio_api/info")
        ]
    config, info = map(json.loads, pages)
    dataset = next(c for c in config["components"] if c["type"] == "dataset")
    samples = dataset["props"]["samples"]
    assert len(samples) == len(example_pairs(sample)) == 4
    assert all(cell["url"].startswith("data:image/jpeg;base64,") for row in samples for cell in row)
    params = info["named_endpoints"]["/stylize"]["parameters"]
    assert next(p for p in params if p["parameter_name"] == "model")["parameter_default"] == (
        "elsewhere/model.safetensors"
    )
    fields = [*path_fields(config), *path_fields(info)]
    assert "runs/a_old/model.safetensors" in fields and len(fields) > 30
    assert not [f for f in fields if ABSOLUTE.search(f)]
    secrets = {
        str(cli["temp"]),
        tempfile.gettempdir() + "/",
        str(work),
        str(Path.home()) + "/",
        str(REPO),
        str(srv["root"].resolve()),
        str(single.parent.resolve()),
        str(sample),
    }
    for page in pages:
        text = re.sub(r'data:image/[^"]*', "", page)  # base64 may spell anything
        assert not [s for s in secrets if s in text]


def test_gradio_upload_leftovers_are_cleaned(srv, monkeypatch):
    monkeypatch.setattr("demo.web.UPLOAD_LEFTOVER_TTL", 0)
    call(srv)
    folder = Path(os.environ["GRADIO_TEMP_DIR"])
    assert folder.is_relative_to(srv["temp"])
    assert not [p for p in folder.glob("tmp*") if p.is_file() and p.stat().st_size == 0]


def test_random_weight_checkpoint_gets_the_banner_and_infer_warns(srv, tmp_path, capsys):
    ckpt = srv["demo"].models[NEWEST]  # its config says encoder.pretrained: false
    demo = Demo({NEWEST: ckpt}, tmp_path / "r", "pretrained", LIMITS, "cpu")
    page = build_app(demo, [])
    banner = next(c for c in page.config["components"] if c["props"].get("elem_id") == "banner")
    assert banner["props"]["visible"] and RANDOM_BANNER in banner["props"]["value"]
    infer.stylize(
        ["--checkpoint", ckpt, "--content", srv["c"], "--style", srv["s"], "--out", str(tmp_path)]
    )
    assert "model.safetensors holds a random-weight encoder" in capsys.readouterr().err
    loss = tmp_path / "loss.safetensors"  # a pretrained encoder, trained on a random loss network
    meta = {
        "model_config": json.dumps({"encoder": {"pretrained": True}}),
        "loss_config": json.dumps({"loss_net_pretrained": False, "loss_net_weights_file": ""}),
    }
    save_file({"x": torch.zeros(1)}, str(loss), metadata=meta)
    assert "random-weight loss network" in random_weights(loss)


@pytest.mark.parametrize(
    "flags,message",
    [
        (
            ["--method", "optimize", "--style-weight", "nan"],
            "--style-weight must be a finite number",
        ),
        (["--method", "optimize", "--style-weights", "1e308,1"], "--style-weights must lie in"),
        (["--method", "optimize", "--steps", "1.5"], "value must be a whole number"),
        (["--checkpoint", "x.safetensors", "--alpha", "inf"], "value must be a finite number"),
    ],
)
def test_infer_checks_numbers_in_the_same_place(srv, tmp_path, capsys, flags, message):
    argv = ["--content", srv["c"], "--style", srv["s"], "--out", str(tmp_path), *flags]
    try:
        code = infer.main(argv)
    except SystemExit as exit_:  # a flag's own type check: argparse's exit
        code = exit_.code
    assert code == 2 and message in capsys.readouterr().err and not list(tmp_path.iterdir())
