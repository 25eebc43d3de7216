"""ViT intermediate layers: 'block<i>' and 'final' maps of the right shape, distinct, and checked \
names."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY_VIT

from models.vit import ViTFeatures

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def vit():
    torch.manual_seed(0)
    return ViTFeatures(TINY_VIT, layers=["block0", "final"], pretrained=False).eval()


@pytest.fixture(scope="module")
def vit_with_last_block():
    torch.manual_seed(0)  # the same random weights as `vit`
    return ViTFeatures(TINY_VIT, layers=["block0", "block11", "final"], pretrained=False).eval()


def test_block_and_final_maps(vit, vit_with_last_block):
    x = torch.rand(2, 3, 40, 72)  # not multiples of 16: padded to 48 x 80, a 3 x 5 token grid
    with torch.no_grad():
        out = vit(x)
        three = vit_with_last_block(x)
    last = three["block11"]  # vit_tiny has 12 blocks
    for layer in out:  # asking for another layer too changes nothing (stop_early, same weights)
        torch.testing.assert_close(three[layer], out[layer])
    assert set(out) == {"block0", "final"}
    for feat in out.values():
        assert feat.shape == (2, 192, 3, 5) and torch.isfinite(feat).all()
    assert vit.channels == {"block0": 192, "final": 192} and vit.strides == {
        "block0": 16,
        "final": 16,
    }
    assert not torch.allclose(out["block0"], out["final"]) and not torch.allclose(
        out["block0"], last
    )
    # 'final' is the last block's tokens after the final LayerNorm; 'block<i>' is the raw block
    # output
    expected = vit.model.norm(last.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(last.shape)
    torch.testing.assert_close(out["final"], expected)
    assert not torch.allclose(last, out["final"])


@pytest.mark.parametrize("name", ["block12", "block-13", "blocks3", "last"])
def test_unknown_layer_is_a_one_line_value_error(name):
    expected = rf"unknown ViT layer '{name}': use 'final' or 'block0' \.\.\. 'block11'"
    with pytest.raises(ValueError, match=expected) as err:
        ViTFeatures(TINY_VIT, layers=[name], pretrained=False)
    assert "\n" not in str(err.value)
