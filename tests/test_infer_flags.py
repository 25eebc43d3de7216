"""infer.py flags checked by their effect: weights offline, --config + .pth, tiling, --style-size, \
precision, device."""

import urllib.error

import pytest
import torch
from conftest import vary_outputs
from test_infer_cli import _img

import infer
import inference.engine
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from media.images import load_image
from models.net import StyleTransferNet
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("flags")
    torch.manual_seed(0)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
    vary_outputs(net)
    torch.save(net.state_dict(), root / "full.pth")
    torch.save(net.decoder.state_dict(), root / "decoder.pth")
    return dict(
        root=root,
        net=net.eval(),
        ckpt=str(save_release(root / "vgg.safetensors", net)),
        c=str(_img(root / "c.png", 48, 64, 1)),
        s=str(_img(root / "s.png", 40, 40, 3)),
    )


def run(env, out, *extra, checkpoint=None, content=None):
    return infer.stylize(
        [
            "--checkpoint",
            checkpoint or env["ckpt"],
            "--content",
            content or env["c"],
            "--style",
            env["s"],
            "--out",
            str(env["root"] / out),
            "--weights",
            "random",
            *extra,
        ]
    )


def one_error(capsys, argv) -> str:
    assert infer.main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("WARNING")]
    assert len(err) == 1 and err[0].startswith("error:"), err
    return err[0]


@pytest.mark.parametrize("method", ["optimize", "decoder"])
def test_pretrained_offline_names_the_file(env, tmp_path, monkeypatch, capsys, method):
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))  # an empty cache: no real cached file can interfere

    # what torch.hub raises without a network, without ever downloading
    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    # decoder: a bare decoder .pth with a config whose encoder is pretrained VGG19 (not in the file)
    how = (
        ["--method", "optimize"]
        if method == "optimize"
        else [
            "--checkpoint",
            str(env["root"] / "decoder.pth"),
            "--config",
            "configs/vgg_adain_gram.yaml",
        ]
    )
    err = one_error(
        capsys,
        [
            *how,
            "--content",
            env["c"],
            "--style",
            env["s"],
            "--out",
            str(tmp_path / "o"),
            "--weights",
            "pretrained",
            "--steps",
            "1",
        ],
    )
    assert f"put the file at {home / 'hub' / 'checkpoints' / 'vgg19-dcbb9e9d.pth'}" in err, err


def test_config_with_plain_pth_matches_release(env, capsys):
    release = load_image(run(env, "rel")["written"][0])
    plain = run(
        env, "pth", "--config", "configs/smoke.yaml", checkpoint=str(env["root"] / "full.pth")
    )
    assert (load_image(plain["written"][0]) - release).abs().max() < 1 / 255
    capsys.readouterr()  # the two runs' progress bars (media/progress.py)
    err = one_error(
        capsys,
        [
            "--checkpoint",
            str(env["root"] / "full.pth"),
            "--content",
            env["c"],
            "--style",
            env["s"],
            "--out",
            str(env["root"] / "e"),
            "--weights",
            "random",
        ],
    )
    assert "full.pth carries no model config" in err and "--config" in err


def test_tile_flags_tile_and_match_untiled(env, monkeypatch):
    calls = []
    real = inference.engine.stylize_tiled
    monkeypatch.setattr(
        inference.engine, "stylize_tiled", lambda *a, **k: calls.append(a[-2:]) or real(*a, **k)
    )
    # tiles must be well above the receptive field
    big = str(_img(env["root"] / "big.png", 96, 160, 5))
    # 160 px < the default tile size 1024
    whole = load_image(run(env, "t0", content=big)["written"][0])
    assert not calls
    tiled = load_image(
        run(env, "t1", "--tile-size", "96", "--tile-overlap", "48", content=big)["written"][0]
    )
    assert calls == [(96, 48)]
    assert whole.std() > 0.05 and tiled.shape == whole.shape
    assert 10 * torch.log10(1 / ((tiled - whole) ** 2).mean()) > 30
    run(env, "t2", "--tile-size", "0", content=big)
    assert len(calls) == 1  # --tile-size 0: never tiled


def test_style_size_resizes_the_style(env):
    out = load_image(run(env, "ss", "--style-size", "16")["written"][0])
    c, s = load_image(env["c"])[None], load_image(env["s"], 16)[None]
    assert s.shape[-2:] == (16, 16)
    with torch.inference_mode():
        expected, full = env["net"](c, s)[0], env["net"](c, load_image(env["s"])[None])[0]
    assert (out - expected).abs().max() < 2 / 255
    assert (out - full).abs().mean() > 0.003  # the style size has an effect


def test_fp16_on_cpu_and_cuda_without_gpu_are_one_line_errors(env, capsys):
    base = [
        "--content",
        env["c"],
        "--style",
        env["s"],
        "--out",
        str(env["root"] / "p"),
        "--weights",
        "random",
    ]
    for how in (["--checkpoint", env["ckpt"]], ["--method", "optimize", "--steps", "1"]):
        assert "use --precision bf16" in one_error(
            capsys, [*how, *base, "--precision", "fp16", "--device", "cpu"]
        )
        if not torch.cuda.is_available():
            assert "--device cuda" in one_error(capsys, [*how, *base, "--device", "cuda"])
