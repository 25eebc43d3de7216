"""Feature transforms (models/transforms.py): each one's defining property, and what every one \
must satisfy."""

import pytest
import torch

from models.adain import blend, mean_std
from models.linalg import mean_cov, quantiles, sorted_values
from models.registry import TRANSFORMS
from models.transfer import transfer
from models.transforms import whiten


def feats(b=1, c=8, h=12, w=10, scale=1.0, shift=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, h, w, generator=g) * scale + shift


def test_efdm_equal_sizes_takes_exactly_the_style_values_in_the_content_order():
    content, style = feats(seed=1), feats(scale=3.0, shift=2.0, seed=2) ** 2
    out = TRANSFORMS["efdm"].apply(content, None, sorted_values(style))
    flat = lambda t: t.flatten(2)  # noqa: E731
    assert torch.equal(flat(out).sort(dim=2).values, flat(style).sort(dim=2).values)
    # the content's rank order
    assert torch.equal(flat(out).argsort(dim=2), flat(content).argsort(dim=2))


def test_efdm_different_sizes_matches_the_style_quantiles():
    content, style = feats(h=9, w=7, seed=3), feats(h=20, w=13, scale=2.0, seed=4)
    out = TRANSFORMS["efdm"].apply(content, None, sorted_values(style))
    n = 9 * 7
    expected = quantiles(sorted_values(style)[0], torch.arange(n) / (n - 1))
    torch.testing.assert_close(out.flatten(2).sort(dim=2).values, expected)


def test_wct_output_has_the_style_mean_and_covariance_and_whitening_is_identity():
    c = 64
    content = feats(c=c, h=24, w=24, seed=5)
    mix = torch.randn(c, c, generator=torch.Generator().manual_seed(6)) / c**0.5
    style = torch.einsum("ij,bjhw->bihw", mix, feats(c=c, h=20, w=20, seed=7)) + 3.0
    out = TRANSFORMS["wct"].apply(content, None, mean_cov(style))
    (m_o, c_o), (m_s, c_s) = mean_cov(out), mean_cov(style)
    assert ((m_o - m_s).norm() / m_s.norm()) < 1e-3
    assert ((c_o - c_s).norm() / c_s.norm()) < 1e-3
    white = whiten(content)
    cov = white @ white.transpose(1, 2) / white.shape[-1]
    torch.testing.assert_close(cov, torch.eye(c, dtype=cov.dtype)[None], atol=1e-6, rtol=0)


