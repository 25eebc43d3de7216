"""The method: networks, statistics and transforms, losses, the composed net, the optimization.

The public API for your own method (a plugin file, loaded with --plugins):

    from models import register_transform, register_style_loss, register_encoder, register_decoder
"""

from models.registry import (
    register_decoder,
    register_encoder,
    register_feature_net,
    register_style_loss,
    register_transform,
)

__all__ = [
    "StyleTransferNet",
    "register_decoder",
    "register_encoder",
    "register_feature_net",
    "register_style_loss",
    "register_transform",
]


def __getattr__(name: str):
    if name == "StyleTransferNet":  # on first use: `from models import register_*` stays light
        from models.net import StyleTransferNet

        return StyleTransferNet
    raise AttributeError(f"module 'models' has no attribute {name!r}")
