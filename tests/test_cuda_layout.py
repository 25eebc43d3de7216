"""channels_last through reflection padding as on CUDA (whose reflect-pad kernels return NCHW).

No GPU here: F.pad is replaced by one returning what CUDA's reflection_pad2d returns (a contiguous
tensor), and every conv's input layout is recorded.
"""

import pytest
import torch
import torch.nn.functional as F

from models.decoders import MirrorVGGDecoder
from models.layers import reflect_pad
from models.vgg import VGG19Features


@pytest.fixture
def cuda_like_pad(monkeypatch):
    """F.pad as on CUDA, and the layout of every conv2d input."""
    pad, conv2d, layouts = F.pad, F.conv2d, []

    def padded(x, p, mode="constant", value=None):
        out = pad(x, p, mode=mode) if value is None else pad(x, p, mode=mode, value=value)
        return out.contiguous() if mode == "reflect" else out

    def conv(x, *args, **kwargs):
        layouts.append(x.is_contiguous(memory_format=torch.channels_last))
        return conv2d(x, *args, **kwargs)

    monkeypatch.setattr(F, "pad", padded)
    monkeypatch.setattr(F, "conv2d", conv)
    return layouts


def test_reflect_pad_keeps_values_gradients_and_layout():
    x = torch.randn(2, 5, 6, 7).contiguous(memory_format=torch.channels_last).requires_grad_()
    ref = x.detach().contiguous().requires_grad_()
    out, expected = reflect_pad(x, (1, 2, 2, 1)), F.pad(ref, (1, 2, 2, 1), mode="reflect")
    assert torch.equal(out, expected) and out.is_contiguous(memory_format=torch.channels_last)
    weight = torch.randn_like(expected)
    (out * weight).sum().backward()
    (expected * weight).sum().backward()
    assert torch.equal(x.grad, ref.grad)


@pytest.mark.parametrize("network", ["mirror_decoder", "reflect_vgg"])
def test_reflect_padded_networks_stay_channels_last(cuda_like_pad, network):
    torch.manual_seed(0)
    if network == "mirror_decoder":  # the AdaIN decoder: ReflectionPad2d + conv in every unit
        net, x = MirrorVGGDecoder(64, 8), torch.randn(1, 64, 4, 5)
    else:  # pytorch-AdaIN's VGG: every conv reflect-padded (padding_mode)
        net, x = (
            VGG19Features(["relu2_1"], pretrained=False, padding="reflect"),
            torch.rand(1, 3, 16, 20),
        )
    with torch.no_grad():
        expected = net(x)
        cuda_like_pad.clear()
        out = net.to(memory_format=torch.channels_last)(
            x.contiguous(memory_format=torch.channels_last)
        )
    assert cuda_like_pad and all(cuda_like_pad), f"conv inputs in NCHW: {cuda_like_pad}"
    out, expected = (
        (out["relu2_1"], expected["relu2_1"]) if network == "reflect_vgg" else (out, expected)
    )
    torch.testing.assert_close(out, expected)
