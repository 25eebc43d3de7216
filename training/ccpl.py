"""CCPL, the contrastive coherence preserving loss (Wu et al. 2022, "CCPL: Contrastive Coherence
Preserving Loss for Versatile Style Transfer"): a training term (`loss.ccpl_weight`) that makes a
decoder keep how neighbouring content features DIFFER, so that a small change of the content (the
next frame of a clip) makes a small change of the output, without optical flow at test time.

At each layer of the frozen loss network, `samples` centre positions are drawn (distinct, off the
border); for each, the 8 differences centre - neighbour are taken in the output's features (the
queries) and in the content's features at the same places (the keys). A two-layer head per layer
(Linear(C, C), ReLU, Linear(C, C/4), shared by queries and keys, trained with the decoder) projects
them and they are L2-normalized. Per sample, query i must pick key i among all S = 8 * samples keys
(InfoNCE at temperature `tau`): the cross-entropy of logits [q_i . k_i, q_i . k_j (j != i)] / tau,
averaged over the B * S queries, summed over the layers.

Defaults are the paper's code's (artistic mode): relu2_1, relu3_1, relu4_1 (its num_l=3 of
relu1_1..relu4_1), 8 samples (num_s), tau 0.07, weight 5. It is a content-side term with trainable
weights, so it is a loss.ccpl_* setting beside the content loss, not an entry of the style-loss
registry (whose losses compare the output with the style). Figures: docs/results/video_ccpl.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

# the 8 neighbours of a centre, as (dy, dx)
NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


class CCPL(nn.Module):
    """CCPL over `layers` ({layer: channels}); forward(out_feats, content_feats) -> the scalar
    loss (float32). The heads are the only trainable weights; the features come from the caller."""

    def __init__(self, layers: Mapping[str, int], samples: int = 8, tau: float = 0.07):
        super().__init__()
        self.samples, self.tau = samples, tau
        # the centres come from a generator of their own, seeded by the run's seed and the number of
        # calls so far (a buffer, saved with the heads): a resumed run draws the centres the
        # uninterrupted one would have, whatever else used torch's global generator meanwhile
        self.seed = torch.initial_seed()
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.heads = nn.ModuleDict(
            {
                layer: nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, max(1, c // 4)))
                for layer, c in layers.items()
            }
        )

    def forward(
        self, out_feats: Mapping[str, torch.Tensor], content_feats: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        total = torch.zeros((), device=next(iter(out_feats.values())).device)
        generator = torch.Generator().manual_seed((self.seed + int(self.calls)) % 2**63)
        self.calls += 1
        for layer, head in self.heads.items():
            out, content = out_feats[layer].float(), content_feats[layer].float()
            centres = sample_centres(out.shape[-2:], self.samples, generator).to(out.device)
            query = F.normalize(head(neighbour_differences(out, centres)), dim=-1)
            key = F.normalize(head(neighbour_differences(content, centres)), dim=-1)
            total = total + info_nce(query, key, self.tau)
        return total


def sample_centres(size: Sequence[int], count: int, generator: torch.Generator) -> torch.Tensor:
    """(count, 2) distinct (y, x) positions at least 1 from every border (fewer when the map has
    fewer interior positions), on the CPU."""
    h, w = size
    if h < 3 or w < 3:
        raise ValueError(
            f"CCPL needs feature maps of 3x3 or more, got {h}x{w}: use a larger data.crop or "
            "deeper-striding layers out of loss.ccpl_layers"
        )
    interior = torch.randperm((h - 2) * (w - 2), generator=generator)[:count]
    return torch.stack([interior // (w - 2) + 1, interior % (w - 2) + 1], dim=1)


def neighbour_differences(feat: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) features, (N, 2) centres -> (B, 8 * N, C): centre - neighbour for each centre
    and each of its 8 neighbours (NEIGHBOURS order)."""
    y, x = centres[:, 0], centres[:, 1]
    centre = feat[:, :, y, x]  # (B, C, N)
    diffs = [centre - feat[:, :, y + dy, x + dx] for dy, dx in NEIGHBOURS]
    return rearrange(torch.stack(diffs, dim=-1), "b c n k -> b (n k) c")


def info_nce(query: torch.Tensor, key: torch.Tensor, tau: float) -> torch.Tensor:
    """(B, S, D) L2-normalized queries and keys -> mean over B * S of the cross-entropy of picking
    key i for query i among the S keys (PatchNCE's form: the positive logit first, the other keys
    as negatives)."""
    similarity = query @ key.transpose(1, 2) / tau  # (B, S, S); the diagonal holds the positives
    positive = similarity.diagonal(dim1=1, dim2=2)[..., None]
    eye = torch.eye(similarity.shape[-1], dtype=torch.bool, device=similarity.device)
    negatives = similarity.masked_fill(eye, float("-inf"))
    logits = torch.cat([positive, negatives], dim=2).flatten(0, 1)
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))
