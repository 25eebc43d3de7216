"""A plain PyTorch AdaIN training step, the reference the recipe's step is measured against.

Written from the AdaIN paper's description (Huang & Belongie 2017, Sec. 6), the way a
straightforward implementation does it: NCHW float32, the frozen VGG19 up to relu4_1 as four
sequential slices (relu1_1, relu2_1, relu3_1, relu4_1), a mirrored decoder of reflection-padded 3x3
convs with nearest upsampling, the content loss ||f(g(t)) - t||^2 against the AdaIN target, the
style loss as the MSE of channel means and stds at the four layers with lambda = 10, and
torch.optim.Adam at lr 1e-4. The style and the content each pass through the encoder once; the
output passes once more for the losses.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

_SLICES = (
    (0, 2),
    (2, 7),
    (7, 12),
    (12, 21),
)  # torchvision features: up to relu1_1, relu2_1, relu3_1, relu4_1
_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _conv(cin: int, cout: int, relu: bool = True) -> list[nn.Module]:
    return [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)] + ([nn.ReLU()] if relu else [])


def _decoder() -> nn.Sequential:
    up = [nn.Upsample(scale_factor=2, mode="nearest")]
    return nn.Sequential(
        *_conv(512, 256),
        *up,
        *_conv(256, 256),
        *_conv(256, 256),
        *_conv(256, 256),
        *_conv(256, 128),
        *up,
        *_conv(128, 128),
        *_conv(128, 64),
        *up,
        *_conv(64, 64),
        *_conv(64, 3, relu=False),
    )


def _calc_mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    b, c = feat.shape[:2]
    var = feat.view(b, c, -1).var(dim=2) + eps
    return feat.view(b, c, -1).mean(dim=2).view(b, c, 1, 1), var.sqrt().view(b, c, 1, 1)


def plain_step(batch: int, size: int) -> Callable[[], None]:
    """The closure of one plain training step on random (batch, 3, size, size) content and style."""
    features = make_layers(cfgs["E"], batch_norm=False)[:21]
    slices = [nn.Sequential(*features[a:b]) for a, b in _SLICES]
    for p in features.parameters():
        p.requires_grad_(False)
    decoder = _decoder()
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-4)
    content, style = torch.rand(batch, 3, size, size), torch.rand(batch, 3, size, size)

    def encode(x: torch.Tensor) -> list[torch.Tensor]:
        out, x = [], (x - _MEAN) / _STD
        for s in slices:
            x = s(x)
            out.append(x)
        return out

    def step() -> None:
        style_feats = encode(style)
        content_feat = encode(content)[-1]
        c_mean, c_std = _calc_mean_std(content_feat)
        s_mean, s_std = _calc_mean_std(style_feats[-1])
        t = ((content_feat - c_mean) / c_std * s_std + s_mean).detach()
        out_feats = encode(decoder(t))
        loss_c = F.mse_loss(out_feats[-1], t)
        loss_s = 0
        for o, s in zip(out_feats, style_feats):
            (om, osd), (sm, ssd) = _calc_mean_std(o), _calc_mean_std(s)
            loss_s = loss_s + F.mse_loss(om, sm) + F.mse_loss(osd, ssd)
        loss = loss_c + 10.0 * loss_s
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step
