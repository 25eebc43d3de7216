"""Weight-free and learned evaluation metrics: best value on identical inputs, monotone under \
blending,
determinism, and the fast, explicit offline failure of the pretrained paths."""

import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from eval.image_metrics import color_distance, edge_similarity, structure_similarity
from eval.learned_metrics import UNAVAILABLE, compute_learned_metrics
from eval.metric_nets import MetricUnavailable, build_fid, build_lpips, fetch_weights

BLEND = (0.0, 0.25, 0.5, 0.75, 1.0)


def smooth_images(n: int, size: int = 48, seed: int = 0) -> torch.Tensor:
    """Natural-ish test images: upsampled coarse noise (smooth regions with edges) in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=g)
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False).clamp(
        0, 1
    )


def noise_like(images: torch.Tensor, seed: int = 123) -> torch.Tensor:
    return torch.rand(images.shape, generator=torch.Generator().manual_seed(seed))


def blends(reference: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
    return [(1 - t) * reference + t * target for t in BLEND]


def test_color_distance_zero_for_identical_and_permuted_pixels():
    images = smooth_images(2)
    assert torch.equal(color_distance(images, images), torch.zeros(2))
    # Only the color distribution matters: shuffling pixels keeps the distance at 0.
    perm = torch.randperm(48 * 48, generator=torch.Generator().manual_seed(1))
    shuffled = images.flatten(2)[:, :, perm].reshape(images.shape)
    assert torch.allclose(color_distance(shuffled, images), torch.zeros(2), atol=1e-6)


def test_color_distance_grows_monotonically_and_is_deterministic():
    # Blend the colors toward a fixed palette color. (A pixelwise blend with independent noise is no
    # monotone path in distribution space: averaging first narrows the histogram, then widens it.)
    style = smooth_images(2)
    other = torch.tensor([0.9, 0.1, 0.2]).view(1, 3, 1, 1).expand_as(style)
    distances = torch.stack([color_distance(x, style) for x in blends(style, other)])  # (T, B)
    assert (distances[0] == 0).all()
    assert (distances.diff(dim=0) > 0).all(), distances
    again = torch.stack([color_distance(x, style) for x in blends(style, other)])
    assert torch.equal(distances, again)


def test_color_distance_different_sizes_subsampling_and_broadcast():
    style = smooth_images(1, size=64)
    resized = F.interpolate(style, size=(32, 32), mode="bilinear", antialias=True)
    small = color_distance(resized, style).item()
    assert 0 <= small < 0.02  # resizing barely changes the color histogram
    far = color_distance(torch.zeros(1, 3, 32, 32), style).item()
    assert far > 10 * small
    # A single style broadcasts over an output batch; subsampling keeps the result close and
    # deterministic.
    outputs = torch.cat([resized, torch.zeros(1, 3, 32, 32)])
    assert torch.allclose(color_distance(outputs, style), torch.tensor([small, far]), atol=1e-6)
    sub = color_distance(outputs, style, max_pixels=500)
    assert torch.equal(sub, color_distance(outputs, style, max_pixels=500))
    assert torch.allclose(sub, torch.tensor([small, far]), atol=0.02)


@pytest.mark.parametrize("metric", [structure_similarity, edge_similarity])
def test_structure_metrics_best_for_identical_and_decrease_toward_noise(metric):
    content = smooth_images(2)
    # (T, B)
    values = torch.stack([metric(x, content) for x in blends(content, noise_like(content))])
    assert torch.allclose(values[0], torch.ones(2), atol=1e-5)
    assert (values.diff(dim=0) < 0).all(), values
    assert values.shape == (len(BLEND), 2)


@pytest.mark.parametrize("metric", [structure_similarity, edge_similarity])
def test_structure_metrics_ignore_colors_and_resize_output(metric):
    content = smooth_images(1, size=64)
    # A global brightness scale keeps the structure: edges stay correlated and SSIM stays high.
    assert metric(content * 0.9, content).item() > 0.9
    upscaled = F.interpolate(content, size=(128, 128), mode="bilinear", align_corners=False)
    assert metric(upscaled, content).item() > 0.95


class TinyFeatures(nn.Module):
    """A fixed random conv net with global pooling: [0, 1] images (B, 3, H, W) -> (B, 8)
    features."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.conv2(torch.tanh(self.conv1(x))))
        # Scaled to the order of magnitude of Inception pool features, where the KID kernel is not
        # flat.
        return 10 * torch.cat([x.mean(dim=(2, 3))[:, :4], x.std(dim=(2, 3))[:, :4]], dim=1)


