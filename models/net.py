"""The composed style-transfer network: encoder -> AdaIN (alpha, style mix, masks) -> decoder.

This is the ONLY place the pipeline is composed. Inference (inference/stylizer.py), tiling
(inference/tiling.py), the validation grid and the training objective (training/objective.py) call
`encode`, `style_stats` and `stylize_features` instead of re-assembling the steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from configs.schema import ModelConfig
from models.adain import Stats, adain_masked, adain_stats, blend, mean_std, mix_stats, resize_masks
from models.layers import pad_to_multiple
from models.registry import build_decoder, build_encoder, encoder_layer


class StyleTransferNet(nn.Module):
    """Arbitrary style transfer with a frozen (by default) encoder and a trained decoder.

    The model returns features or images, never losses (training/objective.py scores them). Inputs of
    any size are padded to a multiple of the encoder stride and the output is cropped back, so the
    stylized image always has the content's size.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.layer = encoder_layer(cfg.encoder)
        self.encoder = build_encoder(cfg.encoder)
        self.stride = self.encoder.strides[self.layer]
        channels = self.encoder.channels[self.layer]
        self.decoder = build_decoder(cfg.decoder, channels, self.stride)

    def train(self, mode: bool = True):
        super().train(mode)
        if not self.cfg.encoder.trainable:
            self.encoder.eval()  # a frozen network keeps eval behaviour (dropout off) while the decoder trains
        return self

    def pad(self, images: torch.Tensor) -> torch.Tensor:
        """Pad to a multiple of the stride, and to 2 strides at least: the decoder's first 3x3 reflect-padded
        conv needs a feature map of 2 or more per side (a 1x1 or 3x400 content would crash it)."""
        return pad_to_multiple(images, self.stride, minimum=2 * self.stride)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> the AdaIN feature map (B, C, ceil(H/s), ceil(W/s))."""
        return self.encoder(self.pad(images))[self.layer]

    def decode(self, feat: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Feature map -> (B, 3, H, W) image in [0, 1], cropped to `size` when given."""
        images = self.decoder(feat.to(next(self.decoder.parameters()).dtype))
        return images if size is None else images[..., : size[0], : size[1]]

    @staticmethod
    def style_stats(style_feat: torch.Tensor) -> Stats:
        """The statistics AdaIN takes from a style's features (computed once per style and reused)."""
        return mean_std(style_feat)

    def transfer(
        self,
        content_feat: torch.Tensor,
        styles: Sequence[Stats],
        alpha: float = 1.0,
        style_weights: Sequence[float] | None = None,
        masks: torch.Tensor | None = None,
        content_stats: Sequence[Stats] | None = None,
    ) -> torch.Tensor:
        """The AdaIN target t in feature space (float32), blended with the content features by `alpha`.

        Args:
            content_feat: (B, C, h, w) encoder features of the content.
            styles: one Stats per style (style_stats of its features).
            style_weights: several styles without masks are one style with mixed statistics (weights
                normalized to sum 1); None: equal weights.
            masks: (N, H, W) or (B, N, H, W) region masks, any resolution (resized nearest to h, w):
                region k takes style k.
            content_stats: the content statistics to normalize with (one Stats per mask region, or one);
                None: computed from `content_feat` (tiling passes whole-image statistics).
        """
        if masks is not None:
            masks = resize_masks(masks.to(content_feat.device), content_feat.shape[-2:])
            target = adain_masked(content_feat, styles, masks, content_stats)
        else:
            content = content_stats[0] if content_stats is not None else mean_std(content_feat)
            target = adain_stats(content_feat, content, mix_stats(styles, style_weights))
        return blend(content_feat, target, alpha)

    def stylize_features(self, content_feat: torch.Tensor, styles: Sequence[Stats], *,
                         size: tuple[int, int] | None = None, **transfer_args) -> tuple[torch.Tensor, torch.Tensor]:
        """transfer -> decode: (the image cropped to `size`, the target t); `transfer_args` as in `transfer`."""
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
        """Stylize (B, 3, H, W) content images with one style batch or a list of styles -> (B, 3, H, W)."""
        styles = [styles] if isinstance(styles, torch.Tensor) else list(styles)
        stats = [self.style_stats(self.encode(s)) for s in styles]
        return self.stylize_features(self.encode(content), stats, size=content.shape[-2:], alpha=alpha,
                                     style_weights=style_weights, masks=masks)[0]
