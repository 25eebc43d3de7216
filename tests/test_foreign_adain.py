"""pytorch-AdaIN's released files (vgg_normalised.pth + decoder.pth) give test.py's images through \
infer.py and
through a converted release: alpha, interpolation weights, and a content whose sides are not
multiples of 8.

The files are written by tests/foreign_refs.py's re-implementation of that code, with random weights
scaled like the release's (random_adain_release).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from foreign_refs import adain_test_py, quantized, random_adain_release, read_png, write_png
from safetensors import safe_open

import infer
from configs.read import load_config
from models.vgg import VGG19Features
from weights.convert import convert
from weights.load import load_model

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]
# one 8-bit level; the float difference is 2e-4 here (biased vs unbiased variance: docs/weights.md)
TOL = 4e-3


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(vgg, decoder, folder with vgg_normalised.pth, decoder.pth, content.png 61x45, styles 48x64
    and 64x64)."""
    folder = tmp_path_factory.mktemp("adain_release")
    vgg, decoder = random_adain_release()
    torch.save(vgg.state_dict(), folder / "vgg_normalised.pth")
    torch.save(decoder.state_dict(), folder / "decoder.pth")
    # test.py's output is 64 x 48 here (ceil-mode pools)
    write_png(folder / "content.png", 61, 45, 1)
    write_png(folder / "style_a.png", 48, 64, 2)
    write_png(folder / "style_b.png", 48, 64, 3)
    write_png(folder / "style.png", 64, 64, 4)
    return vgg, decoder, folder


def run_infer(folder: Path, out: str, styles: list[str], *flags: str) -> torch.Tensor:
    summary = infer.stylize(
        [
            "--content",
            str(folder / "content.png"),
            "--style",
            *[str(folder / s) for s in styles],
            "--out",
            str(folder / out),
            "--device",
            "cpu",
            "--overwrite",
            *flags,
        ]
    )
    assert not summary["failed"] and len(summary["written"]) == 1
    return read_png(summary["written"][0])


def expected(
    release, styles: list[str], alpha: float = 1.0, weights: list[float] | None = None
) -> torch.Tensor:
    vgg, decoder, folder = release
    content = read_png(folder / "content.png")
    image = adain_test_py(
        vgg, decoder, content, [read_png(folder / s) for s in styles], alpha, weights
    )
    inside = (image == image.clamp(0.001, 0.999)).float().mean()
    # an image, mostly unclamped
    assert image.shape[-2:] == (64, 48) and image.std() > 0.05 and inside > 0.9
    # test.py's image over the content
    return quantized(image[..., : content.shape[-2], : content.shape[-1]])


ORIGINAL = ["--config", str(REPO / "configs" / "adain_original.yaml")]


def test_infer_reproduces_test_py_with_alpha(release):
    folder = release[2]
    files = [
        "--checkpoint",
        str(folder / "decoder.pth"),
        "--weights",
        str(folder / "vgg_normalised.pth"),
    ]
    ours = run_infer(folder, "alpha", ["style.png"], *ORIGINAL, *files, "--alpha", "0.6")
    assert ours.shape[-2:] == (61, 45)
    assert (ours - expected(release, ["style.png"], alpha=0.6)).abs().max() <= TOL


def test_infer_reproduces_test_py_interpolation_weights(release):
    folder = release[2]
    files = [
        "--checkpoint",
        str(folder / "decoder.pth"),
        "--weights",
        str(folder / "vgg_normalised.pth"),
    ]
    ours = run_infer(
        folder, "mix", ["style_a.png", "style_b.png"], *ORIGINAL, *files, "--style-weights", "1,3"
    )
    assert (
        ours - expected(release, ["style_a.png", "style_b.png"], weights=[1, 3])
    ).abs().max() <= TOL


def test_converted_release_reproduces_test_py_with_no_other_flag(release):
    folder = release[2]
    out = convert(
        [
            "--from",
            "adain-release",
            "--vgg",
            str(folder / "vgg_normalised.pth"),
            "--decoder",
            str(folder / "decoder.pth"),
            "--out",
            str(folder / "adain.safetensors"),
        ]
    )
    # vgg_normalised is no library download: its folded convs travel along
    with safe_open(str(out), "pt") as f:
        assert "encoder.body.0.weight" in f.keys()
        assert '"weights_layout": "vgg_normalised"' in f.metadata()["model_config"]
    ours = run_infer(folder, "converted", ["style.png"], "--checkpoint", str(out), "--alpha", "0.6")
    assert (ours - expected(release, ["style.png"], alpha=0.6)).abs().max() <= TOL


def test_folded_input_conv_gives_the_release_features(release):
    vgg, _, folder = release
    cfg = load_config(REPO / "configs" / "adain_original.yaml").model.encoder
    ours = VGG19Features(
        ["relu4_1", "relu5_1"],
        False,
        str(folder / "vgg_normalised.pth"),
        padding=cfg.padding,
        layout=cfg.weights_layout,
    )
    x = torch.rand(1, 3, 61, 45)  # odd sides: ceil-mode pools at every level
    with torch.no_grad():
        theirs = {"relu4_1": vgg[:31](x), "relu5_1": vgg[:44](x)}
        mine = ours(x)
    for layer, feat in theirs.items():
        assert mine[layer].shape == feat.shape
        assert (mine[layer] - feat).abs().max() <= 1e-4 * feat.abs().max()


def test_each_layout_names_the_other_when_given_its_file(release, tmp_path):
    from models.pretrained import PretrainedWeightsError

    folder = release[2]
    with pytest.raises(
        PretrainedWeightsError, match="vgg_normalised layout .*weights_layout=vgg_normalised"
    ):
        VGG19Features(["relu4_1"], False, str(folder / "vgg_normalised.pth"))
    torch.save(VGG19Features(["relu1_1"], False).body.state_dict(), tmp_path / "torchvision.pth")
    with pytest.raises(
        PretrainedWeightsError, match="not pytorch-AdaIN's vgg_normalised layout.*torchvision"
    ):
        VGG19Features(
            ["relu1_1"],
            False,
            str(tmp_path / "torchvision.pth"),
            padding="reflect",
            layout="vgg_normalised",
        )


def test_a_decoder_saved_as_safetensors_is_matched_in_natural_key_order(release, tmp_path):
    """safetensors sorts keys as text ("10.weight" before "2.weight"): the order match reads them as
    numbers."""
    from safetensors.torch import save_file

    _, decoder, folder = release
    save_file(
        {k: v.contiguous() for k, v in decoder.state_dict().items()},
        str(tmp_path / "decoder.safetensors"),
    )
    cfg = load_config(REPO / "configs" / "adain_original.yaml").model
    files = {"pretrained": False, "weights_file": str(folder / "vgg_normalised.pth")}
    from_pth = load_model(folder / "decoder.pth", cfg, **files).decoder.state_dict()
    from_safetensors = load_model(
        tmp_path / "decoder.safetensors", cfg, **files
    ).decoder.state_dict()
    assert all(torch.equal(from_pth[k], from_safetensors[k]) for k in from_pth)


def test_convert_help_says_where_the_files_come_from(capsys):
    with pytest.raises(SystemExit):
        convert(["--help"])
    text = capsys.readouterr().out
    assert (
        "naoto0804/pytorch-AdaIN" in text
        and "vgg_normalised.pth" in text
        and "ViTStyleTransfer" in text
    )
