"""FID's trace term computed as a nuclear norm (eval/styleid/fid.py) against scipy's sqrtm route
(StyleID's), and
the finding that StyleID's default FID-infinity is plain FID for its 800 outputs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from eval.styleid.fid import fid_from_features, fid_infinity


def sqrtm_fid(x1: np.ndarray, x2: np.ndarray) -> float:
    """Frechet distance of Gaussian fits with the matrix square root of S1 S2 (Dowson & Landau
    1982)."""
    mu1, mu2 = x1.mean(0), x2.mean(0)
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root).real)


# 6 < D = 16: singular, as 800 images in 2048-d; 50 > D: QR path
@pytest.mark.parametrize("n", [6, 50])
def test_nuclear_norm_trace_equals_sqrtm(n):
    rng = np.random.default_rng(n)
    x1, x2 = rng.normal(size=(n, 16)), rng.normal(0.3, 1.5, size=(n + 3, 16))
    assert fid_from_features(x1, x2) == pytest.approx(sqrtm_fid(x1, x2), rel=1e-6)


def test_order_invariance_and_self_distance():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(40, 8)), rng.normal(1.0, 2.0, size=(30, 8))
    value = fid_from_features(x1, x2)
    assert fid_from_features(x1[rng.permutation(40)], x2[rng.permutation(30)]) == pytest.approx(
        value, rel=1e-12
    )
    assert fid_from_features(x2, x1) == pytest.approx(value, rel=1e-9)
    assert abs(fid_from_features(x1, x1)) < 1e-9
    with pytest.raises(ValueError, match=">= 2 images"):
        fid_from_features(x1[:1], x2)


def test_styleid_fid_infinity_is_plain_fid_for_800_outputs():
    """StyleID's schedule (eval_artfid.py:237, 8 points: num_workers lands in num_points, line 401):
    linspace(5000, 800) sizes all >= 800, so every subset is the whole set, every FID_N the same,
    the
    line flat, and its value at 1/N = 0 is plain FID."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(800, 4)), rng.normal(0.5, 1.0, size=(800, 4))
    sizes = np.linspace(start=5000, stop=800, num=8).astype("int32")
    fids = [
        fid_from_features(x1[idx], x2[idx])
        for idx in (rng.permutation(800)[:size] for size in sizes)
    ]
    slope, intercept = np.polyfit(1 / sizes, fids, 1)
    assert intercept == pytest.approx(fid_from_features(x1, x2), rel=1e-9)
    assert abs(slope) < 1e-6
    with pytest.raises(ValueError, match="more than 5000"):
        fid_infinity(x1, x2)


def test_fid_infinity_above_5000_extrapolates():
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=(5600, 3)), rng.normal(0.2, 1.0, size=(5600, 3))
    value = fid_infinity(x1, x2, num_points=4, seed=0)
    assert value == fid_infinity(x1, x2, num_points=4, seed=0)  # seeded: reproducible
    # FID's bias is small at this N
    assert value == pytest.approx(fid_from_features(x1, x2), abs=0.02)
