"""Your own method as a plugin file outside the repo: registered by decorators, accepted by the \
config reader
and every entry point, recorded in runs and release files, refused in one line when broken or
missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from train_helpers import REPO, SMOKE, run_cli, tiny_overrides

import infer
import inference.api
import inference.flags
import train as train_script
from configs.plugins import load_plugins
from configs.read import load_config
from media.images import load_image
from models.registry import STYLE_LOSSES, TRANSFORMS
from weights.load import load_model

PLUGIN = Path(__file__).resolve().parent / "plugins" / "dummy_plugin.py"
NAMES = [
    "model.encoder.kind=tiny",
    "model.decoder.kind=tiny_up",
    "model.transform=swap_mean",
    "loss.style_loss=mean_l1",
    "loss.content_target=content",
]


@pytest.fixture(autouse=True)
def _unload_plugins():
    """The dummy plugin's names leave the registries after each test (other tests iterate them)."""
    yield
    from configs.plugins import forget_plugin, plugin_key

    forget_plugin(plugin_key(str(PLUGIN)))


def one_line(err: str) -> str:
    lines = [
        line
        for line in err.splitlines()
        if line.strip() and not line.startswith(("WARNING", "stylize"))
    ]
    assert len(lines) == 1, err
    return lines[0]


def test_each_kind_is_accepted_by_the_config_reader_and_the_clis(tmp_path):
    cfg = load_config(SMOKE, [f"plugins={PLUGIN}", *NAMES])
    assert (cfg.model.encoder.kind, cfg.model.decoder.kind) == ("tiny", "tiny_up")
    assert (cfg.model.transform, cfg.loss.style_loss, cfg.plugins) == (
        "swap_mean",
        "mean_l1",
        [str(PLUGIN)],
    )
    opts = inference.api.parse_args(
        [
            "--plugins",
            str(PLUGIN),
            "--checkpoint",
            "x",
            "--content",
            "c",
            "--style",
            "s",
            "--transform",
            "swap_mean",
            "--style-loss",
            "mean_l1",
        ]
    )
    assert opts.transform == "swap_mean" and opts.plugins == (str(PLUGIN),)
    help_text = inference.flags.build_parser().format_help()
    assert "swap_mean" in help_text  # the choices are the registered names
    args = train_script.parse_args(
        ["--config", str(SMOKE), "--plugins", str(PLUGIN), "model.transform=swap_mean"]
    )
    assert args.overrides == ["model.transform=swap_mean", f"plugins={PLUGIN}"]


