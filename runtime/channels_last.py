"""Layers that keep a channels_last (NHWC) input channels_last where torch's return NCHW, and
`keep_channels_last`, which swaps them into a built network.

Why a swap and not these classes in models/: the method reads as its references wrote it
(pytorch-AdaIN's nn.ReflectionPad2d, padding_mode="reflect" convs, the ViT notebook's
nn.InstanceNorm2d), and the layout is the run's business (train.memory_format, infer.py's
--no-channels-last), not the network's. Each subclass computes its torch class's values; only
the layout of its output differs, and on an NCHW input it is its torch class.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def reflect_pad(x: torch.Tensor, pad: Sequence[int]) -> torch.Tensor:
    """F.pad(x, pad, mode="reflect") for (B, C, H, W): same values and gradients, layout kept.

    CUDA's reflection_pad2d writes a contiguous (NCHW) output whatever its input, so in a
    channels_last network every reflect-padded conv paid two layout conversions forward and two
    backward. Here a channels_last input is padded as its NHWC view (B, H, W, C) with
    reflection_pad3d over (H, W, C) and no padding of C: one kernel, one copy, and the result is
    channels_last on every device (on CPU as fast as F.pad's own channels_last kernel).
    pad = (left, right, top, bottom).
    """
    channels_last = x.is_contiguous(memory_format=torch.channels_last)
    if x.dim() == 4 and not x.is_contiguous() and channels_last:
        nhwc = x.permute(0, 2, 3, 1)  # a contiguous view: no copy
        return F.pad(nhwc, (0, 0, *pad), mode="reflect").permute(0, 3, 1, 2)
    return F.pad(x, tuple(pad), mode="reflect")


class ReflectionPad2d(nn.ReflectionPad2d):
    """nn.ReflectionPad2d through `reflect_pad`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reflect_pad(x, self.padding)


class PaddedConv2d(nn.Conv2d):
    """nn.Conv2d whose padding_mode "reflect" pads through `reflect_pad`; other modes: torch's."""

    def _conv_forward(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        if self.padding_mode != "reflect":
            return super()._conv_forward(x, weight, bias)
        padded = reflect_pad(x, self._reversed_padding_repeated_twice)
        return F.conv2d(padded, weight, bias, self.stride, 0, self.dilation, self.groups)


class InstanceNorm2d(nn.InstanceNorm2d):
    """nn.InstanceNorm2d whose statistics, on a channels_last input, are taken in that layout.

    torch's CPU instance_norm returns a contiguous tensor, so every later conv in an NHWC network
    pays two layout conversions. Here: per sample and channel, the mean and the biased variance
    over (H, W) (torch's), in float32, then the affine weight and bias when there are any.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.track_running_stats or not x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        x = x.float()
        mean = x.mean(dim=(2, 3), keepdim=True)  # two passes: faster than Welford var_mean here
        # in place: one full-size temporary, not two
        var = (x - mean).square_().mean(dim=(2, 3), keepdim=True)
        scale = (var + self.eps).rsqrt()
        # nn.InstanceNorm2d's default (the ViT notebook's decoder): no weight, no bias
        if not self.affine:
            return (x * scale).sub_(mean * scale)
        scale = self.weight.float().view(1, -1, 1, 1) * scale
        return (x * scale).add_(self.bias.float().view(1, -1, 1, 1) - mean * scale)


# exact torch classes only: a subclass of one of them may override forward, which a swap would drop
_SWAPS: dict[type[nn.Module], type[nn.Module]] = {
    nn.ReflectionPad2d: ReflectionPad2d,
    nn.Conv2d: PaddedConv2d,
    nn.InstanceNorm2d: InstanceNorm2d,
}


def keep_channels_last(module: nn.Module) -> nn.Module:
    """Swap, in place, every plain nn.ReflectionPad2d, nn.Conv2d and nn.InstanceNorm2d in `module`
    for its subclass above; returns `module`.

    Every run does it (training/objective.py, inference/engine.py, eval/methods.py, the ONNX
    export), whatever its layout: NHWC comes from the run's choice (train.memory_format, infer.py's
    --no-channels-last) and also, in any run, from a ViT encoder (its token map, rearranged to
    (B, C, h, w), is an NHWC view) and from images read by media/images.py (a permuted HWC array).
    The weights' layout is left to `.to(memory_format=...)`.
    The subclasses add no parameters, buffers or attributes, so `m.__class__ = Sub` keeps the same
    parameter tensors (an optimizer holding them is unaffected), buffers and state-dict keys.
    Idempotent: a swapped module is no longer of the exact torch class.
    """
    for m in module.modules():
        if type(m) in _SWAPS:
            m.__class__ = _SWAPS[type(m)]
    return module
