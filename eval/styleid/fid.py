"""FID as StyleID's protocol computes it, and FID-infinity for large sets.

FID = |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2), mean and unbiased covariance (np.cov, N - 1)
of float64 features (StyleID eval_artfid.py:129, 147-148).

The trace term: StyleID takes `scipy.linalg.sqrtm(S1 @ S2)` of the 2048 x 2048 product
(eval_artfid.py:112). With N <= 2048 samples both covariances are singular, so sqrtm is
ill-conditioned and slow, and its result needs a complex-part check. The same trace is computed here
exactly and fast: with S = F^T F (F: the centered features / sqrt(N - 1), or their QR's R when
N > D), tr sqrt(S1 S2) is the nuclear norm of F1 F2^T (the square roots of the eigenvalues of S1 S2
are its singular values), a matrix of at most min(N, D) square. tests/test_protocol_fid.py checks
the two routes agree.
"""

from __future__ import annotations

import numpy as np

FID_INFINITY_MIN = 5000  # the first point of StyleID's linspace (eval_artfid.py:237)


def _factor(x: np.ndarray) -> np.ndarray:
    """(k, D) F with F^T F = cov(x), k = min(N, D): the centered samples / sqrt(N - 1), or for N > D
    their QR's R (R^T R = A^T A), so the product below stays min(N, D) square."""
    a = (x - x.mean(0)) / np.sqrt(len(x) - 1)
    return np.linalg.qr(a, mode="r") if len(a) > a.shape[1] else a


def trace_sqrt_product(x1: np.ndarray, x2: np.ndarray) -> float:
    """tr sqrt(cov(x1) cov(x2)) for (N1, D) and (N2, D) samples: the nuclear norm of F1 F2^T."""
    return float(np.linalg.svd(_factor(x1) @ _factor(x2).T, compute_uv=False).sum())


def fid_from_features(x1: np.ndarray, x2: np.ndarray) -> float:
    """Frechet distance between Gaussian fits of (N1, D) and (N2, D) float64 features; needs N1, N2
    >= 2."""
    x1, x2 = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
    if min(len(x1), len(x2)) < 2:
        raise ValueError(f"FID needs >= 2 images per set, got {len(x1)} and {len(x2)}")
    diff = x1.mean(0) - x2.mean(0)
    trace1 = float(((x1 - x1.mean(0)) ** 2).sum() / (len(x1) - 1))  # tr cov(x1)
    trace2 = float(((x2 - x2.mean(0)) ** 2).sum() / (len(x2) - 1))
    return float(diff @ diff + trace1 + trace2 - 2 * trace_sqrt_product(x1, x2))


def fid_infinity(
    stylized: np.ndarray, style: np.ndarray, num_points: int = 15, seed: int = 0
) -> float:
    """FID extrapolated to infinitely many samples (Chong & Forsyth 2020), StyleID's way.

    StyleID (eval_artfid.py:233-254): paired (N, D) features, FID of the same random subset of both
    sets at sizes linspace(5000, N, num_points), a least-squares line in 1/size, its value at 0.
    Their shuffle uses numpy's global RNG unseeded; here a seeded generator, so the value is
    reproducible.

    Raises:
        ValueError: N <= 5000 (every subset would be the whole set: the line is flat, the result is
            plain FID; see eval/styleid/protocol.md) or the sets are not paired (different N).
    """
    n = len(stylized)
    if len(style) != n:
        raise ValueError(
            f"FID-infinity pairs each output with its style: {n} vs {len(style)} features"
        )
    if n <= FID_INFINITY_MIN:
        raise ValueError(f"FID-infinity needs more than {FID_INFINITY_MIN} outputs, got {n}")
    rng = np.random.default_rng(seed)
    sizes = np.linspace(start=FID_INFINITY_MIN, stop=n, num=num_points).astype("int32")
    fids = []
    for size in sizes:
        idx = rng.permutation(n)[:size]
        fids.append(fid_from_features(stylized[idx], style[idx]))
    # = sklearn LinearRegression's OLS
    slope, intercept = np.polyfit(1.0 / sizes, np.array(fids), 1)
    return float(intercept)
