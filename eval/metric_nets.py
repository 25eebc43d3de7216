"""The networks of the learned metrics (LPIPS; Inception-v3 for FID/KID) and how their weights are
obtained without hanging a machine that has no internet.

Separate from eval/learned_metrics.py (which computes the numbers over a set of images) because
getting pretrained weights is where an offline or firewalled run fails, and the rules for it are
one thing to read. Implementations are torchmetrics' (LPIPS network, `FrechetInceptionDistance`,
`KernelInceptionDistance`); their pretrained weights are loaded through the libraries' own loaders:

- LPIPS: the linear heads ship inside torchmetrics (the same v0.1 heads as the `lpips` package); the
  backbone (AlexNet by default) is torchvision's ImageNet checkpoint, in
  `$TORCH_HOME/hub/checkpoints/`.
- FID/KID: torch-fidelity's Inception-v3 port of the original TF FID network
  (`weights-inception-2015-12-05-6726825d.pth`, same cache); needs `pip install torch-fidelity`.

Offline behavior: before a library would download, `fetch_weights` checks the hub cache. If the file
is missing and offline mode is on (`offline=True`, or env HF_HUB_OFFLINE=1 when `offline=None`) it
fails at once; otherwise it tries the download with a socket timeout (`download_timeout_s`) so a
firewalled machine does not hang. Either failure is a `MetricUnavailable` whose message names the
file, where to put it and where to get it; `compute_learned_metrics` turns it into the string
"unavailable: <reason>" for that metric. Every builder takes an injected network instead
(`feature_net` for FID/KID, `lpips_net` for LPIPS), so tests need no download.
"""

import os
import socket
import warnings
from pathlib import Path

import torch
from torch import nn

from models.pretrained import torchvision_cache_path

OFFLINE_ENV = "HF_HUB_OFFLINE"

# Backbone checkpoints that torchmetrics' LPIPS loads through torchvision (`<Weights>.DEFAULT`).
_LPIPS_BACKBONES = {
    "alex": "AlexNet_Weights",
    "vgg": "VGG16_Weights",
    "squeeze": "SqueezeNet1_1_Weights",
}


class MetricUnavailable(RuntimeError):
    """A learned metric cannot run: its package or pretrained weights cannot be obtained."""


def _is_offline(offline: bool | None) -> bool:
    env_says = os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    return env_says if offline is None else offline


def fetch_weights(
    url: str, what: str, offline: bool | None = None, download_timeout_s: float = 30.0
) -> Path:
    """Ensure the checkpoint at `url` is in the torch hub cache, where the library's loader looks
    first.

    Args:
        url: the download address the library itself uses.
        what: the metric needing it, for the error message.
        offline: never try to download; None reads env HF_HUB_OFFLINE.
        download_timeout_s: socket timeout of the download attempt (connect and each read).

    Returns:
        The cached file `$TORCH_HOME/hub/checkpoints/<file name of url>`.

    Raises:
        MetricUnavailable: the file is not cached and cannot be downloaded now.
    """
    destination = torchvision_cache_path(url)
    filename = destination.name
    if destination.is_file():
        return destination
    hint = (
        f"put {filename} at {destination} (download it from {url} on a machine with internet; "
        "TORCH_HOME moves the cache), or pass your own network to the metric builder"
    )
    if _is_offline(offline):
        raise MetricUnavailable(
            f"{what}: weights file {destination} is missing and offline mode is on; {hint}"
        )
    # torch.hub's urlopen has no timeout of its own: a dropped-packet network would hang for
    # minutes.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(download_timeout_s)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        # torchvision names its files <name>-<sha256 prefix>.pth: verify the download as it would.
        match = torch.hub.HASH_REGEX.search(filename)
        torch.hub.download_url_to_file(
            url, str(destination), hash_prefix=match.group(1) if match else None
        )
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        raise MetricUnavailable(f"{what}: could not download {url} ({reason}); {hint}") from error
    finally:
        socket.setdefaulttimeout(previous)
    return destination


class _TorchmetricsLpips(nn.Module):
    """torchmetrics' LPIPS network as a per-sample distance of [0, 1] images: (B,3,H,W) x2 ->
    (B,)."""

    def __init__(self, net_type: str, random_backbone: bool = False) -> None:
        super().__init__()
        from torchmetrics.functional.image.lpips import _NoTrainLpips

        # The linear heads ship with torchmetrics; the backbone is torchvision's (or random: smoke
        # runs).
        self.net = _NoTrainLpips(net=net_type, pnet_rand=random_backbone)

    def forward(self, img1: torch.Tensor, img2: torch.Tensor) -> torch.Tensor:
        return self.net(img1, img2, normalize=True).reshape(-1)


