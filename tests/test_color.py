"""Color preservation helpers."""

import pytest
import torch

from media.color import preserve_luminance, rgb_to_ycbcr, ycbcr_to_rgb
from models.transforms import match_color


def _mean_cov(x):
    p = x.double().flatten(2)[0]
    return p.mean(1), torch.cov(p, correction=0)


def test_match_color_gives_target_mean_and_covariance():
    source = torch.rand(1, 3, 20, 30) * torch.tensor([1.0, 0.2, 0.5]).view(1, 3, 1, 1)
    target = torch.rand(1, 3, 16, 16) ** 2
    out = match_color(source, target)
    m_o, c_o = _mean_cov(out)
    m_t, c_t = _mean_cov(target)
    torch.testing.assert_close(m_o, m_t, atol=1e-5, rtol=0)
    torch.testing.assert_close(c_o, c_t, atol=1e-5, rtol=0)


def test_luminance_keeps_content_chroma():
    content = torch.rand(1, 3, 16, 16) * 0.5 + 0.25
    stylized = torch.rand(1, 3, 16, 16) * 0.5 + 0.25
    out = preserve_luminance(stylized, content)
    torch.testing.assert_close(
        rgb_to_ycbcr(out)[:, 1:], rgb_to_ycbcr(content)[:, 1:], atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        rgb_to_ycbcr(out)[:, :1], rgb_to_ycbcr(stylized)[:, :1], atol=1e-5, rtol=0
    )


def test_luminance_refuses_a_content_of_another_size():
    with pytest.raises(ValueError, match="sizes differ"):
        preserve_luminance(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 17))


def test_ycbcr_round_trip():
    x = torch.rand(2, 3, 5, 5)
    torch.testing.assert_close(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-5, rtol=0)
