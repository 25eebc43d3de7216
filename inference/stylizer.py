"""Inference runner for a trained StyleTransferNet: device, precision, channels_last, style cache, tiling.

Style features are encoded once per style key and reused for every content image (the encoder pass over
a style costs as much as over a content, so with N contents x M styles this saves N*M - M passes).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch

from inference.tiling import stylize_tiled
from models.net import StyleTransferNet
from models.precision import autocast


class Stylizer:
    """Runs encode -> AdaIN (alpha, mix, masks) -> decode in inference mode, with a cache of style features.

    Args:
        net: the trained network (moved to `device`, eval mode).
        device: torch device.
        precision: "fp32" | "bf16" | "fp16" (autocast; AdaIN statistics stay float32 in models.adain).
        channels_last: NHWC activations; oneDNN's convolutions are faster in that layout on CPU (measured
            in eval/bench_inference.py: 3x3 conv 59 -> 76 GFLOP/s fp32, 97 -> 159 GFLOP/s bf16).
        tile_size: images whose long side exceeds this run tiled (inference.tiling); 0 disables tiling.
        tile_overlap: overlap of neighbouring tiles in pixels.
    """

    def __init__(self, net: StyleTransferNet, device: torch.device, precision: str = "fp32",
                 channels_last: bool = True, tile_size: int = 1024, tile_overlap: int = 128):
        self.net, self.device, self.precision = net.to(device).eval(), device, precision
        self.channels_last = channels_last
        if channels_last:
            self.net.to(memory_format=torch.channels_last)
        self.tile_size, self.tile_overlap = tile_size, tile_overlap
        self._styles: dict[Hashable, torch.Tensor] = {}

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), autocast(self.device, self.precision):
            return self.net.encode(images)

    def style_features(self, key: Hashable, image: torch.Tensor) -> torch.Tensor:
        """(1, 3, h, w) style image -> its encoder features, computed once per key."""
        if key not in self._styles:
            self._styles[key] = self.encode(image)
        return self._styles[key]

    def stylize(
        self,
        contents: torch.Tensor,
        style_feats: Sequence[torch.Tensor],
        alphas: Sequence[float] = (1.0,),
        style_weights: Sequence[float] | None = None,
        masks: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """(B, 3, H, W) contents -> one (B, 3, H, W) float32 CPU batch per alpha (content encoded once)."""
        size = contents.shape[-2:]
        if self.tile_size and max(size) > self.tile_size:
            return [self._tiled(contents, style_feats, a, style_weights, masks) for a in alphas]
        c_feat = self.encode(contents)
        outs = []
        with torch.inference_mode(), autocast(self.device, self.precision):
            for alpha in alphas:
                target = self.net.transfer(c_feat, style_feats, alpha, style_weights, masks)
                outs.append(self.net.decode(target, size).float().cpu().contiguous())
        return outs

    def _tiled(self, contents, style_feats, alpha, style_weights, masks) -> torch.Tensor:
        outs = []
        with torch.inference_mode(), autocast(self.device, self.precision):
            for content in contents.split(1):
                outs.append(stylize_tiled(self.net, content, style_feats, alpha, style_weights, masks,
                                          self.tile_size, self.tile_overlap, encode=self.encode))
        return torch.cat(outs)