def build_lpips(
    net_type: str = "alex",
    lpips_net: nn.Module | None = None,
    offline: bool | None = None,
    download_timeout_s: float = 30.0,
    random_backbone: bool = False,
) -> nn.Module:
    """LPIPS (Zhang et al. 2018) as a module mapping two [0, 1] image batches to (B,) distances.

    LPIPS: unit-normalize each backbone layer's channels, square the difference, weight channels by
    the learned linear heads, average over space and sum over layers. Range [0, ~1], best 0.

    Args:
        net_type: backbone, "alex" (the LPIPS paper's default), "vgg" or "squeeze".
        lpips_net: use this module instead: forward(img1, img2) on [0, 1] images -> B distances.
        offline, download_timeout_s: see `fetch_weights`.
        random_backbone: torchvision's random init for the backbone (offline smoke runs;
            meaningless).

    Raises:
        MetricUnavailable: the backbone weights cannot be obtained.
    """
    if lpips_net is not None:
        return lpips_net
    if net_type not in _LPIPS_BACKBONES:
        raise ValueError(
            f"LPIPS net_type must be one of {sorted(_LPIPS_BACKBONES)}, got {net_type!r}"
        )
    if random_backbone:
        return _TorchmetricsLpips(net_type, random_backbone=True).eval()
    import torchvision

    url = getattr(torchvision.models, _LPIPS_BACKBONES[net_type]).DEFAULT.url
    fetch_weights(url, f"LPIPS ({net_type} backbone)", offline, download_timeout_s)
    return _TorchmetricsLpips(net_type).eval()


def _inception_available(what: str, offline: bool | None, download_timeout_s: float) -> None:
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    except ImportError as error:
        hint = "the default Inception-v3 needs torch-fidelity (pip install torch-fidelity)"
        raise MetricUnavailable(f"{what}: {hint}, or pass feature_net") from error
    fetch_weights(URL_INCEPTION_V3, f"{what} (Inception-v3)", offline, download_timeout_s)


def build_fid(
    feature_net: nn.Module | None = None,
    offline: bool | None = None,
    download_timeout_s: float = 30.0,
    input_size: tuple[int, int, int] = (3, 64, 64),
):
    """torchmetrics FrechetInceptionDistance taking [0, 1] float images.

    FID = |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) between Gaussian fits (mean, unbiased
    covariance) of real and generated features. Range [0, inf), best 0. Default features: 2048-d
    Inception-v3 pool features, images quantized to uint8 and resized to 299x299 inside the network.

    Args:
        feature_net: module mapping [0, 1] images (B, 3, H, W) to (B, D) features, used as given.
        offline, download_timeout_s: see `fetch_weights`.
        input_size: dummy image size used once to infer D of `feature_net`.

    Raises:
        MetricUnavailable: no feature_net and the Inception weights or torch-fidelity are missing.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    if feature_net is not None:
        return FrechetInceptionDistance(
            feature=feature_net, normalize=True, input_img_size=input_size
        )
    _inception_available("FID", offline, download_timeout_s)
    return FrechetInceptionDistance(feature=2048, normalize=True)


def build_kid(
    feature_net: nn.Module | None = None,
    subsets: int = 100,
    subset_size: int = 1000,
    offline: bool | None = None,
    download_timeout_s: float = 30.0,
):
    """torchmetrics KernelInceptionDistance taking [0, 1] float images (features as in `build_fid`).

    KID: unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3, averaged over
    `subsets` random subsets of `subset_size` samples per set. Near 0 (it can be slightly negative)
    for equal distributions; best 0.

    Raises:
        MetricUnavailable: no feature_net and the Inception weights or torch-fidelity are missing.
    """
    from torchmetrics.image.kid import KernelInceptionDistance

    if feature_net is None:
        _inception_available("KID", offline, download_timeout_s)
    feature = 2048 if feature_net is None else feature_net
    # "will save all extracted features": inherent to KID, not actionable
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*save all extracted features.*")
        return KernelInceptionDistance(
            feature=feature, subsets=subsets, subset_size=subset_size, normalize=True
        )