def test_fid_kid_zero_on_same_set_and_grow_when_blended_away():
    style = smooth_images(48, size=32, seed=1)
    other_set = 0.2 * smooth_images(48, size=32, seed=5)  # different, darker images
    contents = smooth_images(48, size=32, seed=2)

    def metrics(outputs):
        # subset_size = the whole set: KID is then exact (no subset noise) and the test
        # deterministic.
        return compute_learned_metrics(
            outputs,
            contents,
            style,
            feature_net=TinyFeatures(),
            lpips_net=_PixelLpips(),
            kid_subsets=3,
            kid_subset_size=48,
        )

    results = [metrics(x) for x in blends(style, other_set)]
    fids = [r["fid"] for r in results]
    kids = [r["kid_mean"] for r in results]
    assert abs(fids[0]) < 1e-6
    # KID of a set to itself is not exactly 0: the unbiased estimator drops k(x, x) from the
    # within-set terms but not from the cross term, a -O(1/m) offset; small next to a real
    # difference.
    assert abs(kids[0]) < 0.01 * kids[-1]
    assert all(b > a for a, b in zip(fids, fids[1:])), fids
    assert all(b > a for a, b in zip(kids, kids[1:])), kids
    assert all(r["artfid"] == pytest.approx((1 + r["lpips"]) * (1 + r["fid"])) for r in results)


def test_kid_subset_sampling_is_seeded_and_leaves_global_rng_alone():
    style, outputs = smooth_images(24, size=32, seed=1), smooth_images(24, size=32, seed=4)
    # its constructor seeds the global RNG; build it before taking the state
    features = TinyFeatures()
    state = torch.get_rng_state()
    runs = [
        compute_learned_metrics(
            outputs,
            outputs,
            style,
            feature_net=features,
            lpips_net=_PixelLpips(),
            kid_subsets=5,
            kid_subset_size=8,
        )["kid_mean"]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert torch.equal(state, torch.get_rng_state())


class _PixelLpips(nn.Module):
    """Stand-in LPIPS network: mean squared pixel difference per sample."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a - b).square().mean(dim=(1, 2, 3))


class _RandomBackboneLpips(nn.Module):
    """The real LPIPS computation (torchmetrics, with its shipped linear heads) on a random
    AlexNet."""

    def __init__(self) -> None:
        super().__init__()
        from torchmetrics.functional.image.lpips import _LPIPS

        torch.manual_seed(0)
        self.net = _LPIPS(pretrained=True, net="alex", pnet_rand=True).eval()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net(a, b, normalize=True).reshape(-1)


def test_lpips_with_injected_network_zero_for_identical_and_grows():
    contents = smooth_images(4, size=64, seed=3)
    lpips_net = _RandomBackboneLpips()
    noise = noise_like(contents)
    scores = [
        compute_learned_metrics(
            x,
            contents,
            contents,
            feature_net=TinyFeatures(),
            lpips_net=lpips_net,
            kid_subsets=5,
            kid_subset_size=4,
        )["lpips"]
        for x in blends(contents, noise)
    ]
    assert scores[0] == pytest.approx(0, abs=1e-6)
    assert all(b > a for a, b in zip(scores, scores[1:])), scores
    # Outputs at another resolution than their contents are resized to the content's size.
    big = F.interpolate(contents, size=(96, 96), mode="bilinear", align_corners=False)
    resized = compute_learned_metrics(
        big,
        contents,
        contents,
        feature_net=TinyFeatures(),
        lpips_net=lpips_net,
        kid_subsets=5,
        kid_subset_size=4,
    )["lpips"]
    assert 0 <= resized < scores[1]


def test_offline_unavailable_is_fast_and_names_the_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    images = smooth_images(4, size=32)
    start = time.perf_counter()
    results = compute_learned_metrics(images, images, images)
    elapsed = time.perf_counter() - start
    assert elapsed < 5, elapsed
    assert set(results) == {"lpips", "fid", "kid_mean", "kid_std", "artfid"}
    for key, value in results.items():
        assert isinstance(value, str) and value.startswith(UNAVAILABLE), (key, value)
    checkpoints = tmp_path / "hub" / "checkpoints"
    assert "alexnet-owt-7be5be79.pth" in results["lpips"] and str(checkpoints) in results["lpips"]
    assert "weights-inception-2015-12-05-6726825d.pth" in results["fid"]
    assert "needs lpips and fid" in results["artfid"]
    with pytest.raises(MetricUnavailable, match="offline mode"):
        build_fid()
    with pytest.raises(MetricUnavailable, match="alexnet"):
        build_lpips("alex")


def test_download_attempt_is_bounded_by_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    start = time.perf_counter()
    # A non-routable address: without the socket timeout this would hang until the OS gives up.
    with pytest.raises(MetricUnavailable, match="could not download") as info:
        fetch_weights(
            "http://10.255.255.1/weights-abc123.pth", "test metric", download_timeout_s=0.5
        )
    assert time.perf_counter() - start < 5
    assert str(tmp_path / "hub" / "checkpoints" / "weights-abc123.pth") in str(info.value)


def test_cached_weights_file_is_used_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / "weights-abc123.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert fetch_weights("http://10.255.255.1/weights-abc123.pth", "test", offline=True) == cached
