"""ONNX export (python export.py --out) run by infer.py --backend onnxruntime equals the PyTorch
path within 1/255: VGG19 + mirror decoder (adain) and a timm ViT + transposed-conv decoder (efdm),
three content sizes (odd ones included), alpha < 1, a style mix with colour preservation, tiling;
the mean/std transforms as graphs; wct as host code. Bad input (a folder without weights, an ONNX
folder of another format version) is one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
from pathlib import Path

import numpy as np
import onnx as onnx_format
import pytest
import torch
from conftest import vgg_config, vit_config
from doc_blocks import block
from foreign_refs import read_png, write_png

import export
import infer
from models.net import StyleTransferNet
from weights.onnx_export import FORMAT_VERSION, export_transform
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")
LEVEL = 1 / 255 + 1e-6  # one 8-bit level: the PNGs of both backends may round a value apart
SIZES = [(37, 51), (29, 67), (48, 32)]  # (H, W)


def varied(cfg) -> StyleTransferNet:
    """A random network whose images vary (He init, zero bias): default init decodes grey."""
    torch.manual_seed(0)
    net = StyleTransferNet(cfg).eval()
    convs = [
        m
        for m in net.decoder.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    ]
    for m in convs:
        torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        torch.nn.init.zeros_(m.bias)
    convs[-1].weight.data *= 8  # past the output activation's flat middle
    return net


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("onnx_images")
    (folder / "contents").mkdir()
    for i, (h, w) in enumerate(SIZES):
        write_png(folder / "contents" / f"c{i}.png", h, w, i)
    write_png(folder / "style.png", 40, 40, 7)
    write_png(folder / "style2.png", 33, 45, 8)
    write_png(folder / "big.png", 80, 72, 9)
    return folder


PRINTED: dict[Path, str] = {}  # ONNX folder -> what export.py printed when it wrote it


def exported(tmp: Path, net: StyleTransferNet, name: str) -> tuple[Path, Path]:
    release = save_release(tmp / f"{name}.safetensors", net)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert export.main(["--checkpoint", str(release), "--out", str(tmp / f"{name}_onnx")]) == 0
    PRINTED[tmp / f"{name}_onnx"] = printed.getvalue()
    return release, tmp / f"{name}_onnx"


def both(tmp: Path, release: Path, onnx: Path, tag: str, *flags: str) -> None:
    """infer.py on both backends with `flags`: every written image pair within one 8-bit level."""
    outs = {}
    for backend, checkpoint in (("pytorch", release), ("onnxruntime", onnx)):
        summary = infer.stylize(
            [
                *flags,
                "--checkpoint",
                str(checkpoint),
                "--backend",
                backend,
                "--weights",
                "random",
                "--out",
                str(tmp / f"{tag}_{backend}"),
            ]
        )
        assert not summary["failed"] and summary["written"], summary
        outs[backend] = {Path(p).name: read_png(p) for p in summary["written"]}
    assert outs["pytorch"].keys() == outs["onnxruntime"].keys()
    for name, image in outs["pytorch"].items():
        assert image.std() > 0.02, name  # an image, not a flat grey that any backend matches
        assert (image - outs["onnxruntime"][name]).abs().max() <= LEVEL, name


@pytest.fixture(scope="module")
def vgg(tmp_path_factory) -> tuple[Path, Path]:
    """(release file, its ONNX folder) of a VGG19 + mirror decoder with adain: exported once (~30
    s).
    """
    return exported(tmp_path_factory.mktemp("vgg"), varied(vgg_config()), "vgg")


def test_vgg_mirror_adain_parity_sizes_alpha_mix_colour_tiling(images, vgg, tmp_path):
    release, onnx = vgg
    meta = json.loads((onnx / "onnx_model.json").read_text())
    assert meta["transform"]["graph"] and meta["opset"] >= 17 and meta["pad"]["multiple"] == 8
    both(
        tmp_path,
        release,
        onnx,
        "sizes",
        "--content",
        str(images / "contents"),
        "--style",
        str(images / "style.png"),
        "--alpha",
        "0.6,1",
    )
    both(
        tmp_path,
        release,
        onnx,
        "mix",
        "--content",
        str(images / "contents" / "c0.png"),
        "--style",
        str(images / "style.png"),
        str(images / "style2.png"),
        "--style-weights",
        "1,2",
        "--preserve-color",
        "luminance",
        "--alpha",
        "0.8",
    )
    both(
        tmp_path,
        release,
        onnx,
        "tiled",
        "--content",
        str(images / "big.png"),
        "--style",
        str(images / "style.png"),
        "--tile-size",
        "48",
        "--tile-overlap",
        "16",
    )


def test_vit_transposed_conv_efdm_parity_sizes_alpha(images, tmp_path):
    net = varied(dataclasses.replace(vit_config(), transform="efdm"))
    release, onnx = exported(tmp_path, net, "vit")
    meta = json.loads((onnx / "onnx_model.json").read_text())
    assert meta["transform"]["graph"] and meta["stride"] == 16  # efdm's stable sort as TopK
    # the decoder's InstanceNorms as infer.py runs them on the ViT's NHWC token map
    # (runtime/channels_last.py): statistics, not torch's InstanceNormalization
    ops = {node.op_type for node in onnx_format.load(onnx / "decoder.onnx").graph.node}
    assert "ReduceMean" in ops and "InstanceNormalization" not in ops
    both(
        tmp_path,
        release,
        onnx,
        "vit",
        "--content",
        str(images / "contents"),
        "--style",
        str(images / "style.png"),
        "--alpha",
        "0.5,1",
    )


PLUGIN = Path(__file__).resolve().parent / "plugins" / "dummy_plugin.py"


# adain, efdm: the whole-network tests above
@pytest.mark.parametrize("name", ["mean", "std", "swap_mean"])
def test_transform_graphs_match_the_registry_at_three_sizes(name, tmp_path):
    """mean and std, and a plugin's plain function (swap_mean: its statistics are the style's
    features).
    """
    import onnxruntime as ort

    from configs.plugins import load_plugins

    load_plugins([str(PLUGIN)])
    net = StyleTransferNet(dataclasses.replace(vgg_config(), transform=name)).eval()
    feat, feat2 = torch.relu(torch.randn(2, 512, 5, 7)), torch.relu(torch.randn(1, 512, 3, 5))
    info = export_transform(net, tmp_path, feat, feat2)
    assert info["graph"], info
    stats_graph = ort.InferenceSession(str(tmp_path / "style_stats.onnx"))
    transform_graph = ort.InferenceSession(str(tmp_path / "transform.onnx"))
    style = torch.relu(torch.randn(1, 512, 4, 6))
    stats = stats_graph.run(None, {"features": style.numpy()})
    for h, w in [(3, 3), (7, 5), (6, 9)]:
        content = torch.relu(torch.randn(1, 512, h, w))
        with torch.no_grad():
            want = net.transfer(content, [net.style_stats(style)], alpha=0.4)
        feeds = {
            "features": content.numpy(),
            "alpha": np.array(0.4, np.float32),
            **dict(zip(info["stats"], stats)),
        }
        got = transform_graph.run(None, feeds)[0]
        assert np.abs(got - want.numpy()).max() <= 1e-4 * max(1.0, float(want.abs().max()))


def test_wct_is_host_code_and_says_so(tmp_path, images, vgg):
    net = StyleTransferNet(dataclasses.replace(vgg_config(), transform="wct")).eval()
    info = export_transform(net, tmp_path, torch.rand(2, 512, 5, 7), torch.rand(1, 512, 3, 5))
    assert (
        not info["graph"] and "eigendecomposition" in info["host"] and not list(tmp_path.iterdir())
    )
    # the backend's host path: the vgg export's encoder/decoder graphs, the transform described as
    # export_onnx describes wct (exporting the same graphs again would cost ~30 s)
    release, onnx = vgg
    wct = tmp_path / "wct_onnx"
    shutil.copytree(onnx, wct, ignore=shutil.ignore_patterns("style_stats.onnx", "transform.onnx"))
    meta = json.loads((wct / "onnx_model.json").read_text())
    (wct / "onnx_model.json").write_text(json.dumps({**meta, "transform": info}))
    pytorch = save_release(tmp_path / "wct.safetensors", _with_transform(release, "wct"))
    both(
        tmp_path,
        pytorch,
        wct,
        "wct",
        "--content",
        str(images / "contents" / "c1.png"),
        "--style",
        str(images / "style.png"),
        "--alpha",
        "0.7",
    )


def _with_transform(release: Path, name: str) -> StyleTransferNet:
    from weights.load import load_model

    net = load_model(release)
    net.cfg = dataclasses.replace(net.cfg, transform=name)
    return net


def _one_line(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_bad_inputs_are_one_line_and_write_nothing(images, vgg, tmp_path, capsys):
    empty = tmp_path / "no_weights"
    empty.mkdir()
    assert export.main(["--checkpoint", str(empty), "--out", str(tmp_path / "o1")]) == 2
    err = _one_line(capsys)
    assert len(err) == 1 and str(empty) in err[0] and "model.safetensors" in err[0], err
    assert not (tmp_path / "o1").exists()
    onnx = vgg[1]
    old = tmp_path / "old_onnx"
    shutil.copytree(onnx, old)
    meta = json.loads((old / "onnx_model.json").read_text())
    (old / "onnx_model.json").write_text(json.dumps({**meta, "format_version": FORMAT_VERSION + 1}))
    args = ["--content", str(images / "contents" / "c0.png"), "--style", str(images / "style.png")]
    assert (
        infer.main(
            [
                *args,
                "--checkpoint",
                str(old),
                "--backend",
                "onnxruntime",
                "--out",
                str(tmp_path / "o2"),
            ]
        )
        == 2
    )
    err = _one_line(capsys)
    assert (
        len(err) == 1 and f"version {FORMAT_VERSION + 1}" in err[0] and "export it again" in err[0]
    ), err
    # pytorch backend
    assert infer.main([*args, "--checkpoint", str(onnx), "--out", str(tmp_path / "o3")]) == 2
    err = _one_line(capsys)
    assert len(err) == 1 and "--backend onnxruntime" in err[0], err
    assert not any((tmp_path / o).exists() for o in ("o2", "o3"))


def test_readme_example_runs_without_torch_and_matches_the_backend(images, vgg, tmp_path):
    import subprocess
    import sys

    code = block("onnx-example")  # docs/export.md
    assert 15 <= len(code.strip().splitlines()) <= 40
    (tmp_path / "stylize.py").write_text(code)
    blocker = tmp_path / "no_torch" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('torch is blocked in this test')\n")
    content, style = images / "contents" / "c0.png", images / "style.png"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(blocker.parent), "OMP_NUM_THREADS": "1"}
    check = subprocess.run(
        [sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True
    )
    assert check.returncode != 0 and "blocked" in check.stderr  # the process really has no torch
    proc = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "stylize.py"),
            str(vgg[1]),
            str(content),
            str(style),
            str(tmp_path / "example.png"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = infer.stylize(
        [
            "--content",
            str(content),
            "--style",
            str(style),
            "--checkpoint",
            str(vgg[1]),
            "--backend",
            "onnxruntime",
            "--out",
            str(tmp_path / "backend"),
        ]
    )
    ours, theirs = read_png(tmp_path / "example.png"), read_png(summary["written"][0])
    assert ours.shape == theirs.shape and ours.std() > 0.02 and (ours - theirs).abs().max() <= LEVEL


def test_the_demo_finds_and_runs_an_onnx_folder(images, vgg, tmp_path):
    """app.py --checkpoint FOLDER lists ONNX exports beside release files; onnxruntime runs them."""
    from demo.picker import discover_models
    from demo.state import Demo, Limits, Request

    release, onnx = vgg
    listed = discover_models([onnx.parent])
    assert str(onnx) in listed.values() and str(release) in listed.values()
    models = {"onnx": str(onnx), "torch": str(release)}
    demo = Demo(models, tmp_path / "r", "random", Limits(256), "cpu")
    content, style = str(images / "contents" / "c0.png"), str(images / "style.png")
    request = Request(content, [style], "onnx", alpha=0.6, size=37)
    assert demo.options(request).backend == "onnxruntime"
    theirs = demo.run(request).image
    ours = demo.run(Request(content, [style], "torch", alpha=0.6, size=37)).image
    assert ours.shape == theirs.shape and (ours - theirs).abs().max() <= 1e-4


def test_export_lists_every_file_it_wrote_and_none_is_empty(vgg):
    """Copying the files export.py names gives a working folder: no file unnamed (an .onnx's
    .data holds its weights), no 0-byte .data file beside a graph without weights."""
    onnx = vgg[1]
    written = sorted(p for p in onnx.iterdir())
    assert any(p.name.endswith(".onnx.data") for p in written), written
    for p in written:
        assert f"{p.name} (" in PRINTED[onnx], (p.name, PRINTED[onnx])
        assert p.stat().st_size > 0, p.name


def test_onnxruntime_backend_warns_of_random_weights(images, vgg, tmp_path, capsys):
    """The export of a random-encoder release is as random as the release: the same WARNING as
    infer.py's PyTorch path, without --weights random (the reason is copied into
    onnx_model.json)."""
    release, onnx = vgg
    for backend, checkpoint in (("pytorch", release), ("onnxruntime", onnx)):
        code = infer.main(
            [
                *("--checkpoint", str(checkpoint), "--backend", backend),
                *("--content", str(images / "contents" / "c0.png")),
                *("--style", str(images / "style.png"), "--out", str(tmp_path / backend)),
            ]
        )
        err = capsys.readouterr().err
        assert code == 0, err
        assert "random-weight encoder" in err and "NOT meaningful" in err, (backend, err)


def test_hub_card_of_random_weights_says_so_and_names_the_folder(vgg, tmp_path, capsys):
    hub = tmp_path / "smoke_hub"
    assert export.main(["--checkpoint", str(vgg[0]), "--hub", str(hub)]) == 0
    out = capsys.readouterr().out
    for name in ("model.safetensors", "README.md"):
        assert f"{name} (" in out, out
    card = (hub / "README.md").read_text()
    title = next(line for line in card.splitlines() if line.startswith("# "))
    assert title.startswith("# smoke_hub: ") and "RANDOM WEIGHTS" in title, title
    assert "random-weight encoder" in card and "random-weights" in card
