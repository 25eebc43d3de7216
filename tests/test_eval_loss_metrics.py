"""Loss metrics: 0 for identical inputs, monotone as the output is blended away, fixed \
resolution."""

import pytest
import torch
import torch.nn.functional as F

from eval.loss_metrics import LOSS_METRIC_KEYS, build_loss_net, loss_metrics, prepare

SIZE = 32  # relu5_1 is then 2x2: enough for the statistics, fast on 2 CPU cores
BLEND = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope="module")
def net():
    return build_loss_net("random")


def smooth(n: int, size: int, seed: int) -> torch.Tensor:
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=torch.Generator().manual_seed(seed))
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False).clamp(
        0, 1
    )


def test_prepare_resizes_short_side_and_center_crops():
    images = torch.rand(2, 3, 48, 80)
    out = prepare(images, SIZE)
    assert out.shape == (2, 3, SIZE, SIZE) and 0 <= out.min() and out.max() <= 1
    # a strided crop broke L-BFGS's flat .grad view in the optimize baseline
    assert out.is_contiguous()
    square = torch.rand(1, 3, SIZE, SIZE)
    assert torch.equal(prepare(square, SIZE), square)  # already at the resolution: untouched


def test_zero_for_identical_inputs_and_content_of_content(net):
    content, style = smooth(2, 40, 1), smooth(2, 48, 2)
    metrics = loss_metrics(content, content, style, net, SIZE)
    assert set(metrics) == set(LOSS_METRIC_KEYS)
    assert all(v.shape == (2,) for v in metrics.values())
    assert torch.equal(metrics["content_relu4_1"], torch.zeros(2))
    assert torch.equal(metrics["content_conv4_2"], torch.zeros(2))
    styled = loss_metrics(style, content, style, net, SIZE)
    assert torch.equal(styled["style_gram"], torch.zeros(2))
    assert torch.equal(styled["style_mean_std"], torch.zeros(2))


def blended_metrics(net, reference, content, style, keys):
    """Metrics of the outputs (1 - t) * reference + t * noise for every t in BLEND, in one batched
    call."""
    noise = torch.rand(reference.shape, generator=torch.Generator().manual_seed(9))
    outputs = torch.cat([(1 - t) * reference + t * noise for t in BLEND])
    repeat = len(BLEND)
    metrics = loss_metrics(
        outputs, content.repeat(repeat, 1, 1, 1), style.repeat(repeat, 1, 1, 1), net, SIZE
    )
    return torch.stack([metrics[k].view(repeat, -1) for k in keys], dim=1)  # (T, keys, B)


def test_content_loss_grows_as_output_is_blended_toward_noise(net):
    content, style = smooth(2, SIZE, 1), smooth(2, SIZE, 2)
    values = blended_metrics(net, content, content, style, ("content_relu4_1", "content_conv4_2"))
    assert (values[0] == 0).all()
    assert (values.diff(dim=0) > 0).all(), values


def test_style_losses_grow_as_output_is_blended_toward_noise(net):
    content, style = smooth(2, SIZE, 1), smooth(2, SIZE, 2)
    values = blended_metrics(net, style, content, style, ("style_gram", "style_mean_std"))
    assert (values[0] == 0).all()
    assert (values.diff(dim=0) > 0).all(), values


def test_single_style_broadcasts_and_results_are_per_sample(net):
    content, style = smooth(3, SIZE, 1), smooth(1, SIZE, 2)
    outputs = smooth(3, SIZE, 4)
    batched = loss_metrics(outputs, content, style, net, SIZE)
    one = loss_metrics(outputs[1:2], content[1:2], style, net, SIZE)
    for key in LOSS_METRIC_KEYS:
        assert torch.allclose(batched[key][1], one[key][0], rtol=1e-4, atol=1e-8), key
    with pytest.raises(ValueError, match="batch sizes"):
        loss_metrics(outputs, content[:2], style, net, SIZE)


def test_random_loss_net_is_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, b = build_loss_net("random", seed=3), build_loss_net("random", seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
