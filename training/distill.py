"""Distillation from a frozen teacher (`loss.teacher`, e.g. the hed-adain release): a training
term that pulls the trained network's image toward the teacher's image of the same (content, style)
batch.

The student (models/student.py) trains on the registered VGG losses (content, style) as any
decoder does; this term adds what those losses cannot say: which of the many images with the right
statistics the teacher, trained for hours, settled on. Terms, both means of squared differences in
float32:

- `teacher`: the pixels, ||g(t) - T(c, s)||^2 over (B, 3, H, W), images in [0, 1];
- `teacher_features`, with loss.teacher_layers: the loss network's features of both images at those
  layers (as the content loss compares them), summed over the layers.

The teacher is a checkpoint spec read as train.py reads model.init_from (weights/sources.py, then
weights/load.py): its weights come from that file on every start and resume, so step checkpoints
never hold them. It runs in eval mode under no_grad, with the batch's alpha; when its encoder is the
loss network (hed-adain's VGG16-HED), it reads the loss network's features instead of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from models.losses import content_loss
from models.net import StyleTransferNet
from weights.load import load_model
from weights.sources import resolve_checkpoint


def load_teacher(spec: str) -> StyleTransferNet:
    """The frozen, eval-mode network a checkpoint spec names (a release name such as hed-adain, a
    release file, a run or step folder).

    Built without touching the global RNG (a random-init-then-load VGG draws from it), so naming a
    teacher changes nothing else about a run's randomness.

    Raises:
        CheckpointError: the spec names no readable weights file.
    """
    with torch.random.fork_rng(devices=[]):
        return load_model(resolve_checkpoint(spec))


def same_network(encoder: nn.Module, features: nn.Module) -> bool:
    """True when `features` (the loss network) computes `encoder`'s layers: the same VGG, input
    normalization and weights (the hed-adain teacher's encoder and loss.loss_net=vgg16 with HED's
    weights), so the teacher can read the loss network's features of the batch."""
    if getattr(encoder, "arch", None) is None or encoder.arch != getattr(features, "arch", None):
        return False
    theirs = dict(features.named_parameters())
    return all(
        name in theirs and torch.equal(value, theirs[name])
        for name, value in encoder.named_parameters()
    )


class Distillation(nn.Module):
    """The teacher terms of a batch: forward(content, style, image, ...) -> {term: scalar}.

    Args:
        teacher: the frozen network (load_teacher).
        layers: loss-network layers of the `teacher_features` term (empty: pixels only).
        weights: each term's factor in the total loss (`weighted`).
        features: the loss network, `(images, layers) -> {layer: (B, C, h, w)}`; when it is the
            teacher's encoder (same_network), the teacher reads its features of the content and
            style instead of computing them again (a VGG16 pass per image saved, no other change).
    """

    def __init__(
        self,
        teacher: StyleTransferNet,
        layers: Sequence[str] = (),
        weights: Mapping[str, float] | None = None,
        features: nn.Module | None = None,
    ):
        super().__init__()
        self.teacher, self.layers = teacher.requires_grad_(False).eval(), list(layers)
        self.weights = dict(weights or {"teacher": 1.0, "teacher_features": 1.0})
        self.reuse = features is not None and same_network(teacher.encoder, features)

    def train(self, mode: bool = True):
        return super().train(False)  # a teacher never trains (dropout, norms: its eval behaviour)

    def weighted(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """sum_k weight_k * term_k: what the terms add to the total loss (loss.teacher_weight,
        loss.teacher_feature_weight)."""
        return sum(self.weights[key] * value for key, value in terms.items())

    def forward(
        self,
        content: torch.Tensor,
        style: torch.Tensor,
        image: torch.Tensor,
        alpha: float = 1.0,
        features: Callable[..., Mapping[str, torch.Tensor]] | None = None,
        feats: Sequence[Mapping[str, torch.Tensor]] = ({}, {}, {}),
    ) -> dict[str, torch.Tensor]:
        """content, style: the (B, 3, H, W) batch the student saw; image: its output, same size;
        feats: the loss network's features of content, style and image (what it computed)."""
        c_feats, s_feats, o_feats = feats
        teacher, layer = self.teacher, self.teacher.layer
        with torch.no_grad():
            if self.reuse and layer in c_feats and layer in s_feats:
                c_enc, s_enc = c_feats[layer], s_feats[layer]
            else:
                c_enc, s_enc = teacher.encode(content), teacher.encode(style)
            stats = [teacher.style_stats(s_enc)]
            target, _ = teacher.stylize_features(c_enc, stats, size=content.shape[-2:], alpha=alpha)
            target_feats = features(target, self.layers) if self.layers else {}
        out = {"teacher": F.mse_loss(image.float(), target.float())}
        if self.layers:
            out["teacher_features"] = sum(
                content_loss(o_feats[layer], target_feats[layer]) for layer in self.layers
            )
        return out
