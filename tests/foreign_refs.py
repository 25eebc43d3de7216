"""Small re-implementations of the two foreign codebases, written from their published \
descriptions (not imported
from the repo), used by tests/test_foreign_*.py to build files in their layouts and compute their
images.

- the ViT notebook: `ViTStyleTransfer` (vit_encoder = a timm ViT with head = nn.Identity(), decoder
  = a `Decoder` of 4 x [ConvTranspose2d(k4, s2, p1), nn.InstanceNorm2d, ReLU] + Conv2d 3x3 + Tanh,
  vgg_loss_net = torchvision vgg19().features), fed ImageNet-normalized images, its output shown as
  tanh * std + mean, clamped;
- pytorch-AdaIN: the `vgg_normalised` Sequential (1x1 input conv, reflection padding, ceil-mode
  pools, up to relu5_4), the mirror decoder Sequential (no output activation), and test.py's
  style_transfer (unbiased variance + 1e-5, alpha blend, interpolation weights), clamped when saved.
"""

from __future__ import annotations

import timm
import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def calc_mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    n, c = feat.shape[:2]
    var = feat.view(n, c, -1).var(dim=2) + eps  # torch's default: unbiased
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    c_mean, c_std = calc_mean_std(content)
    s_mean, s_std = calc_mean_std(style)
    return (content - c_mean.expand_as(content)) / c_std.expand_as(content) * s_std.expand_as(
        content
    ) + s_mean


# ---- the ViT notebook
def _stage(cin: int, cout: int, affine: bool) -> list[nn.Module]:
    return [
        nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1),
        nn.InstanceNorm2d(cout, affine=affine),
        nn.ReLU(inplace=False),
    ]


class DecoderSequential(nn.Module):
    """Naming scheme 1: one Sequential attribute -> keys decoder.decoder.<i>.*"""

    def __init__(self, cin: int, widths: tuple[int, ...], affine: bool = False):
        super().__init__()
        layers, c = [], cin
        for w in widths:
            layers += _stage(c, w, affine)
            c = w
        self.decoder = nn.Sequential(*layers, nn.Conv2d(c, 3, 3, stride=1, padding=1), nn.Tanh())

    def forward(self, x):
        return self.decoder(x)


class DecoderNamed(nn.Module):
    """Naming scheme 2: named stages -> keys decoder.up1.0.*, ..., decoder.to_rgb.0.*"""

    def __init__(self, cin: int, widths: tuple[int, ...], affine: bool = False):
        super().__init__()
        c = cin
        for i, w in enumerate(widths, start=1):
            setattr(self, f"up{i}", nn.Sequential(*_stage(c, w, affine)))
            c = w
        self.n = len(widths)
        self.to_rgb = nn.Sequential(nn.Conv2d(c, 3, 3, 1, 1), nn.Tanh())

    def forward(self, x):
        for i in range(1, self.n + 1):
            x = getattr(self, f"up{i}")(x)
        return self.to_rgb(x)


class DecoderConvsFirst(nn.Module):
    """Naming scheme 3: every deconv defined before every norm (state-dict order is not forward
    order)."""

    def __init__(self, cin: int, widths: tuple[int, ...], affine: bool = True):
        super().__init__()
        chans = [cin, *widths]
        self.deconvs = nn.ModuleList(
            nn.ConvTranspose2d(a, b, 4, 2, 1) for a, b in zip(chans, chans[1:])
        )
        self.norms = nn.ModuleList(nn.InstanceNorm2d(w, affine=affine) for w in widths)
        self.final = nn.Conv2d(widths[-1], 3, 3, padding=1)

    def forward(self, x):
        for deconv, norm in zip(self.deconvs, self.norms):
            x = torch.relu(norm(deconv(x)))
        return torch.tanh(self.final(x))


DECODER_SCHEMES = {
    "sequential": DecoderSequential,
    "named": DecoderNamed,
    "convs_first": DecoderConvsFirst,
}


class ViTStyleTransfer(nn.Module):
    def __init__(self, vit_name: str, decoder: nn.Module):
        super().__init__()
        self.vit_encoder = timm.create_model(vit_name, pretrained=False)
        self.vit_encoder.head = nn.Identity()
        self.decoder = decoder
        # torchvision vgg19().features, only saved alongside
        self.vgg_loss_net = make_layers(cfgs["E"])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.vit_encoder.forward_features(x)[:, 1:]  # drop the CLS token
        b, n, c = tokens.shape
        side = int(n**0.5)
        return tokens.transpose(1, 2).reshape(b, c, side, side)

    def forward(
        self, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0
    ) -> torch.Tensor:
        c, s = self.encode(content), self.encode(style)
        t = alpha * adain(c, s) + (1 - alpha) * c
        return self.decoder(t)


