"""Inference runner for a trained StyleTransferNet: device, precision, channels_last, style cache, tiling.

Style statistics are computed once per style key and reused for every content image (the encoder pass
over a style costs as much as over a content, so with N contents x M styles this saves N*M - M passes).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import torch

from inference.temporal import region_stats
from inference.tiling import stylize_tiled
from models.adain import Stats
from models.net import StyleTransferNet
from models.precision import autocast


class Stylizer:
    """Runs StyleTransferNet in inference mode on a device and precision, with a cache of style statistics.

    Args:
        net: the trained network (moved to `device`, eval mode).
        device: torch device.
        precision: "fp32" | "bf16" | "fp16" (autocast; AdaIN statistics stay float32 in models.adain).
        channels_last: NHWC activations; oneDNN's convolutions are faster in that layout on CPU (measured
            with `python -m bench figures`: 3x3 conv 59 -> 76 GFLOP/s fp32, 97 -> 159 GFLOP/s bf16).
        tile_size: images whose long side exceeds this run tiled (inference/tiling.py); 0 disables tiling.
        tile_overlap: overlap of neighbouring tiles in pixels.
    """

    def __init__(self, net: StyleTransferNet, device: torch.device, precision: str = "fp32",
                 channels_last: bool = True, tile_size: int = 1024, tile_overlap: int = 128):
        self.net, self.device, self.precision = net.to(device).eval(), device, precision
        self.channels_last = channels_last
        if channels_last:
            self.net.to(memory_format=torch.channels_last)
        self.tile_size, self.tile_overlap = tile_size, tile_overlap
        self._styles: dict[Hashable, Stats] = {}

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) images -> encoder features on the device, in the run's precision and layout."""
        images = images.to(self.device)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), autocast(self.device, self.precision):
            return self.net.encode(images)

    def style_stats(self, key: Hashable, image: torch.Tensor) -> Stats:
        """(1, 3, h, w) style image -> its AdaIN statistics, computed once per key."""
        if key not in self._styles:
            self._styles[key] = self.net.style_stats(self.encode(image))
        return self._styles[key]

    def stylize(
        self,
        contents: torch.Tensor,
        style_feats: Sequence[torch.Tensor | Stats],
        alphas: Sequence[float] = (1.0,),
        style_weights: Sequence[float] | None = None,
        masks: torch.Tensor | None = None,
        content_stats: Callable[[list[Stats]], list[Stats]] | None = None,
        tile_size: int | None = None,
    ) -> list[torch.Tensor]:
        """(B, 3, H, W) contents -> one (B, 3, H, W) float32 CPU batch per alpha (content encoded once).

        `style_feats`: per style, its encoder features (`encode`) or its statistics (`style_stats`,
        a statistics file's or a pooled domain's, which may sit on the CPU: moved to the device).
        `content_stats`: replaces the contents' statistics (one batched Stats per mask region) before
        the transform uses them (video: inference/temporal.py smooths them over time).
        `tile_size`: instead of the stylizer's (inference/run.py's out-of-memory retry).
        """
        tile = self.tile_size if tile_size is None else tile_size
        styles = [tuple(t.to(self.device) for t in s) if isinstance(s, tuple)
                  else self.net.style_stats(s) for s in style_feats]
        masks = None if masks is None else masks.to(self.device)
        size = contents.shape[-2:]
        with torch.inference_mode(), autocast(self.device, self.precision):
            if tile and max(size) > tile:
                return [torch.cat([stylize_tiled(self.net, c, styles, a, style_weights, masks, tile,
                                                 self.tile_overlap, encode=self.encode, content_stats=content_stats)
                                   for c in contents.split(1)])
                        for a in alphas]
            c_feat = self.encode(contents)
            given = None if content_stats is None else content_stats(
                region_stats(self.net.transform, c_feat, masks))
            return [self.net.stylize_features(c_feat, styles, size=size, alpha=a, style_weights=style_weights,
                                              masks=masks, content_stats=given)[0].float().cpu().contiguous()
                    for a in alphas]
