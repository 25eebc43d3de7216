"""A plugin of every kind, as a researcher would write it outside the repo \
(tests/test_plugins.py)."""

from torch import nn

from models import register_decoder, register_encoder, register_style_loss, register_transform


@register_transform("swap_mean")
def swap_mean(content, style):
    """The content's channel means replaced by the style's (a plain function: no mix, pool or
    masks)."""
    return content - content.mean((2, 3), keepdim=True) + style.mean((2, 3), keepdim=True)


@register_style_loss("mean_l1")
def mean_l1(output, target):
    """L1 distance of the channel means, per layer."""
    return (output.mean((2, 3)) - target.mean((2, 3))).abs().mean()


class TinyEncoder(nn.Module):
    """Two stride-2 convs: {'s4': (B, 16, H/4, W/4)}."""

    strides, channels = {"s4": 4}, {"s4": 16}

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU()
        )
        self.requires_grad_(False)

    def forward(self, images):
        return {"s4": self.body(images)}


@register_encoder("tiny", default_layer="s4", layers=["s4"])
def build_tiny(cfg, layer):
    return TinyEncoder()


@register_decoder("tiny_up")
def build_tiny_up(channels, stride, cfg):
    steps = [
        nn.Sequential(
            nn.Upsample(scale_factor=2), nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()
        )
        for _ in range(stride.bit_length() - 1)
    ]
    return nn.Sequential(*steps, nn.Conv2d(channels, 3, 3, padding=1), nn.Sigmoid())
