"""channels_last end to end (layout/channels_last.py): the layers that keep NHWC, the swap that puts
a built network in that layout, and infer.py running it.

No GPU here: F.pad is replaced by one returning what CUDA's reflection_pad2d returns (a contiguous
tensor), and every conv's input layout is recorded.
"""

import copy

import pytest
import torch
import torch.nn.functional as F
from conftest import vary_outputs
from test_infer_cli import _img
from torch import nn

import infer
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from layout.channels_last import (
    InstanceNorm2d,
    PaddedConv2d,
    ReflectionPad2d,
    reflect_pad,
    to_channels_last,
)
from models.net import StyleTransferNet
from weights.release import save_release

SWAPPED = {
    nn.ReflectionPad2d: ReflectionPad2d,
    nn.Conv2d: PaddedConv2d,
    nn.InstanceNorm2d: InstanceNorm2d,
}


def nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


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
    x = nhwc(torch.randn(2, 5, 6, 7)).requires_grad_()
    ref = x.detach().contiguous().requires_grad_()
    out, expected = reflect_pad(x, (1, 2, 2, 1)), F.pad(ref, (1, 2, 2, 1), mode="reflect")
    assert torch.equal(out, expected) and out.is_contiguous(memory_format=torch.channels_last)
    weight = torch.randn_like(expected)
    (out * weight).sum().backward()
    (expected * weight).sum().backward()
    assert torch.equal(x.grad, ref.grad)


@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_keeps_channels_last_and_matches_torch(affine):
    norm = InstanceNorm2d(8, affine=affine)
    if affine:
        torch.nn.init.normal_(norm.weight), torch.nn.init.normal_(norm.bias)
    x = torch.randn(2, 8, 12, 10) * 3 + 1
    ref = F.instance_norm(x, weight=norm.weight, bias=norm.bias, eps=norm.eps)
    out = norm(nhwc(x))
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    # NCHW: torch's own kernel
    assert torch.equal(norm(x), nn.InstanceNorm2d.forward(norm, x))


@pytest.mark.parametrize("decoder", ["mirror_vgg", "transposed_conv"])
def test_to_channels_last_swaps_layers_keeps_weights_and_outputs(cuda_like_pad, decoder):
    # pytorch-AdaIN's VGG (every conv reflect-padded) and the decoder's ReflectionPad2d or
    # InstanceNorm2d: each would hand the next conv an NCHW input
    enc = EncoderConfig(kind="vgg19", pretrained=False, padding="reflect")
    net = StyleTransferNet(ModelConfig(enc, DecoderConfig(kind=decoder))).eval()
    plain = copy.deepcopy(net)
    before = [type(m) for m in net.modules()]
    kinds = {nn.Conv2d, nn.ReflectionPad2d if decoder == "mirror_vgg" else nn.InstanceNorm2d}
    assert kinds <= set(before)
    assert to_channels_last(to_channels_last(net)) is net  # idempotent
    assert [type(m) for m in net.modules()] == [SWAPPED.get(t, t) for t in before]
    state, plain_state = net.state_dict(), plain.state_dict()
    assert list(state) == list(plain_state)
    assert all(torch.equal(state[k], plain_state[k]) for k in state)
    content, style = nhwc(torch.rand(1, 3, 32, 40)), nhwc(torch.rand(1, 3, 32, 32))
    with torch.no_grad():
        expected = plain(content, style)
        cuda_like_pad.clear()
        out = net(content, style)
    assert cuda_like_pad and all(cuda_like_pad), f"conv inputs in NCHW: {cuda_like_pad}"
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_infer_runs_its_net_channels_last_unless_told_not_to(cuda_like_pad, tmp_path):
    enc = EncoderConfig(kind="vgg19", pretrained=False, padding="reflect")
    net = StyleTransferNet(ModelConfig(enc, DecoderConfig(kind="mirror_vgg")))
    vary_outputs(net)
    ckpt = save_release(tmp_path / "vgg.safetensors", net)
    content, style = _img(tmp_path / "c.png", 48, 64, 1), _img(tmp_path / "s.png", 40, 40, 3)
    base = ["--checkpoint", str(ckpt), "--content", str(content), "--style", str(style)]
    base += ["--weights", "random"]
    for flags, layout in (([], True), (["--no-channels-last"], False)):
        cuda_like_pad.clear()
        infer.stylize([*base, "--out", str(tmp_path / str(layout)), *flags])
        assert cuda_like_pad and all(seen == layout for seen in cuda_like_pad), (flags, layout)
