"""Structural tests of the composed models, in timm's manner: build, forward, backward, gradients \
where due."""

import pytest
import torch
from conftest import vgg_config, vit_config

from configs.schema import LossConfig
from models.net import StyleTransferNet
from models.vgg import VGG19_LAYERS, VGG19Features
from training.objective import StyleTransferObjective

CASES = {
    "vgg+mirror": (vgg_config("mirror_vgg"), "adain"),
    "vgg+transposed": (vgg_config("transposed_conv"), "adain"),
    "vit+transposed": (vit_config("transposed_conv"), "content"),
    "vit+mirror": (vit_config("mirror_vgg"), "content"),
}


def test_layer_table_matches_torchvision_indices():
    expected = {
        "relu1_1": 1,
        "relu2_1": 6,
        "relu3_1": 11,
        "relu4_1": 20,
        "relu5_1": 29,
        "conv4_2": 21,
    }
    assert {k: VGG19_LAYERS[k] for k in expected} == expected


def test_vgg_features_truncated_and_conv_outputs_not_overwritten():
    net = VGG19Features(["conv4_2", "relu4_2"], pretrained=False)
    assert len(net.body) == VGG19_LAYERS["relu4_2"] + 1
    feats = net(torch.rand(1, 3, 32, 32))
    assert (feats["conv4_2"] < 0).any(), "conv4_2 was overwritten by an in-place ReLU"
    assert torch.equal(feats["relu4_2"], feats["conv4_2"].clamp_min(0))


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("size", [(64, 64), (72, 120)])
def test_forward_backward(name, size):
    model_cfg, content_target = CASES[name]
    net = StyleTransferNet(model_cfg)
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
    objective = StyleTransferObjective(
        net,
        LossConfig(
            loss_net_pretrained=False,
            content_target=content_target,
            style_layers=layers,
            tv_weight=1.0,
        ),
    )
    content, style = torch.rand(2, 3, *size), torch.rand(2, 3, 64, 48)
    out = net(content, style)
    assert out.shape == content.shape
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1

    losses = objective(content, style)
    assert all(torch.isfinite(v).all() for v in losses.values())
    losses["total"].backward()
    trainable = [(n, p) for n, p in objective.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("net.decoder.") for n, _ in trainable)
    for n, p in trainable:
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
    for n, p in objective.named_parameters():
        if not p.requires_grad:
            assert p.grad is None, n


def test_vgg_objective_shares_the_encoder_with_the_loss_network():
    net = StyleTransferNet(vgg_config())
    objective = StyleTransferObjective(net, LossConfig(loss_net_pretrained=False))
    assert objective.shared
    assert objective.loss_net.body[0] is net.encoder.body[0]
    calls = []
    hook = objective.loss_net.body[0].register_forward_hook(lambda *a: calls.append(1))
    objective(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
    hook.remove()
    assert len(calls) == 3, "content, style and output each pass the frozen VGG exactly once"


def test_trainable_encoder_gets_gradients():
    cfg = vgg_config()
    cfg.encoder.trainable = True
    net = StyleTransferNet(cfg)
    objective = StyleTransferObjective(net, LossConfig(loss_net_pretrained=False))
    assert not objective.shared
    objective(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))["total"].backward()
    assert all(p.grad is not None for p in net.encoder.parameters())


def test_adain_content_target_rejected_for_vit():
    from configs.schema import Config, ConfigError
    from configs.validate import validate

    with pytest.raises(ConfigError, match="content_target"):
        validate(Config(model=vit_config(), loss=LossConfig(loss_net_pretrained=False)))
