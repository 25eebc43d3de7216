"""timm Vision Transformer as a feature-map encoder: patch tokens back into a (B, C, H/p, W/p) map.

timm itself is imported only when a ViT is built (models.pretrained.create_timm_model): a VGG run
never pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from einops import rearrange
from torch import nn

from models.layers import Normalize, encoder_norm, pad_to_multiple
from models.pretrained import create_timm_model
from models.registry import register_encoder


def _block_index(name: str, depth: int) -> int:
    """'final' -> the last block's index; 'block<i>' -> i (negative: from the end)."""
    if name == "final":
        return depth - 1
    match = re.fullmatch(r"block(-?\d+)", name)
    if not match or not -depth <= int(match.group(1)) < depth:
        raise ValueError(
            f"unknown ViT layer '{name}': use 'final' or 'block0' ... 'block{depth - 1}'"
        )
    return int(match.group(1)) % depth


class ViTFeatures(nn.Module):
    """Frozen-by-default timm ViT returning {layer: (B, C, ceil(H/p), ceil(W/p))} for [0, 1] RGB.

    `name`: any timm ViT with `forward_intermediates` (vit_*, deit_*, ...), weights from timm's hub
    or cache (`pretrained`) or a local `weights_file`. `layers`: 'final' (the patch tokens of
    forward_features, after the final norm) and/or 'block<i>' (block i's raw output, 0-based).
    Inputs of any size are reflect-padded to a multiple of the patch size (the caller crops decoded
    images back); timm's `dynamic_img_size` interpolates the position embedding to the token grid.
    Any patch size works (DINOv2's 14 included): the decoders reach the image size at any stride.

    Normalization: the model's pretrained config (0.5/0.5 for augreg weights, ImageNet mean/std for
    others), or `norm` = (mean, std) instead (the ViT notebook fed ImageNet-normalized images to a
    0.5/0.5 model: its weights expect what it was trained on); never the caller's.
    """

    def __init__(
        self,
        name: str = "vit_base_patch16_224",
        layers: Sequence[str] = ("final",),
        pretrained: bool = True,
        weights_file: str = "",
        trainable: bool = False,
        norm: tuple[Sequence[float], Sequence[float]] | None = None,
    ):
        super().__init__()
        self.model = create_timm_model(name, pretrained, weights_file)
        depth = len(self.model.blocks)
        self.layers = tuple(layers)
        self._indices = {layer: _block_index(layer, depth) for layer in self.layers}
        self.patch = self.model.patch_embed.patch_size[0]
        pretrained_norm = [self.model.pretrained_cfg.get(k, (0.5,) * 3) for k in ("mean", "std")]
        self.normalize = Normalize(*(norm or pretrained_norm))
        self.requires_grad_(trainable)
        if trainable:
            self._freeze_unused()
        self.strides = {layer: self.patch for layer in self.layers}
        self.channels = {layer: self.model.embed_dim for layer in self.layers}

    def _freeze_unused(self) -> None:
        """Freeze the blocks after the deepest layer read, and the final norm unless 'final' is.

        forward_intermediates stops early, so a trainable encoder read at block<i> leaves the later
        blocks without gradients: DDP then fails at step 2 ("Expected to have finished reduction").
        """
        deepest = max(self._indices.values())
        for block in self.model.blocks[deepest + 1 :]:
            block.requires_grad_(False)
        if "final" not in self.layers:
            self.model.norm.requires_grad_(False)
        for name in ("fc_norm", "attn_pool", "head"):  # pooling and head: never run on patch tokens
            module = getattr(self.model, name, None)
            if isinstance(module, nn.Module):
                module.requires_grad_(False)

    def forward(
        self, images: torch.Tensor, layers: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        layers = self.layers if layers is None else tuple(layers)
        x = self.normalize(pad_to_multiple(images, self.patch))
        h = x.shape[-2] // self.patch
        indices = sorted({self._indices[layer] for layer in layers})
        tokens = self.model.forward_intermediates(
            x, indices=indices, output_fmt="NLC", intermediates_only=True, stop_early=True
        )  # list of (B, h*w, C), prefix (class / register) tokens already dropped
        by_index = dict(zip(indices, tokens))
        out = {}
        for layer in layers:
            t = by_index[self._indices[layer]]
            t = self.model.norm(t) if layer == "final" else t
            out[layer] = rearrange(t, "b (h w) c -> b c h w", h=h)
        return out


@register_encoder(
    "vit",
    default_layer="final",
    layers=lambda layer: bool(re.fullmatch(r"final|block-?\d+", layer)),
    layer_help="final or block<i> (e.g. block11; the depth is timm's, checked when built)",
)
def build_vit_encoder(cfg, layer: str) -> nn.Module:
    """model.encoder.kind=vit: any timm ViT (cfg.name), patch tokens of `layer` as a feature map."""
    return ViTFeatures(
        cfg.name, [layer], cfg.pretrained, cfg.weights_file, cfg.trainable, norm=encoder_norm(cfg)
    )