def test_a_plugin_trains_resumes_and_runs_in_infer_and_eval(sample_root, tmp_path, capsys):
    from eval.evaluate import main as evaluate_main

    run = tmp_path / "run"
    assert (
        train_script.main(
            [
                "--config",
                str(SMOKE),
                "--run-dir",
                str(run),
                "--plugins",
                str(PLUGIN),
                *NAMES,
                *tiny_overrides(sample_root, **{"train.steps": 2}),
            ]
        )
        == 0
    )
    assert load_config(run / "config.yaml").plugins == [str(PLUGIN)]
    # a new process resumes from the run's config.yaml alone: the plugin is found there
    proc = run_cli(
        [
            "--config",
            str(run / "config.yaml"),
            "--run-dir",
            str(run),
            "--resume",
            "latest",
            "train.steps=4",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    release = run / "model.safetensors"
    with safe_open(str(release), "pt") as f:
        assert json.loads(f.metadata()["plugins"]) == {
            "transform:swap_mean": str(PLUGIN),
            "encoder:tiny": str(PLUGIN),
            "decoder:tiny_up": str(PLUGIN),
        }

    # inference with alpha: alpha * f(c, s) + (1 - alpha) * c in feature space, decoded
    content, style = (
        sorted((sample_root / "content" / "val").iterdir())[0],
        sorted((sample_root / "style" / "val").iterdir())[0],
    )
    out = tmp_path / "out"
    assert (
        infer.main(
            [
                "--plugins",
                str(PLUGIN),
                "--checkpoint",
                str(release),
                "--content",
                str(content),
                "--style",
                str(style),
                "--alpha",
                "0.5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    net = load_model(release)
    c, s = load_image(content)[None], load_image(style)[None]
    with torch.inference_mode():
        feat, style_feat = net.encode(c), net.encode(s)
        mixed = (
            0.5 * (feat - feat.mean((2, 3), keepdim=True) + style_feat.mean((2, 3), keepdim=True))
            + 0.5 * feat
        )
        expected = net.decode(mixed, c.shape[-2:])
    (written,) = out.glob("*.png")
    assert (load_image(written)[None] - expected).abs().max() <= 1 / 255 + 1e-6

    # without the plugin: one line naming the plugin file, in a new process
    proc = subprocess.run(
        [
            sys.executable,
            "infer.py",
            "--checkpoint",
            str(release),
            "--content",
            str(content),
            "--style",
            str(style),
            "--out",
            str(tmp_path / "none"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        proc.returncode == 2 and str(PLUGIN) in one_line(proc.stderr) and "--plugins" in proc.stderr
    )
    assert not (tmp_path / "none").exists()

    rows = evaluate_main(
        [
            "--plugins",
            str(PLUGIN),
            "--checkpoint",
            str(release),
            "--weights",
            "random",
            "--feature-net",
            "random",
            "--size",
            "32",
            "--out",
            str(tmp_path / "eval"),
            "--pairs",
            str(_pairs(tmp_path, content, style)),
        ]
    )
    assert rows[0]["kind"] == "checkpoint" and rows[0]["content_relu4_1"] >= 0


def _pairs(tmp_path: Path, content: Path, style: Path) -> Path:
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps([{"content": str(content), "style": str(style)}]))
    return path


def test_eval_variants_compares_plugin_variants(sample_root, tmp_path):
    from eval.variant_configs import variants
    from eval.variants import main as variants_main

    load_plugins([str(PLUGIN)])
    assert {"vgg_swap_mean_meanstd", "vgg_adain_mean_l1"} <= set(variants())
    out = tmp_path / "out"
    rows = variants_main(
        [
            "--out",
            str(out),
            "--plugins",
            str(PLUGIN),
            "--data-root",
            str(sample_root),
            "--steps",
            "2",
            "--set",
            "data.resize=36",
            "data.crop=32",
            "--eval-size",
            "32",
            "--baseline-steps",
            "1",
            "--variants",
            "vgg_swap_mean_meanstd",
        ]
    )
    assert [r["name"] for r in rows] == ["vgg_swap_mean_meanstd", "optimize"]
    assert (
        load_config(out / "configs" / "vgg_swap_mean_meanstd.yaml").model.transform == "swap_mean"
    )


@pytest.mark.parametrize(
    "body, words",
    [
        ("import not_a_module_anywhere\n", "failed to import: ModuleNotFoundError"),
        (
            "from models import register_transform\nregister_transform('adain')(lambda c, s: c)\n",
            "registered twice",
        ),
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ],
)
def test_a_broken_plugin_is_one_line(tmp_path, capsys, body, words):
    plugin = tmp_path / "broken.py"
    plugin.write_text(body)
    code = infer.main(
        [
            "--plugins",
            str(plugin),
            "--method",
            "optimize",
            "--content",
            "c.png",
            "--style",
            "s.png",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    line = one_line(capsys.readouterr().err)
    assert code == 2 and words in line and str(plugin) in line and "adain" in TRANSFORMS
    assert (
        infer.main(
            [
                "--plugins",
                str(tmp_path / "missing.py"),
                "--method",
                "optimize",
                "--content",
                "c",
                "--style",
                "s",
            ]
        )
        == 2
    )
    assert "missing.py does not exist" in one_line(capsys.readouterr().err)


def test_a_plain_function_transform_names_what_it_cannot_do(tmp_path, capsys):
    from models.net import StyleTransferNet
    from weights.release import save_release

    load_plugins([str(PLUGIN)])
    cfg = load_config(SMOKE, [f"plugins={PLUGIN}", "model.transform=swap_mean"])
    release = save_release(tmp_path / "m.safetensors", StyleTransferNet(cfg.model))
    image = tmp_path / "a.png"
    from media.images import save_image

    save_image(torch.rand(3, 40, 48), image)
    save_image(torch.rand(3, 40, 48), other := tmp_path / "b.png")
    base = [
        "--plugins",
        str(PLUGIN),
        "--checkpoint",
        str(release),
        "--content",
        str(image),
        "--out",
        str(tmp_path / "out"),
    ]
    assert infer.main([*base, "--style", str(image), str(other), "--style-weights", "1,1"]) == 2
    assert "transform 'swap_mean' has no mix: it cannot do style mixes" in one_line(
        capsys.readouterr().err
    )
    assert (
        infer.main([*base, "--style", str(image), "--tile-size", "16", "--tile-overlap", "8"]) == 0
    )  # per tile
    assert "mean_l1" in STYLE_LOSSES


def test_the_demo_serves_a_plugin_checkpoint(tmp_path):
    from gradio_client import Client, handle_file
    from test_app import app_cli

    from media.images import save_image
    from models.net import StyleTransferNet
    from weights.release import save_release

    load_plugins([str(PLUGIN)])
    cfg = load_config(SMOKE, [f"plugins={PLUGIN}", *NAMES])
    release = save_release(
        tmp_path / "runs" / "plugin" / "model.safetensors", StyleTransferNet(cfg.model)
    )
    save_image(torch.rand(3, 40, 48), image := tmp_path / "c.png")
    # app.py's output goes to a file: a pipe that nobody reads while it serves can fill and block it
    with app_cli(tmp_path, "--plugins", str(PLUGIN), "--checkpoint", str(release)) as server:
        client = Client(server["url"], verbose=False, download_files=str(tmp_path / "dl"))
        png = client.predict(
            content=handle_file(image),
            style=handle_file(image),
            alpha=0.5,
            size=40,
            api_name="/stylize",
        )
        client.close()
        assert load_image(png).shape == (3, 40, 48)
