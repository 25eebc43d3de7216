"""ResNet50 feature extractor (conv1, layer1 ... layer4) for the per-image optimization."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.layers import Normalize
from models.pretrained import load_torchvision_weights, read_state_dict
from models.registry import register_feature_net

RESNET50_LAYERS = ("conv1", "layer1", "layer2", "layer3", "layer4")
RESNET50_STRIDES = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}
RESNET50_CHANNELS = {"conv1": 64, "layer1": 256, "layer2": 512, "layer3": 1024, "layer4": 2048}
# torchvision's ResNet50_Weights.IMAGENET1K_V1 file
RESNET50_IMAGENET_URL = "https://download.pytorch.org/models/resnet50-0676ba61.pth"


class ResNet50Features(nn.Module):
    """Frozen-by-default ResNet50 (IMAGENET1K_V1): named stage outputs, input ImageNet-normalized.

    `conv1` is the stem after conv, batch norm and ReLU (before the max-pool); `layerK` is stage K's
    output (registry.build_feature_net checks the names). Batch norm always runs in eval mode: the
    network is a fixed feature extractor.
    """

    def __init__(
        self,
        layers: Sequence[str] = RESNET50_LAYERS,
        pretrained: bool = True,
        weights_file: str = "",
        trainable: bool = False,
    ):
        super().__init__()
        self.layers = tuple(layers)
        # imported here: only a ResNet run pays torchvision's import (docs/results/startup.md)
        from torchvision.models import resnet50

        net = resnet50()
        if weights_file:
            net.load_state_dict(read_state_dict(weights_file))
        elif pretrained:
            net.load_state_dict(load_torchvision_weights(RESNET50_IMAGENET_URL, "ResNet50"))
        self.normalize = Normalize()
        stem = nn.Sequential(net.conv1, net.bn1, net.relu)
        stages = [stem, nn.Sequential(net.maxpool, net.layer1), net.layer2, net.layer3, net.layer4]
        self.stages = nn.ModuleDict(dict(zip(RESNET50_LAYERS, stages)))
        self.requires_grad_(trainable)
        self.eval()
        self.strides = dict(RESNET50_STRIDES)
        self.channels = dict(RESNET50_CHANNELS)

    def train(self, mode: bool = True):
        return super().train(False)  # batch-norm statistics stay the pretrained ones

    def forward(
        self, images: torch.Tensor, layers: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """images (B, 3, H, W) in [0, 1] -> {layer: (B, C, ~H / stride, ~W / stride)}."""
        layers = self.layers if layers is None else tuple(layers)
        deepest = max(RESNET50_LAYERS.index(name) for name in layers)
        out, x = {}, self.normalize(images)
        for name in RESNET50_LAYERS[: deepest + 1]:
            x = self.stages[name](x)
            if name in layers:
                out[name] = x
        return out


# content layer2, style conv1, layer1, layer2, layer3. layer2 ends at stride 8 like VGG's relu4_2
# and is similarly deep in conv count (~22 convs vs 10), so it keeps the content layout without
# pinning pixel detail. layer4 is left out of the style: at stride 32 it has 2048 channels (a 16 MB
# Gram per step) and mostly object identity. ResNet features are "peaky" (a few huge activations),
# which makes ResNet style transfer visibly weaker than VGG's (Wang et al. 2021, "Rethinking and
# Improving the Robustness of Image Style Transfer"); it is here as a comparison, not a
# recommendation.
register_feature_net(
    "resnet50", ("layer2",), ("conv1", "layer1", "layer2", "layer3"), RESNET50_LAYERS
)(ResNet50Features)
