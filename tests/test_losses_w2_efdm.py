"""The w2 and efdm style losses (models/losses.py): closed forms, zeros, stable gradients, \
autocast."""

import numpy as np
import pytest
import scipy.linalg
import torch

from models.linalg import quantiles
from models.losses import (
    W2_FLOOR,
    efdm_distance,
    mean_cov_stat,
    mean_std_distance,
    mean_std_stat,
    sorted_stat,
    style_losses,
    style_targets,
    w2_distance,
)


def hadamard(n: int) -> torch.Tensor:
    """(n, n) Sylvester Hadamard matrix, n a power of 2: +-1 entries, orthogonal rows, row 0 all
    ones."""
    h = torch.ones(1, 1)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def known_gaussian(mean: torch.Tensor, std: torch.Tensor, side: int = 8) -> torch.Tensor:
    """(1, C, side, side) features whose empirical channel means are `mean`, biased stds `std`, and
    whose channels are exactly uncorrelated: channel c is mean_c + std_c * (Hadamard row c + 1),
    zero-mean rows orthogonal."""
    rows = hadamard(side * side)[1 : len(mean) + 1]  # (C, N), each row mean 0, mean square 1
    return (mean[:, None] + std[:, None] * rows).reshape(1, len(mean), side, side)


def w2(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return w2_distance(mean_cov_stat(out), mean_cov_stat(target))


def test_mean_cov_stat_is_the_mean_and_biased_covariance():
    feat = torch.randn(2, 6, 5, 7) * 3 + 1
    stat = mean_cov_stat(feat)
    flat = feat.flatten(2).double()
    centred = flat - flat.mean(2, keepdim=True)
    torch.testing.assert_close(stat[..., 0].double(), flat.mean(2))
    torch.testing.assert_close(
        stat[..., 1:].double(), centred @ centred.transpose(1, 2) / 35, rtol=1e-5, atol=1e-5
    )


def test_w2_of_uncorrelated_channels_is_the_closed_form_and_rotation_invariant():
    """Diagonal covariances: W2^2 = sum_c (mu1 - mu2)^2 + (sqrt(a) - sqrt(b))^2, / C as
    documented."""
    g = torch.Generator().manual_seed(0)
    c = 12
    m1, m2 = torch.randn(c, generator=g), torch.randn(c, generator=g) * 2
    s1, s2 = torch.rand(c, generator=g) + 0.1, torch.rand(c, generator=g) * 3 + 0.1
    x, y = known_gaussian(m1, s1), known_gaussian(m2, s2)
    expected = (((m1 - m2) ** 2 + (s1 - s2) ** 2).sum() / c).item()
    assert w2(x, y).item() == pytest.approx(expected, rel=1e-5)
    # the same orthogonal map on both: full, non-diagonal covariances, the same distance
    q = torch.linalg.qr(torch.randn(c, c, generator=g))[0]
    rotate = lambda f: torch.einsum("ij,bjhw->bihw", q, f)  # noqa: E731
    assert w2(rotate(x), rotate(y)).item() == pytest.approx(expected, rel=1e-4)
    # and mean_std's scale when channels are uncorrelated (mean_std adds 1e-5 to the variance)
    ms = mean_std_distance(mean_std_stat(x), mean_std_stat(y)).item()
    assert w2(x, y).item() == pytest.approx(ms, rel=1e-4)


def test_w2_of_correlated_channels_equals_scipy_sqrtm():
    """Non-commuting covariances, against the textbook formula with scipy's general matrix square
    root."""
    g = torch.Generator().manual_seed(1)
    c = 10
    x = torch.einsum(
        "ij,bjhw->bihw", torch.randn(c, c, generator=g), torch.randn(2, c, 9, 9, generator=g)
    )
    y = (
        torch.einsum(
            "ij,bjhw->bihw", torch.randn(c, c, generator=g), torch.randn(1, c, 11, 7, generator=g)
        )
        + 1
    )
    sx, sy = mean_cov_stat(x).double().numpy(), mean_cov_stat(y).double().numpy()
    expected = []
    for b in range(2):
        root = scipy.linalg.sqrtm(sy[0, :, 1:]).real
        cross = np.trace(scipy.linalg.sqrtm(root @ sx[b, :, 1:] @ root).real)
        mean = ((sx[b, :, 0] - sy[0, :, 0]) ** 2).sum()
        expected.append((mean + np.trace(sx[b, :, 1:]) + np.trace(sy[0, :, 1:]) - 2 * cross) / c)
    # y: batch 1, broadcast
    assert w2(x, y).item() == pytest.approx(float(np.mean(expected)), rel=1e-5)


@pytest.mark.parametrize(
    "shape", [(2, 8, 6, 6), (2, 32, 3, 3), (1, 4, 1, 1)], ids=["full", "rank8of32", "one_pos"]
)
def test_w2_zero_and_finite_zero_gradient_for_identical_inputs(shape):
    """Equal covariances (repeated eigenvalues of R S R) and rank-deficient ones (fewer positions
    than channels; a single position: zero covariance) must backprop without NaN."""
    feat = torch.rand(*shape) * 3
    x = feat.clone().requires_grad_()
    loss = w2_distance(mean_cov_stat(x), mean_cov_stat(feat))
    loss.backward()
    scale = (
        mean_cov_stat(feat)[..., 1:].diagonal(dim1=-2, dim2=-1).mean().item()
        + feat.mean().item() ** 2
    )
    assert abs(loss.item()) <= 1e-7 * scale
    # a minimum: the gradient vanishes
    assert torch.isfinite(x.grad).all() and x.grad.abs().max() < 1e-5


def test_w2_gradient_is_the_closed_form_and_finite_for_a_rank_deficient_output():
    """d W2^2 / d S_o = (I - R (R S_o R)^(-1/2) R) / C, d / d mu_o = 2 (mu_o - mu_t) / C (full-rank
    S_o); and a rank-1 output against a full-rank style (a flat decoder output at init) still gives
    a finite gradient."""
    g = torch.Generator().manual_seed(2)
    c = 6
    mix = torch.randn(c, c, generator=g)
    s_o, s_t = [
        mean_cov_stat(
            torch.einsum("ij,bjhw->bihw", mix * k, torch.randn(1, c, 8, 8, generator=g)) + k
        )
        for k in (1.0, 2.0)
    ]
    out = s_o.double().requires_grad_()
    w2_distance(out, s_t).backward()
    root = scipy.linalg.sqrtm(s_t[0, :, 1:].double().numpy()).real
    inv_sqrt = np.linalg.inv(scipy.linalg.sqrtm(root @ s_o[0, :, 1:].double().numpy() @ root).real)
    np.testing.assert_allclose(
        out.grad[0, :, 1:].numpy(), (np.eye(c) - root @ inv_sqrt @ root) / c, atol=1e-5
    )
    np.testing.assert_allclose(
        out.grad[0, :, 0].numpy(), 2 * (s_o - s_t)[0, :, 0].numpy() / c, atol=1e-6
    )

    flat = (
        torch.randn(1, c, 1, 1, generator=g) * torch.randn(1, 1, 8, 8, generator=g)
    ).requires_grad_()
    loss = w2_distance(mean_cov_stat(flat), s_t)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(flat.grad).all() and flat.grad.abs().sum() > 0


def test_w2_gradient_of_a_nearly_flat_direction_is_capped_by_the_floor():
    """sqrt's slope 1 / (2 sqrt(lambda)) is unbounded at 0: below W2_FLOOR * the largest eigenvalue
    of R S_o R a direction counts as absent, so its gradient is that of the trace term alone (1 /
    C)."""
    c = 4
    q = torch.linalg.qr(torch.randn(c, c, dtype=torch.float64))[0]
    cov_o = q @ torch.diag(torch.tensor([1.0, 0.5, 0.25, 1e-14], dtype=torch.float64)) @ q.T
    out = torch.cat(
        [torch.zeros(1, c, 1, dtype=torch.float64), cov_o[None]], dim=2
    ).requires_grad_()
    target = torch.cat([torch.zeros(1, c, 1), torch.eye(c)[None]], dim=2)  # R = I: M = S_o
    w2_distance(out, target).backward()
    flat_direction = q[:, 3] @ out.grad[0, :, 1:] @ q[:, 3]
    assert 1e-14 < W2_FLOOR < 1e-8  # 1e-14: above float64 eigh noise (~1e-16), below the floor
    # without the floor: (1 - 1 / (2 * 1e-7)) / c
    assert flat_direction.item() == pytest.approx(1 / c)


def test_efdm_zero_for_a_permutation_within_each_channel():
    feat = torch.randn(2, 5, 6, 4)
    # per channel
    perm = torch.stack([torch.stack([torch.randperm(24) for _ in range(5)]) for _ in range(2)])
    shuffled = feat.flatten(2).gather(2, perm).reshape(feat.shape)
    assert not torch.equal(shuffled, feat)
    target = style_targets("efdm", {"x": feat}, ["x"])
    assert style_losses("efdm", {"x": shuffled}, target)["x"].item() == 0
    # values moved ACROSS channels: not zero
    swapped = feat.flatten(2)[:, [1, 0, 2, 3, 4]].reshape(feat.shape)
    assert style_losses("efdm", {"x": swapped}, target)["x"].item() > 0


def test_efdm_different_sizes_compare_at_the_style_quantiles():
    style = torch.randn(1, 3, 10, 13) ** 3
    n = 6 * 5
    levels = torch.arange(n) / (n - 1)  # the output's rank r against the style's level r / (N - 1)
    at_quantiles = quantiles(sorted_stat(style), levels)  # (1, 3, n) already sorted
    shuffled = at_quantiles[..., torch.randperm(n)].reshape(1, 3, 6, 5)
    assert efdm_distance(sorted_stat(shuffled), sorted_stat(style)).item() == pytest.approx(
        0, abs=1e-12
    )
    shifted = efdm_distance(sorted_stat(shuffled + 0.5), sorted_stat(style)).item()
    # a shift by 0.5 of every value: 0.5^2 on average
    assert shifted == pytest.approx(0.25, rel=1e-5)


def test_efdm_equals_the_mean_std_scale_for_shift_and_scale():
    """Channels that differ by a shift and a scale only: efdm = mean_c (d mean)^2 + (d std)^2 (no
    1e-5)."""
    style = torch.rand(2, 4, 7, 7) ** 2
    a, b = (
        torch.tensor([0.5, 1.0, 2.0, 3.0]).view(1, 4, 1, 1),
        torch.tensor([1.0, -2.0, 0.0, 0.3]).view(1, 4, 1, 1),
    )
    out = a * style + b
    var_o, mean_o = torch.var_mean(out, dim=(2, 3), correction=0)
    var_s, mean_s = torch.var_mean(style, dim=(2, 3), correction=0)
    expected = ((mean_o - mean_s) ** 2 + (var_o.sqrt() - var_s.sqrt()) ** 2).mean()
    torch.testing.assert_close(
        efdm_distance(sorted_stat(out), sorted_stat(style)), expected, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", ["w2", "efdm"])
def test_finite_float32_under_fp16_autocast_where_naive_fp16_overflows(name):
    device = "cuda" if torch.cuda.is_available() else "cpu"  # CPU autocast supports float16 too
    feat = (
        torch.randn(1, 32, 32, 32, device=device) * 60 + 250
    ).relu()  # activations ~250: squares > 65504
    layer = lambda f: torch.nn.functional.conv2d(f, torch.eye(32, device=device).view(32, 32, 1, 1))  # noqa: E731
    with torch.autocast(device_type=device, dtype=torch.float16):
        x, y = layer(feat), layer(feat * 0.8 + 5)  # fp16 features, the target's too
        assert x.dtype == y.dtype == torch.float16
        naive = (
            ((x - x.mean()) ** 2).sum()
            if name == "w2"
            else ((x.flatten(2).sort().values - 10) ** 2).sum()
        )
        loss = style_losses(name, {"x": x}, style_targets(name, {"x": y}, ["x"]))["x"]
    assert not torch.isfinite(naive), "the fixture must overflow a naive fp16 computation"
    reference = style_losses(name, {"x": feat}, style_targets(name, {"x": feat * 0.8 + 5}, ["x"]))[
        "x"
    ]
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    torch.testing.assert_close(loss, reference, rtol=1e-2, atol=0)


@pytest.mark.parametrize("name", ["w2", "efdm"])
def test_every_new_loss_backprops_to_every_input_value_with_batch_one_targets(name):
    feat = torch.rand(3, 8, 5, 5).requires_grad_()
    target = style_targets(name, {"x": torch.rand(1, 8, 7, 6) * 2}, ["x"])  # batch 1, other size
    loss = style_losses(name, {"x": feat}, target)["x"]
    loss.backward()
    assert (
        loss.item() > 0
        and torch.isfinite(feat.grad).all()
        and (feat.grad != 0).float().mean() > 0.9
    )
