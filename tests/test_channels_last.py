"""channels_last end to end (runtime/channels_last.py): the layers that keep NHWC, the swap that
puts them into a built network, and infer.py and eval running it.

No GPU here: F.pad is replaced by one returning what CUDA's reflection_pad2d returns (a contiguous
tensor), and every conv's input and weight layouts are recorded.
"""

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import vary_outputs, vit_config
from test_infer_cli import _img
from torch import nn

import infer
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from eval.methods import CheckpointMethod
from inference.engine import Engine
from models.net import StyleTransferNet
from runtime.channels_last import (
    InstanceNorm2d,
    PaddedConv2d,
    ReflectionPad2d,
    keep_channels_last,
    reflect_pad,
)
from weights.load import load_model
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
    """F.pad as on CUDA, and (input, weight) is channels_last for every conv2d."""
    pad, conv2d, layouts = F.pad, F.conv2d, []

    def padded(x, p, mode="constant", value=None):
        out = pad(x, p, mode=mode) if value is None else pad(x, p, mode=mode, value=value)
        return out.contiguous() if mode == "reflect" else out

    def conv(x, weight, *args, **kwargs):
        nhwc = (t.is_contiguous(memory_format=torch.channels_last) for t in (x, weight))
        layouts.append(tuple(nhwc))
        return conv2d(x, weight, *args, **kwargs)

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
def test_keep_channels_last_swaps_layers_keeps_weights_and_outputs(cuda_like_pad, decoder):
    # pytorch-AdaIN's VGG (every conv reflect-padded) and the decoder's ReflectionPad2d or
    # InstanceNorm2d: each would hand the next conv an NCHW input
    enc = EncoderConfig(kind="vgg19", pretrained=False, padding="reflect")
    net = StyleTransferNet(ModelConfig(enc, DecoderConfig(kind=decoder))).eval()
    plain = copy.deepcopy(net)
    before = [type(m) for m in net.modules()]
    kinds = {nn.Conv2d, nn.ReflectionPad2d if decoder == "mirror_vgg" else nn.InstanceNorm2d}
    assert kinds <= set(before)
    assert keep_channels_last(keep_channels_last(net)) is net  # idempotent
    assert [type(m) for m in net.modules()] == [SWAPPED.get(t, t) for t in before]
    state, plain_state = net.state_dict(), plain.state_dict()
    assert list(state) == list(plain_state)
    assert all(torch.equal(state[k], plain_state[k]) for k in state)
    content, style = nhwc(torch.rand(1, 3, 32, 40)), nhwc(torch.rand(1, 3, 32, 32))
    with torch.no_grad():
        expected = plain(content, style)
        cuda_like_pad.clear()
        out = net.to(memory_format=torch.channels_last)(content, style)
    assert cuda_like_pad and all(x for x, _ in cuda_like_pad), f"NCHW conv inputs: {cuda_like_pad}"
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def vit_release(tmp_path) -> Path:
    return save_release(tmp_path / "vit.safetensors", StyleTransferNet(vit_config()))


def test_infer_runs_nhwc_throughout_and_keeps_the_vit_token_map_nhwc(cuda_like_pad, tmp_path):
    enc = EncoderConfig(kind="vgg19", pretrained=False, padding="reflect")
    net = StyleTransferNet(ModelConfig(enc, DecoderConfig(kind="mirror_vgg")))
    vary_outputs(net)
    vgg = save_release(tmp_path / "vgg.safetensors", net)
    content, style = _img(tmp_path / "c.png", 48, 64, 1), _img(tmp_path / "s.png", 40, 40, 3)
    base = ["--content", str(content), "--style", str(style), "--weights", "random"]
    for flags, channels_last in (([], True), (["--no-channels-last"], False)):
        cuda_like_pad.clear()
        out = ["--out", str(tmp_path / str(channels_last))]
        infer.stylize([*base, "--checkpoint", str(vgg), *out, *flags])
        if channels_last:  # every conv, reflect-padded ones included
            assert set(cuda_like_pad) == {(True, True)}, cuda_like_pad
        else:  # images read from files are NHWC views: the run makes them NCHW
            assert set(cuda_like_pad) == {(False, False)}, cuda_like_pad
    # a ViT's token map is an NHWC view in an NCHW run too: the decoder's InstanceNorms keep it,
    # up to its last conv
    cuda_like_pad.clear()
    flags = ["--checkpoint", str(vit_release(tmp_path)), "--no-channels-last"]
    infer.stylize([*base, *flags, "--out", str(tmp_path / "vit")])
    assert cuda_like_pad[-1][0], "the decoder's last conv ran NCHW"


def test_eval_runs_a_checkpoint_as_infer_does(tmp_path):
    release = vit_release(tmp_path)
    engine = Engine.for_net(load_model(release), torch.device("cpu"), "fp32", False, 0)
    content, style = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 32)
    expected = engine.decode_batch(content, [engine.encode(style)])[0]
    assert torch.equal(CheckpointMethod(release, "vit").stylize(content, style), expected)
