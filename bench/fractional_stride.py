"""Measure two ways for a decoder to reach a non-power-of-two encoder stride (DINOv2's patch 14).

    python -m bench.fractional_stride [--steps 300] [--size 56] [--seed 0]

Why: a decoder doubles the resolution per stage, so stride 14 needs a non-integer step somewhere.
Measured:
  resize      4 x2 stages to 16 per feature cell, then an antialiased bilinear resize of the image
              to 14 (models/decoders.py `Decoder.forward`, what the repo does)
  fractional  3 x2 stages to 8, then a bilinear x1.75 upsample followed by a learned 3x3 conv stage
Both are trained to reconstruct images from a frozen random-weight vit_small_patch14_dinov2
(offline: no pretrained weights) with the same widths, data (random crops of the skimage sample
images), optimizer and steps; printed are the held-out reconstruction MSE and the GFLOP of each
decoder at 224 px (notebook widths 512..64). Random ViT features are a weak signal, so the MSE says
which head fits better, not how good a stylization is.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from data_prep.sample import CONTENT, STYLE, load_sample_image
from models.decoders import TransposedConvDecoder
from models.vit import ViTFeatures


class FractionalDecoder(nn.Module):
    """n - 1 transposed x2 stages, then upsample by stride / 2**(n-1) (bilinear) + conv 3x3 + norm +
    ReLU."""

    def __init__(self, cin: int, stride: int, widths: list[int]):
        super().__init__()
        stages, c = [], cin
        for w in widths[:-1]:
            stages += [
                nn.ConvTranspose2d(c, w, 4, 2, 1),
                nn.InstanceNorm2d(w, affine=True),
                nn.ReLU(),
            ]
            c = w
        self.stride, self.coarse = stride, 2 ** (len(widths) - 1)
        self.body = nn.Sequential(*stages)
        self.last = nn.Sequential(
            nn.Conv2d(c, widths[-1], 3, padding=1),
            nn.InstanceNorm2d(widths[-1], affine=True),
            nn.ReLU(),
            nn.Conv2d(widths[-1], 3, 3, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        h, w = feat.shape[-2:]
        x = F.interpolate(
            self.body(feat),
            size=(h * self.stride, w * self.stride),
            mode="bilinear",
            align_corners=False,
        )
        return self.last(x)


def crops(size: int, count: int, rng: np.random.Generator) -> torch.Tensor:
    images = [
        np.asarray(load_sample_image(name, 4 * size), dtype=np.float32) / 255
        for name, _ in CONTENT + STYLE
    ]
    out = []
    for _ in range(count):
        img = images[rng.integers(len(images))]
        y, x = rng.integers(img.shape[0] - size), rng.integers(img.shape[1] - size)
        out.append(torch.from_numpy(img[y : y + size, x : x + size]).permute(2, 0, 1))
    return torch.stack(out)


def gflop(decoder: nn.Module, channels: int, cells: int) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        decoder(torch.zeros(1, channels, cells, cells))
    return counter.get_total_flops() / 1e9


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--size", type=int, default=56, help="crop side, a multiple of 14")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    encoder = ViTFeatures("vit_small_patch14_dinov2", pretrained=False).eval()
    rng = np.random.default_rng(args.seed)
    train, held_out = crops(args.size, 512, rng), crops(args.size, 64, rng)
    with torch.no_grad():
        train_f, held_f = encoder(train)["final"], encoder(held_out)["final"]
    widths, channels = [128, 64, 32, 16], encoder.channels["final"]
    for name, build in (
        ("resize", lambda: TransposedConvDecoder(channels, 14, widths=tuple(widths))),
        ("fractional", lambda: FractionalDecoder(channels, 14, widths)),
    ):
        torch.manual_seed(args.seed)
        decoder = build()
        opt = torch.optim.Adam(decoder.parameters(), lr=1e-3)
        for _ in range(args.steps):
            idx = torch.randint(len(train), (16,))
            loss = F.mse_loss(decoder(train_f[idx]), train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            mse = F.mse_loss(decoder(held_f), held_out).item()
        full = (
            TransposedConvDecoder(channels, 14, widths=(512, 256, 128, 64))
            if name == "resize"
            else FractionalDecoder(channels, 14, [512, 256, 128, 64])
        )
        print(
            f"{name:10s} held-out MSE {mse:.4f}  params "
            f"{sum(p.numel() for p in decoder.parameters()) / 1e3:.0f}k  GFLOP at 224 px (16x16 "
            f"cells, widths 512..64) {gflop(full, channels, 16):.2f}"
        )


if __name__ == "__main__":
    main()