def notebook_image(
    model: ViTStyleTransfer, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0
):
    """[0, 1] images in -> the notebook's displayed image: tanh output * std + mean, clamped."""
    with torch.no_grad():
        out = model((content - MEAN) / STD, (style - MEAN) / STD, alpha)
    return (out * STD + MEAN).clamp(0, 1)


# ---- pytorch-AdaIN
def adain_vgg() -> nn.Sequential:
    """vgg_normalised: conv1x1, then per conv [ReflectionPad2d(1), Conv2d 3x3, ReLU], ceil-mode
    pools, to relu5_4."""
    layers: list[nn.Module] = [nn.Conv2d(3, 3, 1)]
    c = 3
    for block, (width, convs) in enumerate(zip((64, 128, 256, 512, 512), (2, 2, 4, 4, 4))):
        if block:
            layers.append(nn.MaxPool2d(2, 2, 0, ceil_mode=True))
        for _ in range(convs):
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(c, width, 3), nn.ReLU()]
            c = width
    return nn.Sequential(*layers)


def adain_decoder() -> nn.Sequential:
    """The mirror decoder: reflection-padded 3x3 convs, nearest 2x upsampling, no output
    activation."""
    plan = [
        (512, 256),
        "up",
        (256, 256),
        (256, 256),
        (256, 256),
        (256, 128),
        "up",
        (128, 128),
        (128, 64),
        "up",
        (64, 64),
        (64, 3),
    ]
    layers: list[nn.Module] = []
    for i, item in enumerate(plan):
        if item == "up":
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            continue
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(*item, 3)]
        if i < len(plan) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def random_adain_release(seed: int = 0) -> tuple[nn.Sequential, nn.Sequential]:
    """(vgg_normalised, decoder) with random weights at a trained network's scale: the input conv
    maps [0, 1] RGB to Caffe's BGR 0-255 minus its mean, the convs keep the variance, the images
    land mostly inside [0, 1]."""
    torch.manual_seed(seed)
    vgg, decoder = adain_vgg().eval(), adain_decoder().eval()
    with torch.no_grad():
        vgg[0].weight.copy_(255 * torch.eye(3).flip(0).view(3, 3, 1, 1))
        vgg[0].bias.copy_(torch.tensor([-103.939, -116.779, -123.68]))
        for net in (vgg, decoder):
            for m in net:
                if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        vgg[2].weight.div_(128)  # conv1_1 sees 0-255 inputs
        decoder[-1].weight.mul_(0.15)
        decoder[-1].bias.fill_(0.5)
    return vgg, decoder


def adain_test_py(
    vgg: nn.Sequential,
    decoder: nn.Sequential,
    content: torch.Tensor,
    styles: list[torch.Tensor],
    alpha: float = 1.0,
    weights: list[float] | None = None,
) -> torch.Tensor:
    """test.py: vgg[:31] (to relu4_1), AdaIN (interpolation weights normalized to sum 1), alpha,
    decode, clamp."""
    encoder = nn.Sequential(*list(vgg.children())[:31])
    with torch.no_grad():
        if weights:
            weights = [w / sum(weights) for w in weights]
            content_f = encoder(content.expand(len(styles), -1, -1, -1))
            base = adain(content_f, encoder(torch.cat(styles)))
            feat = sum(w * base[i : i + 1] for i, w in enumerate(weights))
            content_f = content_f[:1]
        else:
            content_f = encoder(content)
            feat = adain(content_f, encoder(styles[0]))
        feat = feat * alpha + content_f * (1 - alpha)
        return decoder(feat).clamp(0, 1)


# ---- images exchanged with infer.py: PNG files, read back as [0, 1] tensors
def write_png(path, height: int, width: int, seed: int) -> torch.Tensor:
    """A random smooth-ish RGB PNG at `path`; returns the (1, 3, H, W) [0, 1] tensor the file holds
    exactly."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(2, height // 4), max(2, width // 4), 3), dtype=np.uint8)
    # structure at several scales
    img = Image.fromarray(coarse).resize((width, height), Image.BILINEAR)
    arr = np.clip(
        np.asarray(img, dtype=np.int16) + rng.integers(-12, 13, (height, width, 3)), 0, 255
    )
    Image.fromarray(arr.astype(np.uint8)).save(path)
    return read_png(path)


def read_png(path) -> torch.Tensor:
    import numpy as np
    from PIL import Image

    with Image.open(path) as img:
        return torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32) / 255).permute(
            2, 0, 1
        )[None]


def quantized(image: torch.Tensor) -> torch.Tensor:
    """What a PNG of the (1, 3, H, W) [0, 1] image holds as the repo writes it (round half to even;
    torchvision's save_image in test.py rounds halves up: at most one level apart)."""
    return image.clamp(0, 1).mul(255).round().div(255)
