"""Loss functions: Gram properties, fp16 safety, zero on identical inputs, registry."""

import pytest
import torch

from models.losses import (
    STYLE_LOSSES,
    content_loss,
    gram,
    layer_weights,
    style_losses,
    style_targets,
    tv_loss,
)


def test_gram_is_symmetric_psd_and_normalized():
    feat = torch.randn(3, 16, 8, 8).relu()
    g = gram(feat)
    assert g.shape == (3, 16, 16)
    torch.testing.assert_close(g, g.transpose(1, 2))
    assert torch.linalg.eigvalsh(g.double()).min() > -1e-6
    flat = feat.reshape(3, 16, 64)
    torch.testing.assert_close(g, flat @ flat.transpose(1, 2) / (16 * 64))


@pytest.mark.parametrize("name", list(STYLE_LOSSES))
def test_style_loss_zero_for_identical_and_positive_otherwise(name):
    feats = {"a": torch.rand(2, 8, 6, 6), "b": torch.rand(2, 16, 3, 3)}
    targets = style_targets(name, feats, ["a", "b"])
    # w2 cancels traces against eigenvalues: round-off, never exactly 0
    tol = 1e-8 if name == "w2" else 0.0
    assert all(abs(v.item()) <= tol for v in style_losses(name, feats, targets).values())
    other = {k: v * 2 + 0.5 for k, v in feats.items()}
    assert all(v.item() > 0 for v in style_losses(name, other, targets).values())


def test_gram_loss_finite_under_fp16_autocast_where_naive_fp16_overflows():
    device = "cuda" if torch.cuda.is_available() else "cpu"  # CPU autocast supports float16 too
    feat = (
        torch.randn(1, 64, 64, 64, device=device) * 4 + 20
    ).relu()  # activations around 20, 64x64
    target = style_targets("gram", {"x": feat * 0.9}, ["x"])
    with torch.autocast(device_type=device, dtype=torch.float16):
        # an fp16 layer
        x = torch.nn.functional.conv2d(feat, torch.eye(64, device=device).view(64, 64, 1, 1))
        assert x.dtype == torch.float16
        flat = x.flatten(2)
        # what an un-guarded Gram computes here
        naive = flat @ flat.transpose(1, 2) / (64 * 64 * 64)
        g = gram(x)
        loss = style_losses("gram", {"x": x}, target)["x"]
    assert not torch.isfinite(naive).all(), "the fixture must overflow a naive fp16 Gram"
    assert g.dtype == torch.float32 and torch.isfinite(g).all() and torch.isfinite(loss)
    torch.testing.assert_close(g, gram(feat), rtol=1e-2, atol=1e-2)


def test_fp16_inputs_are_upcast():
    feat = torch.full((1, 4, 64, 64), 20.0, dtype=torch.float16)
    assert torch.isfinite(gram(feat)).all() and gram(feat).dtype == torch.float32


def test_content_and_tv():
    x = torch.rand(2, 3, 8, 8)
    assert content_loss(x, x).item() == 0
    assert content_loss(x, x + 1).item() == pytest.approx(1.0)
    assert tv_loss(torch.ones(1, 3, 8, 8)).item() == 0
    assert tv_loss(x).item() > 0


def test_registry_and_weights_errors():
    with pytest.raises(ValueError, match="unknown style loss"):
        STYLE_LOSSES["nope"]
    assert layer_weights(["a", "b"], []) == {"a": 1.0, "b": 1.0}
    with pytest.raises(ValueError):
        layer_weights(["a", "b"], [1.0])
