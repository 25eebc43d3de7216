"""The composed network: encoder -> feature transform (AdaIN, ...; alpha, mix, masks) -> decoder.

This is the ONLY place the pipeline is composed. Inference (inference/engine.py), tiling
(inference/tiling.py), the validation grid and the training objective (training/objective.py) call
`encode`, `style_stats` and `stylize_features` instead of re-assembling the steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import nn

from models.adain import Stats, blend, resize_masks
from models.config import ModelConfig
from models.layers import pad_to_multiple
from models.registry import TRANSFORMS, build_decoder, build_encoder, encoder_layer
from models.transfer import Transform, transfer


class StyleTransferNet(nn.Module):
    """Arbitrary style transfer with a frozen (by default) encoder and a trained decoder.

    The model returns features or images, never losses (training/objective.py scores them). Inputs
    of any size are padded to a multiple of the encoder stride and the output is cropped back, so
    the stylized image always has the content's size.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.layer = encoder_layer(cfg.encoder)
        self.encoder = build_encoder(cfg.encoder)
        self.stride = self.encoder.strides[self.layer]
        self.decoder = build_decoder(cfg.decoder, self.encoder.channels[self.layer], self.stride)
        self.set_transform(cfg.transform)

    def train(self, mode: bool = True):
        super().train(mode)
        if not self.cfg.encoder.trainable:
            # a frozen network keeps eval behaviour (dropout off) while the decoder trains
            self.encoder.eval()
        return self

    def pad(self, images: torch.Tensor) -> torch.Tensor:
        """Pad to a multiple of the stride, and to 2 strides at least: the decoder's first 3x3
        reflect-padded conv needs 2 or more feature cells per side (a 1x1 or 3x400 content crashed).

        An encoder whose pools round up (`ceil_pools`: pytorch-AdaIN's vgg_normalised) needs no
        multiple: its features cover ceil(H / stride) cells as the original code computes them, and
        the decoded image is cropped to H, so its images equal the original's at any size, borders
        included."""
        multiple = 1 if getattr(self.encoder, "ceil_pools", False) else self.stride
        return pad_to_multiple(images, multiple, minimum=2 * self.stride)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> the AdaIN feature map (B, C, ceil(H/s), ceil(W/s))."""
        return self.encoder(self.pad(images))[self.layer]

    def decode(self, feat: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Feature map -> (B, 3, H, W) image in [0, 1], cropped to `size` when given."""
        images = self.decoder(feat.to(next(self.decoder.parameters()).dtype))
        return images if size is None else images[..., : size[0], : size[1]]

    def style_stats(self, style_feat: torch.Tensor) -> Stats:
        """The transform's statistics of a style's features (computed once per style, reused)."""
        return self.transform.stats(style_feat)

    def set_transform(self, name: str) -> None:
        """Swap the feature transform (`infer.py --transform`); the decoder stays. The config names
        the transform that runs, so a release file saved afterwards records it too."""
        TRANSFORMS[name]  # an unknown name fails here, with the known ones
        self.cfg = dataclasses.replace(self.cfg, transform=name)

    @property
    def transform(self) -> Transform:
        # looked up by name, not stored: the module stays picklable (registry entries hold lambdas)
        return TRANSFORMS[self.cfg.transform]

    def transfer(
        self,
        content_feat: torch.Tensor,
        styles: Sequence[Stats],
        alpha: float = 1.0,
        style_weights: Sequence[float] | None = None,
        masks: torch.Tensor | None = None,
        content_stats: Sequence[Stats] | None = None,
    ) -> torch.Tensor:
        """The transform's target for (B, C, h, w) content features and one statistics tuple per
        style (`style_stats`), blended with the content features by `alpha` (0: the content, 1: the
        transfer, up to MAX_ALPHA: past it); float32.

        Several styles without masks are one style mixed with `style_weights` (normalized; None:
        equal). `masks`, (N, H, W) or (B, N, H, W) at any resolution (resized nearest to h, w):
        region k takes style k. `content_stats`: the content statistics to use, one per region or
        one (tiling passes the whole image's); None: each region's own (models/transfer.py).
        """
        if masks is not None:
            masks = resize_masks(masks.to(content_feat.device), content_feat.shape[-2:])
        target = transfer(self.transform, content_feat, styles, style_weights, masks, content_stats)
        return blend(content_feat, target, alpha)

    def stylize_features(
        self,
        content_feat: torch.Tensor,
        styles: Sequence[Stats],
        *,
        size: tuple[int, int] | None = None,
        **transfer_args,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """transfer -> decode: (the image cropped to `size`, the target); arguments: transfer's."""
        target = self.transfer(content_feat, styles, **transfer_args)
        return self.decode(target, size), target

    def forward(
        self,
        content: torch.Tensor,
        styles: torch.Tensor | Sequence[torch.Tensor],
        alpha: float = 1.0,
        style_weights: Sequence[float] | None = None,
        masks: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Stylize (B, 3, H, W) content with one style batch or a list of styles -> (B, 3, H, W)."""
        styles = [styles] if isinstance(styles, torch.Tensor) else list(styles)
        stats = [self.style_stats(self.encode(s)) for s in styles]
        target = self.transfer(self.encode(content), stats, alpha, style_weights, masks)
        return self.decode(target, content.shape[-2:])
