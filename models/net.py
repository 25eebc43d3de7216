"""The composed style-transfer network: encoder -> AdaIN (alpha, style mix, masks) -> decoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from configs.schema import ModelConfig
from models.adain import adain, adain_masked, blend, normalize_weights
from models.layers import pad_to_multiple
from models.registry import build_decoder, build_encoder, encoder_layer


class StyleTransferNet(nn.Module):
    """Arbitrary style transfer with a frozen (by default) encoder and a trained decoder.

    The model returns features or images, never losses (see training/objective.py for training). Inputs
    of any size are padded to a multiple of the encoder stride and the output is cropped back, so the
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
        return pad_to_multiple(images, self.stride)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> the AdaIN feature map (B, C, ceil(H/s), ceil(W/s))."""
        return self.encoder(self.pad(images))[self.layer]

    def decode(self, feat: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Feature map -> (B, 3, H, W) image in [0, 1], cropped to `size` when given."""
        images = self.decoder(feat.to(next(self.decoder.parameters()).dtype))
        return images if size is None else images[..., : size[0], : size[1]]

    def transfer(
        self,
        content_feat: torch.Tensor,
        style_feats: Sequence[torch.Tensor],
        alpha: float = 1.0,
        style_weights: Sequence[float] | None = None,
        masks: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The AdaIN target t in feature space (float32).

        One style: AdaIN; several: weighted interpolation (weights normalized to sum 1), or, with `masks`
        (N regions for N styles), region k takes style k. `alpha` blends t with the content features.
        """
        if masks is not None:
            target = adain_masked(content_feat, style_feats, masks)
        else:
            weights = normalize_weights(style_weights or [1.0] * len(style_feats), len(style_feats))
            target = sum(w * adain(content_feat, s) for w, s in zip(weights, style_feats))
        return blend(content_feat, target, alpha)

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
        target = self.transfer(self.encode(content), [self.encode(s) for s in styles], alpha, style_weights, masks)
        return self.decode(target, content.shape[-2:])
