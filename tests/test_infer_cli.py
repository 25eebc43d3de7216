"""infer.py with the trained-decoder method: every flag checked by its effect (random weights, \
tiny images)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import vary_outputs
from PIL import Image

import infer
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from media.color import rgb_to_ycbcr
from media.images import load_image
from models.net import StyleTransferNet
from models.transforms import match_color
from weights.load import load_model
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")


def _img(path, h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = (
        np.stack([np.sin(x / (3 + seed)), np.cos(y / (4 + seed)), np.sin((x + y) / 5)], -1) * 0.4
        + 0.5
    )
    arr = np.clip(base + rng.normal(0, 0.05, (h, w, 3)), 0, 1)
    Image.fromarray((arr * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("infer")
    torch.manual_seed(0)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
    vary_outputs(net)
    ckpt = save_release(root / "vgg.safetensors", net)
    (root / "c").mkdir(), (root / "s").mkdir()
    c1 = _img(root / "c" / "one.png", 48, 64, 1)
    c2 = _img(root / "c" / "two.png", 48, 64, 2)
    s1 = _img(root / "s" / "a.png", 40, 40, 3)
    s2 = _img(root / "s" / "b.png", 56, 32, 4)
    return dict(root=root, ckpt=str(ckpt), c1=str(c1), c2=str(c2), s1=str(s1), s2=str(s2))


def run(env, out, *extra, content=None, style=None):
    argv = [
        "--checkpoint",
        env["ckpt"],
        "--content",
        *(content or [env["c1"]]),
        "--style",
        *(style or [env["s1"]]),
        "--out",
        str(env["root"] / out),
        "--weights",
        "random",
        *extra,
    ]
    return infer.stylize(argv)


def out_img(summary, k=0):
    return load_image(summary["written"][k])


def test_alpha_zero_is_reconstruction_and_alpha_list(env):
    summary = run(env, "alpha", "--alpha", "0,0.5,1")
    assert len(summary["written"]) == 3 and summary["written"][0].endswith("one__a__a0.png")
    net = load_model(env["ckpt"])
    with torch.inference_mode():
        c = load_image(env["c1"])[None]
        recon = net.decode(net.encode(c), c.shape[-2:])[0]
    assert (out_img(summary, 0) - recon).abs().max() < 2 / 255
    assert (out_img(summary, 0) - out_img(summary, 2)).abs().mean() > 0.01
    assert (out_img(summary, 1) - out_img(summary, 2)).abs().mean() > 0.005


def test_style_mix(env):
    s1 = out_img(run(env, "m1", style=[env["s1"]]))
    s2 = out_img(run(env, "m2", style=[env["s2"]]))
    one_zero = run(env, "m3", "--style-weights", "1,0", style=[env["s1"], env["s2"]])
    assert "__mix-a-b" in one_zero["written"][0]
    assert (out_img(one_zero) - s1).abs().max() < 2 / 255
    half = out_img(run(env, "m4", "--style-weights", "0.5,0.5", style=[env["s1"], env["s2"]]))
    assert min((half - s1).abs().mean(), (half - s2).abs().mean()) > 0.003


def test_preserve_luminance_keeps_content_chroma(env):
    out = out_img(run(env, "lum", "--preserve-color", "luminance"))
    content = load_image(env["c1"])
    inside = ((out > 0.03) & (out < 0.97)).all(0)
    diff = (rgb_to_ycbcr(out[None])[0, 1:] - rgb_to_ycbcr(content[None])[0, 1:]).abs()[:, inside]
    assert inside.float().mean() > 0.5 and diff.mean() < 2 / 255


def test_preserve_covariance_recolors_style_before_transfer(env):
    torch.manual_seed(0)
    src, tgt = torch.rand(1, 3, 20, 30), torch.rand(1, 3, 16, 16) ** 2
    out = match_color(src, tgt)
    flat_o, flat_t = out.flatten(2)[0].double(), tgt.flatten(2)[0].double()
    assert torch.allclose(flat_o.mean(1), flat_t.mean(1), atol=1e-5)
    assert torch.allclose(
        torch.cov(flat_o, correction=0), torch.cov(flat_t, correction=0), atol=1e-5
    )
    summary = run(env, "cov", "--preserve-color", "covariance")
    net = load_model(env["ckpt"])
    c, s = load_image(env["c1"])[None], load_image(env["s1"])[None]
    with torch.inference_mode():
        expected = net(c, match_color(s, c))[0]
        plain = net(c, s)[0]
    assert (out_img(summary) - expected).abs().max() < 2 / 255
    assert (out_img(summary) - plain).abs().mean() > 0.003


def test_masks_map_regions_to_styles(env):
    root = env["root"]
    Image.fromarray(np.full((48, 64), 7, np.uint8)).save(root / "one_region.png")
    halves = np.zeros((48, 64, 3), np.uint8)
    halves[:, 32:] = (255, 0, 0)  # black (sorted first) -> style a, red -> style b
    Image.fromarray(halves).save(root / "halves.png")
    plain = out_img(run(env, "k0"))
    single = out_img(run(env, "k1", "--mask", str(root / "one_region.png")))
    assert "__mask-a" in run(env, "k1b", "--mask", str(root / "one_region.png"))["written"][0]
    assert (single - plain).abs().max() < 2 / 255
    red = np.zeros((40, 40, 3), np.uint8)
    red[..., 0] = np.random.default_rng(0).integers(150, 255, (40, 40))
    # a style far from style a, so the regions are distinguishable
    Image.fromarray(red).save(root / "red.png")
    a, b = plain, out_img(run(env, "k2", style=[str(root / "red.png")]))
    two = out_img(
        run(env, "k3", "--mask", str(root / "halves.png"), style=[env["s1"], str(root / "red.png")])
    )
    left, right = slice(0, 24), slice(40, 64)  # away from the boundary (receptive field)
    assert (two[..., left] - a[..., left]).abs().mean() < (
        two[..., left] - b[..., left]
    ).abs().mean()
    assert (two[..., right] - b[..., right]).abs().mean() < (
        two[..., right] - a[..., right]
    ).abs().mean()
    with pytest.raises(infer.InferError, match="halves.png has 2 distinct colors but 1 styles"):
        run(env, "k4", "--mask", str(root / "halves.png"))


@pytest.mark.parametrize(
    "flags, size",
    [
        ([], (48, 64)),
        (["--size", "24"], (24, 32)),
        (["--size", "96"], (48, 64)),
        (["--size", "96", "--upscale"], (96, 128)),
        (["--max-size", "32"], (24, 32)),
        (["--size", "30"], (30, 40)),
    ],
)
def test_output_sizes(env, flags, size):
    assert tuple(out_img(run(env, f"size{'_'.join(flags)}", *flags)).shape[-2:]) == size


def test_non_multiple_size_vit_and_vgg(env):
    root = env["root"]
    odd = _img(root / "odd.png", 72, 120, 5)
    assert tuple(out_img(run(env, "odd", content=[str(odd)])).shape[-2:]) == (72, 120)
    torch.manual_seed(0)
    enc = EncoderConfig(kind="vit", name="vit_tiny_patch16_224", pretrained=False)
    vit = StyleTransferNet(ModelConfig(enc, DecoderConfig(kind="transposed_conv", width=16)))
    ckpt = save_release(root / "vit.safetensors", vit)
    summary = infer.stylize(
        [
            "--checkpoint",
            str(ckpt),
            "--content",
            str(odd),
            "--style",
            env["s1"],
            "--out",
            str(root / "vit"),
            "--weights",
            "random",
        ]
    )
    assert tuple(out_img(summary).shape[-2:]) == (72, 120)


def test_format_grid_skip_existing(env):
    summary = run(
        env,
        "fmt",
        "--format",
        "jpg",
        "--grid",
        content=[env["c1"], env["c2"]],
        style=[env["s1"], env["s2"]],
    )
    assert len(summary["written"]) == 4 and all(p.endswith(".jpg") for p in summary["written"])
    assert all(open(p, "rb").read(3) == b"\xff\xd8\xff" for p in summary["written"])
    grid = Image.open(summary["grid"])
    assert grid.size == (3 * 130 + 2, 3 * 130 + 2)
    again = run(
        env,
        "fmt",
        "--format",
        "jpg",
        "--skip-existing",
        content=[env["c1"], env["c2"]],
        style=[env["s1"], env["s2"]],
    )
    assert len(again["skipped"]) == 4 and not again["written"]
    # never replaced silently
    with pytest.raises(infer.InferError, match="already exist.*--overwrite"):
        run(env, "fmt", "--format", "jpg", content=[env["c1"]])
    assert (
        len(run(env, "fmt", "--format", "jpg", "--overwrite", content=[env["c1"]])["written"]) == 1
    )


def test_bf16_close_to_fp32_and_batch_and_channels_last(env):
    both = [env["c1"], env["c2"]]
    ref = run(env, "b1", content=both)
    bf16 = run(env, "b2", "--precision", "bf16", content=both)
    batched = run(env, "b3", "--batch-size", "2", content=both)
    nhwc = run(env, "b4", "--no-channels-last", content=both)
    for k in range(2):
        assert (out_img(bf16, k) - out_img(ref, k)).abs().mean() < 0.03
        assert (out_img(batched, k) - out_img(ref, k)).abs().max() <= 1.5 / 255
        assert (out_img(nhwc, k) - out_img(ref, k)).abs().max() <= 1.5 / 255


def test_folders_with_bad_files(env, capsys):
    root = env["root"]
    (root / "mixed").mkdir()
    _img(root / "mixed" / "good.png", 32, 32, 6)
    (root / "mixed" / "broken.jpg").write_bytes(b"not an image at all")
    data = (root / "c" / "one.png").read_bytes()
    (root / "mixed" / "truncated.png").write_bytes(data[: len(data) // 2])
    code = infer.main(
        [
            "--checkpoint",
            env["ckpt"],
            "--content",
            str(root / "mixed"),
            "--style",
            str(root / "s"),
            "--out",
            str(root / "mixed_out"),
            "--weights",
            "random",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert sorted(p.name for p in (root / "mixed_out").iterdir()) == ["good__a.png", "good__b.png"]
    assert "broken.jpg" in err and "truncated.png" in err


def test_one_line_errors(env, capsys):
    root = env["root"]
    (root / "wrong.safetensors").write_bytes(b"\x00" * 64)
    torch.save({"conv.weight": torch.zeros(3, 3)}, root / "other.pth")
    (
        root / "loop"
    ).mkdir()  # a folder holding an earlier output: stylizing it into itself would overwrite it
    for name in ("one.png", "one__a.png"):
        (root / "loop" / name).write_bytes((root / "c" / "one.png").read_bytes())
    cases = [
        (["--checkpoint", str(root / "wrong.safetensors")], "wrong.safetensors"),
        (["--checkpoint", str(root / "other.pth")], "other.pth"),
        (
            ["--checkpoint", env["ckpt"], "--content", str(root / "missing.png")],
            "missing.png does not exist",
        ),
        (
            [
                "--checkpoint",
                env["ckpt"],
                "--content",
                str(root / "loop"),
                "--out",
                str(root / "loop"),
            ],
            "refusing to write",
        ),
        (
            ["--checkpoint", env["ckpt"], "--device", "cuda"]
            if not torch.cuda.is_available()
            else [],
            "cuda",
        ),
    ]
    for extra, needle in cases:
        if not extra:
            continue
        argv = [
            "--content",
            env["c1"],
            "--style",
            env["s1"],
            "--out",
            str(root / "err"),
            "--weights",
            "random",
            *extra,
        ]
        assert infer.main(argv) == 2
        err = [
            line for line in capsys.readouterr().err.splitlines() if not line.startswith("WARNING")
        ]
        assert len(err) == 1 and err[0].startswith("error:") and needle in err[0], err


def test_files_folders_and_globs_expand_to_every_pair(env):
    root = env["root"]
    by_folder = run(env, "expand_folder", content=[str(root / "c")], style=[str(root / "s")])
    by_glob = run(
        env,
        "expand_glob",
        content=[str(root / "c" / "t*.png"), env["c1"]],
        style=[str(root / "s" / "*.png")],
    )
    names = sorted(Path(p).name for p in by_folder["written"])
    assert names == ["one__a.png", "one__b.png", "two__a.png", "two__b.png"]
    assert sorted(Path(p).name for p in by_glob["written"]) == names


# ---- every decoder knob against formulas written out here independently of models/adain.py and
# models/net.py: a change to the weights, the blend or the region logic inside the package (models/,
# inference/) shows up here.
TOL = 1.5 / 255  # outputs pass through 8-bit PNG files


def stats(f):
    f = f.double()
    return f.mean(dim=(2, 3), keepdim=True), (
        f.var(dim=(2, 3), keepdim=True, unbiased=False) + 1e-5
    ).sqrt()


def reference(env, content, styles, weights=None, alpha=1.0, masks=None):
    """decode(alpha * t + (1 - alpha) * f_c), t = sum_k w_k AdaIN(f_c, f_k) or region-wise AdaIN."""
    net = load_model(env["ckpt"])
    with torch.inference_mode():
        c = load_image(content)[None]
        fc = net.encode(c).double()
        fs = [stats(net.encode(load_image(s)[None])) for s in styles]
        if masks is None:
            w = np.array(weights or [1.0] * len(styles), float)
            w = w / w.sum()
            cm, cs = stats(fc)
            t = sum(wk * ((fc - cm) / cs * ss + sm) for wk, (sm, ss) in zip(w, fs))
        else:
            m = torch.nn.functional.interpolate(
                masks[None].double(), size=fc.shape[-2:], mode="nearest"
            )
            t = torch.zeros_like(fc)
            for k, (sm, ss) in enumerate(fs):
                r = m[:, k : k + 1]
                area = r.sum()
                cm = (fc * r).sum(dim=(2, 3), keepdim=True) / area
                cs = (((fc - cm) ** 2 * r).sum(dim=(2, 3), keepdim=True) / area + 1e-5).sqrt()
                t = t + r * ((fc - cm) / cs * ss + sm)
        t = alpha * t + (1 - alpha) * fc
        return net.decode(t.float(), c.shape[-2:])[0].clamp(0, 1)


def stylize(env, out, *flags, styles=None):
    summary = infer.stylize(
        [
            "--checkpoint",
            env["ckpt"],
            "--content",
            env["c1"],
            "--style",
            *(styles or [env["s1"]]),
            "--out",
            str(env["root"] / out),
            "--weights",
            "random",
            *flags,
        ]
    )
    return [load_image(p) for p in summary["written"]]


@pytest.fixture(scope="module")
def red(env):
    arr = np.zeros((40, 40, 3), np.uint8)
    arr[..., 0] = np.random.default_rng(0).integers(150, 255, (40, 40))
    path = env["root"] / "red_exact.png"
    Image.fromarray(arr).save(path)
    return str(path)


def test_plain_and_alpha(env):
    outs = stylize(env, "x_alpha", "--alpha", "0.3,1")
    for out, alpha in zip(outs, (0.3, 1.0)):
        assert (out - reference(env, env["c1"], [env["s1"]], alpha=alpha)).abs().max() <= TOL


def test_style_weights_are_used_as_given(env, red):
    styles = [env["s1"], red]
    (out,) = stylize(env, "x_mix", "--style-weights", "0.3,0.7", styles=styles)
    right = reference(env, env["c1"], styles, [0.3, 0.7])
    squared = reference(env, env["c1"], styles, [0.09, 0.49])
    assert (out - right).abs().max() <= TOL
    assert (squared - right).abs().max() > 4 * TOL  # the check above can tell the two apart


def test_masks_with_alpha(env, red):
    halves = np.zeros((48, 64, 3), np.uint8)
    halves[:, 32:] = (255, 0, 0)
    Image.fromarray(halves).save(env["root"] / "halves_exact.png")
    masks = torch.zeros(2, 48, 64)
    masks[0, :, :32], masks[1, :, 32:] = 1, 1
    (out,) = stylize(
        env,
        "x_mask",
        "--mask",
        str(env["root"] / "halves_exact.png"),
        "--alpha",
        "0.8",
        styles=[env["s1"], red],
    )
    assert (
        out - reference(env, env["c1"], [env["s1"], red], alpha=0.8, masks=masks)
    ).abs().max() <= TOL
