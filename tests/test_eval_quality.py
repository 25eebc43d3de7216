"""eval/quality.py's two figures on synthetic images with HED's VGG16: identity, a flat output,
content and style returned unchanged, the formula on known Grams, and the blur's purpose."""

import math

import pytest
import torch

from eval.quality import (
    STYLE_LAYERS,
    build_quality_net,
    edge_correlation,
    score_pairs,
    style_distance,
)

SIZE = 64  # relu4_1 is then 8 x 8: enough positions for a Gram, fast on one thread


def shapes(size: int = SIZE) -> torch.Tensor:
    """A 'photo': a bright disk and a dark bar on a smooth colour ramp, (1, 3, size, size)."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    disk = ((x - 0.35) ** 2 + (y - 0.4) ** 2 < 0.06).float()
    bar = ((x > 0.65) & (x < 0.8) & (y > 0.2)).float()
    ramp = torch.stack([0.3 + 0.3 * x, 0.4 + 0.2 * y, 0.5 - 0.2 * x])
    return (ramp + 0.4 * disk - 0.3 * bar).clamp(0, 1)[None]


def texture(size: int = SIZE, seed: int = 0) -> torch.Tensor:
    """A 'style': per-pixel colour noise (1, 3, size, size): no structure at the disk's scale."""
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def net(one_thread):
    return build_quality_net()


def test_identical_images_are_distance_0_and_correlation_1(net):
    image = shapes()
    assert style_distance(net, image, image).item() == 0
    assert edge_correlation(image, image).item() == pytest.approx(1, abs=1e-5)


def test_a_flat_grey_output_is_far_from_the_style_and_has_no_edges(net):
    grey = torch.full((1, 3, SIZE, SIZE), 0.5)
    assert style_distance(net, grey, texture()).item() > 0.5
    correlation = edge_correlation(grey, shapes())
    assert correlation.item() == 0 and not correlation.isnan().any()
    assert edge_correlation(grey, grey).item() == 0  # both flat: 0, not NaN


def test_the_content_returned_keeps_every_edge_and_none_of_the_style(net):
    content = shapes()
    assert edge_correlation(content, content).item() == pytest.approx(1, abs=1e-5)
    assert style_distance(net, content, texture()).item() > 0.3


def test_the_style_returned_is_distance_0_and_loses_the_content_edges(net):
    style = texture()
    assert style_distance(net, style, style).item() == 0
    assert abs(edge_correlation(style, shapes()).item()) < 0.2


class Identity(torch.nn.Module):
    """A 'network' whose every layer is its input: the Grams are then the images' own."""

    def forward(self, images, layers):
        return {layer: images for layer in layers}


def test_the_distance_is_relative_frobenius_averaged_over_the_four_layers():
    style = texture()
    # G(2 x) = 4 G(x): ||4G - G|| / ||G|| = 3 on every layer (3^2 = 9 if it were squared)
    assert style_distance(Identity(), 2 * style, style).item() == pytest.approx(3, rel=1e-5)

    class OneLayerOff(Identity):
        def forward(self, images, layers):
            out = super().forward(images, layers)
            out[STYLE_LAYERS[0]] = images * (1 + images.mean())  # only relu1_1 differs
            return out

    def gram_by_hand(features):  # (1, C, H, W) -> F F^T / (C*H*W)
        flat = features[0].reshape(features.shape[1], -1)
        return flat @ flat.T / features[0].numel()

    def relative(out, target):
        return (gram_by_hand(out) - gram_by_hand(target)).norm() / gram_by_hand(target).norm()

    a, b = style, texture(seed=1)
    first = relative(*(OneLayerOff()(x, STYLE_LAYERS)[STYLE_LAYERS[0]] for x in (a, b)))
    expected = (first + 3 * relative(a, b)) / 4
    assert style_distance(OneLayerOff(), a, b).item() == pytest.approx(expected.item(), rel=1e-5)


def test_the_blur_keeps_contours_and_drops_fine_strokes():
    """The reason for the blur: a stylization that keeps the content's contours under a fine
    texture scores high, where unblurred Sobel maps would count every stroke."""
    content = shapes()
    x = torch.arange(SIZE)
    strokes = 0.25 * ((x // 2) % 2).float().view(1, 1, 1, SIZE)  # 4 px period stripes
    stylized = (content * 0.7 + strokes).clamp(0, 1)
    assert edge_correlation(stylized, content).item() > 0.9
    assert edge_correlation(stylized, content, sigma=0).item() < 0.5


def test_score_pairs_gives_each_pair_and_the_means_whatever_the_batch(net):
    contents = torch.cat([shapes(), shapes().flip(-1), shapes().flip(-2)])
    styles = torch.cat([texture(seed=s) for s in range(3)])
    sets = {"mix": (0.5 * contents + 0.5 * styles).clamp(0, 1), "style": styles}
    one = score_pairs(net, sets, contents, styles, batch_size=3)
    each = score_pairs(net, sets, contents, styles, batch_size=1)
    assert list(one) == ["mix", "style"]
    mix = one["mix"]
    assert mix.style_distance.shape == mix.edge_correlation.shape == (3,)
    for name in sets:
        torch.testing.assert_close(one[name].style_distance, each[name].style_distance)
        torch.testing.assert_close(one[name].edge_correlation, each[name].edge_correlation)
    assert one["style"].style_distance.tolist() == [0, 0, 0]  # each pair against its own style
    means = mix.means()
    assert means["style_distance"] == pytest.approx(mix.style_distance.mean().item())
    assert means["edge_correlation"] == pytest.approx(mix.edge_correlation.mean().item())
    assert all(math.isfinite(v) for v in means.values())
    for i in range(3):  # a pair's figures are its own: the same alone as in the batch
        part = slice(i, i + 1)
        alone = score_pairs(net, {"mix": sets["mix"][part]}, contents[part], styles[part])["mix"]
        assert alone.style_distance.item() == pytest.approx(mix.style_distance[i].item(), rel=1e-4)
        assert alone.edge_correlation.item() == pytest.approx(mix.edge_correlation[i].item())


def test_score_pairs_rejects_mismatched_shapes_in_one_line(net):
    with pytest.raises(ValueError) as err:
        score_pairs(net, {"small": texture(size=32)}, shapes(), shapes())
    assert "\n" not in str(err.value) and "'small'" in str(err.value)
    assert "(1, 3, 32, 32)" in str(err.value)
