"""Small fixed random networks that stand in for Inception (FID/KID) and LPIPS's backbone, offline.

`evaluate --feature-net random` uses them so that the learned-metrics code path (batching, FID/KID
statistics, LPIPS pairing, ArtFID) runs on a machine without the pretrained weights, e.g. in tests
and CI. The numbers are NOT the published metrics and must never be reported as such; the table
marks the feature network used.
"""

from __future__ import annotations

import torch
from torch import nn


def _convs(seed: int, widths: tuple[int, ...]) -> nn.ModuleList:
    with torch.random.fork_rng(devices=[]):  # fixed weights without touching the caller's RNG
        torch.manual_seed(seed)
        return nn.ModuleList(
            nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in zip((3, *widths), widths)
        )


class RandomFeatures(nn.Module):
    """[0, 1] images (B, 3, H, W) -> (B, 16) features: channel means and stds of a 2-layer random
    conv net.

    Scaled by 10 to the order of magnitude of Inception pool features, where KID's cubic kernel is
    not flat.
    """

    def __init__(self, seed: int = 0):
        super().__init__()
        self.convs = _convs(seed, (8, 8))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() * 2 - 1
        for conv in self.convs:
            x = torch.tanh(conv(x))
        return 10 * torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)


class RandomLpips(nn.Module):
    """LPIPS's computation with a random backbone and unit linear heads: (B,3,H,W) x2 -> (B,)
    distances.

    Per layer: unit-normalize each position's channel vector, squared difference, mean over channels
    and space; summed over layers. 0 for identical images.
    """

    def __init__(self, seed: int = 1):
        super().__init__()
        self.convs = _convs(seed, (8, 16))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        x, y, total = a.float() * 2 - 1, b.float() * 2 - 1, 0
        for conv in self.convs:
            x, y = torch.relu(conv(x)), torch.relu(conv(y))
            nx = x / (x.norm(dim=1, keepdim=True) + 1e-10)
            ny = y / (y.norm(dim=1, keepdim=True) + 1e-10)
            total = total + (nx - ny).square().mean(dim=(1, 2, 3))
        return total
