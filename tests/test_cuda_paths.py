"""CUDA paths checked on a CPU-only machine: devices asserted explicitly, CUDA's capability queries
monkeypatched (a T4 is compute capability 7.5), and the `meta` device standing in for a second
device where tensors must follow the model."""

import dataclasses

import numpy as np
import pytest
import torch
from conftest import vgg_config
from PIL import Image

import infer
import inference.api
import inference.flags
from bench.cases import precisions as bench_precisions
from demo.state import Demo, DemoError, Request
from inference.optimize import optimize
from inference.options import InferError, InferOptions
from models.gatys import OptimizeOptions
from models.net import StyleTransferNet
from runtime.device import native_bf16, precision_choices, precision_warning, resolve_device
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")
CUDA = torch.device("cuda")


@pytest.fixture
def fake_gpus(monkeypatch):
    """torch sees two CUDA GPUs of the capability the returned function sets (default: T4s)."""
    capability = {"value": (7, 5)}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # counts emulation
    monkeypatch.setattr(
        torch.cuda, "get_device_capability", lambda device=None: capability["value"]
    )
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    return lambda value: capability.update(value=value)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cuda_paths")
    torch.manual_seed(0)
    ckpt = save_release(root / "m.safetensors", StyleTransferNet(vgg_config()))
    rng = np.random.default_rng(0)
    for name in ("c", "s"):
        Image.fromarray(rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)).save(
            root / f"{name}.png"
        )
    return dict(root=root, ckpt=str(ckpt))


# ---- 1. statistics files follow the engine's device
def test_saved_style_statistics_reach_the_net_on_its_device(world, monkeypatch):
    stats = world["root"] / "style.safetensors"
    common = [
        "--checkpoint",
        world["ckpt"],
        "--content",
        str(world["root"] / "c.png"),
        "--overwrite",
    ]
    infer.stylize(
        [
            *common,
            "--style-domain",
            str(world["root"]),
            "--save-style",
            str(stats),
            "--out",
            str(world["root"] / "domain"),
        ]
    )
    seen = []

    # records, then stops: meta tensors hold no pixels
    def spy(net, content_feat, styles, **kwargs):
        seen.extend((content_feat.device.type, t.device.type) for s in styles for t in s)
        raise RuntimeError("stop")

    monkeypatch.setattr(StyleTransferNet, "stylize_features", spy)
    summary = infer.stylize(
        [*common, "--style", str(stats), "--device", "meta", "--out", str(world["root"] / "meta")]
    )
    assert summary["failed"] and "stop" in summary["failed"][0]["error"]
    assert seen and all(pair == ("meta", "meta") for pair in seen), seen


# ---- 3. bf16 is native on compute capability >= 8 only
def test_bf16_on_a_t4_is_emulated_and_the_advice_is_fp16(fake_gpus):
    assert not native_bf16(CUDA)
    warning = precision_warning(CUDA, "bf16")
    assert "Tesla T4" in warning and "7.5" in warning and "use fp16" in warning
    assert precision_warning(CUDA, "fp16") is None
    fake_gpus((8, 0))  # A100, L4, RTX 30xx and later
    assert native_bf16(CUDA) and precision_warning(CUDA, "bf16") is None


def test_demo_and_benchmark_offer_bf16_only_where_native(fake_gpus, tmp_path):
    demo = Demo([], tmp_path, "random", device="cuda")
    assert demo.precisions == precision_choices(CUDA) == bench_precisions(CUDA) == ["fp32", "fp16"]
    with pytest.raises(DemoError, match="bf16: .*use fp16"):
        demo.options(Request(str(tmp_path / "c.png"), [str(tmp_path / "s.png")], precision="bf16"))
    fake_gpus((9, 0))
    assert Demo([], tmp_path, "random", device="cuda").precisions == ["fp32", "fp16", "bf16"]


# ---- 9. any torch device string, validated in one line
def test_device_strings_are_torch_devices(fake_gpus):
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert (
        inference.api.parse_args(["--content", "c", "--style", "s", "--device", "cuda:1"]).device
        == "cuda:1"
    )
    for bad, message in (("cuda:2", "sees 2 CUDA GPU"), ("gpu0", "not a torch device")):
        with pytest.raises(ValueError, match=message) as err:
            resolve_device(bad)
        assert "\n" not in str(err.value)


def test_cuda_device_without_a_gpu_is_a_one_line_error(world, capsys):
    rc = infer.main(
        [
            "--checkpoint",
            world["ckpt"],
            "--content",
            str(world["root"] / "c.png"),
            "--style",
            str(world["root"] / "s.png"),
            "--out",
            str(world["root"] / "o"),
            "--device",
            "cuda:1",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error: --device cuda:1") and "no CUDA GPU" in err[-1]


def test_app_accepts_device_strings_and_rejects_bad_ones_in_one_line(capsys):
    app = pytest.importorskip("app")
    assert app.build_parser().parse_args(["--device", "cuda:1"]).device == "cuda:1"
    with pytest.raises(SystemExit) as exit_:
        app.main(["--device", "gpu0", "--checkpoint", "nowhere"])
    assert exit_.value.code == 2 and "not a torch device" in capsys.readouterr().err


# ---- 6. the optimization runs in fp32 or bf16
def test_optimization_refuses_fp16_in_options_and_in_models_gatys(world):
    opts = InferOptions(content=("c",), style=("s",), method="optimize", precision="fp16")
    with pytest.raises(InferError, match="fp16 .*underflow.*bf16"):
        opts.validate()
    dataclasses.replace(opts, precision="bf16").validate()
    image = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="underflow"):
        optimize(torch.nn.Identity(), image, [image], OptimizeOptions(precision="fp16"))
    assert "--method optimize runs in fp32 or bf16" in " ".join(
        inference.flags.build_parser().format_help().split()
    )
