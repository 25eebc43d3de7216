"""Invariants of AdaIN and its variants (pure functions)."""

import pytest
import torch

from models.adain import adain, blend, mean_std, mix_stats, resize_masks
from models.net import StyleTransferNet
from models.registry import TRANSFORMS
from models.transfer import transfer


def feats(b=2, c=8, h=12, w=10, scale=3.0, shift=1.0):
    return torch.randn(b, c, h, w) * scale + shift


def test_output_has_style_statistics():
    content, style = feats(), feats(h=7, w=9, scale=0.5, shift=-2.0)
    out = adain(content, style)
    mean_o, std_o = mean_std(out, eps=0)
    mean_s, std_s = mean_std(style, eps=0)
    torch.testing.assert_close(mean_o, mean_s, atol=1e-4, rtol=0)
    torch.testing.assert_close(std_o, std_s, atol=1e-4, rtol=0)


def test_adain_of_itself_is_identity_and_inputs_untouched():
    x = feats()
    before = x.clone()
    torch.testing.assert_close(adain(x, x), x, atol=1e-5, rtol=1e-5)
    assert torch.equal(x, before)


def test_alpha_zero_gives_content_and_one_gives_target():
    content, style = feats(), feats(scale=0.2)
    target = adain(content, style)
    torch.testing.assert_close(blend(content, target, 0.0), content)
    torch.testing.assert_close(blend(content, target, 1.0), target)


def test_mixed_statistics_equal_the_weighted_sum_of_transfers():
    content, s1, s2 = feats(), feats(scale=0.2), feats(shift=5.0)
    c, a, b = mean_std(content), mean_std(s1), mean_std(s2)
    from models.adain import adain_stats

    torch.testing.assert_close(
        adain_stats(content, c, mix_stats([a, b], [1.0, 0.0])), adain(content, s1)
    )
    mixed = adain_stats(content, c, mix_stats([a, b], [0.3, 0.7]))
    torch.testing.assert_close(
        mixed, 0.3 * adain(content, s1) + 0.7 * adain(content, s2), atol=1e-5, rtol=1e-5
    )
    # normalized weights
    torch.testing.assert_close(adain_stats(content, c, mix_stats([a, b], [3, 7])), mixed)
    with pytest.raises(ValueError):
        mix_stats([a, b], [1.0])


def test_single_region_mask_equals_no_mask():
    content, style = feats(), feats(scale=0.3)
    mask = torch.ones(1, 40, 40)
    masks = resize_masks(mask, content.shape[-2:])
    out = transfer(TRANSFORMS["adain"], content, [mean_std(style)], masks=masks)
    torch.testing.assert_close(out, adain(content, style), atol=1e-5, rtol=1e-5)


def test_n_region_masks_give_each_region_its_style():
    content = feats(b=1, h=12, w=12)
    styles = [feats(b=1, shift=s, scale=0.1) for s in (-4.0, 0.0, 4.0)]
    masks = torch.zeros(3, 12, 12)
    masks[0, :, :4], masks[1, :, 4:8], masks[2, :, 8:] = 1, 1, 1
    out = transfer(TRANSFORMS["adain"], content, [mean_std(st) for st in styles], masks=masks[None])
    for k, shift in enumerate((-4.0, 0.0, 4.0)):
        region_mean = out[..., 4 * k : 4 * (k + 1)].mean().item()
        assert abs(region_mean - shift) < 0.3


def test_net_transfer_with_weights_and_masks(tmp_path):
    from conftest import vgg_config

    net = StyleTransferNet(vgg_config()).eval()
    c, s1, s2 = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        single = net(c, [s1])
        torch.testing.assert_close(net(c, [s1, s2], style_weights=[1, 0]), single)
        torch.testing.assert_close(
            net(c, [s1], masks=torch.ones(1, 32, 32)), single, atol=1e-5, rtol=1e-4
        )
        recon = net.decode(net.encode(c), c.shape[-2:])
        torch.testing.assert_close(net(c, s1, alpha=0.0), recon)