def test_mean_and_std_transfer_one_statistic_and_keep_the_other():
    content, style = feats(scale=2.0, shift=1.0, seed=8), feats(scale=0.5, shift=-3.0, seed=9)
    (mc, sc), (ms, ss) = mean_std(content), mean_std(style)
    mo, so = mean_std(TRANSFORMS["mean"].apply(content, None, mean_std(style)))
    torch.testing.assert_close((mo, so), (ms, sc), atol=1e-5, rtol=1e-5)
    mo, so = mean_std(TRANSFORMS["std"].apply(content, None, mean_std(style)))
    torch.testing.assert_close((mo, so), (mc, ss), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_every_transform_alpha_masks_mix_and_identity(name):
    t = TRANSFORMS[name]
    content, s1, s2 = feats(seed=10), feats(scale=0.3, seed=11), feats(shift=4.0, seed=12)
    a, b = t.stats(s1), t.stats(s2)
    single = transfer(t, content, [a])
    torch.testing.assert_close(blend(content, single, 0.0), content)
    torch.testing.assert_close(
        transfer(t, content, [a], masks=torch.ones(1, 1, 12, 10)), single, atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(
        transfer(t, content, [a, b], weights=[1.0, 0.0]), single, atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(
        transfer(t, content, [t.stats(content)]), content, atol=1e-4, rtol=1e-4
    )
    # the mix equals blending the two outputs
    half = transfer(t, content, [a, b], weights=[0.5, 0.5])
    torch.testing.assert_close(
        half, 0.5 * single + 0.5 * transfer(t, content, [b]), atol=1e-4, rtol=1e-4
    )


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_whole_image_statistics_from_pieces_equal_the_untiled_ones(name):
    """What tiling relies on: the accumulator over disjoint pieces gives the statistics of the
    whole."""
    t = TRANSFORMS[name]
    content, style = feats(seed=13), t.stats(feats(seed=14, scale=2.0))
    acc = t.accumulator()
    flat = content[0].flatten(1)
    for part in flat.split(37, dim=1):
        acc.add(part)
    torch.testing.assert_close(
        t.apply(content, acc.result(), style), transfer(t, content, [style]), atol=1e-4, rtol=1e-4
    )


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_pooling_copies_of_one_style_is_that_style(name):
    t = TRANSFORMS[name]
    content, style = feats(seed=15), t.stats(feats(seed=16, scale=2.0, shift=1.0))
    torch.testing.assert_close(
        transfer(t, content, [t.pool([style] * 3)]),
        transfer(t, content, [style]),
        atol=1e-4,
        rtol=1e-4,
    )


@pytest.mark.parametrize("name", ["wct", "efdm", "mean"])
def test_infer_transform_flag_and_tiling_agree(name, tmp_path):
    """`infer.py --transform` swaps the transform of a trained checkpoint; tiled equals untiled
    closely."""
    import numpy as np
    from conftest import (
        vary_outputs,  # a default random decoder paints flat grey
        vgg_config,
    )
    from PIL import Image

    import infer
    from media.images import load_image
    from models.net import StyleTransferNet
    from weights.release import save_release

    net = StyleTransferNet(vgg_config())
    vary_outputs(net)
    ckpt = save_release(tmp_path / "m.safetensors", net)
    # a smooth content, as in test_infer_tiling: seams, not noise, are measured
    y, x = np.mgrid[0:96, 0:160] / 16.0
    content = np.stack([np.sin(x), np.cos(y), np.sin(x + y)], -1) * 0.4 + 0.5
    Image.fromarray((content * 255).astype(np.uint8)).save(tmp_path / "c.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(
        tmp_path / "s.png"
    )
    base = [
        "--checkpoint",
        str(ckpt),
        "--weights",
        "random",
        "--content",
        str(tmp_path / "c.png"),
        "--style",
        str(tmp_path / "s.png"),
    ]
    plain = infer.stylize([*base, "--out", str(tmp_path / "plain")])["written"][0]
    (whole,) = infer.stylize([*base, "--transform", name, "--out", str(tmp_path / "whole")])[
        "written"
    ]
    (tiled,) = infer.stylize(
        [
            *base,
            "--transform",
            name,
            "--tile-size",
            "96",
            "--tile-overlap",
            "48",
            "--out",
            str(tmp_path / "tiled"),
        ]
    )["written"]
    assert whole.endswith(f"c__s__{name}.png")
    a, b, p = load_image(whole), load_image(tiled), load_image(plain)
    psnr = float(10 * torch.log10(1 / ((a - b) ** 2).mean()))
    # whole-image statistics: the tiles agree with the untiled pass (wct: 27 dB)
    assert psnr > 25, psnr
    assert (a - p).abs().mean() > 2 * (a - b).abs().mean()  # and the transform changed the picture


def test_alpha_beyond_one_extrapolates_and_is_bounded():
    """alpha in (1, MAX_ALPHA] goes past the style's target along the same line; above it is
    refused."""
    from inference.options import InferError, InferOptions
    from models.adain import MAX_ALPHA

    content, style = feats(seed=20), feats(scale=3.0, seed=21)
    target = transfer(TRANSFORMS["adain"], content, [mean_std(style)])
    torch.testing.assert_close(blend(content, target, 1.5), target + 0.5 * (target - content))
    base = {"content": ("a.png",), "style": ("b.png",), "checkpoint": "m.safetensors"}
    InferOptions(**base, alpha=(MAX_ALPHA,)).validate()
    with pytest.raises(InferError, match="alpha"):
        InferOptions(**base, alpha=(MAX_ALPHA + 0.1,)).validate()
