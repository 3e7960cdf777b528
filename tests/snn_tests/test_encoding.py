"""Rate coding: the firing rate is the pixel's value, draws repeat under a seed."""

import pytest
import torch

from spikefit_search.snn.encoding import RATE_LEVELS, rate_encode


@pytest.mark.parametrize("p", [0.0, 1 / 255, 0.3, 0.77, 1.0])
def test_rate_matches_the_pixel_value(p: float) -> None:
    x = torch.full((8, 500), p)
    spikes = rate_encode(x, 50, generator=torch.Generator().manual_seed(0))
    rate = float(spikes.mean())
    # 200k draws: 5 standard deviations of a Bernoulli mean, plus the 16-bit resolution
    tolerance = 5 * (p * (1 - p) / spikes.numel()) ** 0.5 + 1 / RATE_LEVELS
    assert abs(rate - p) <= tolerance
    if p in (0.0, 1.0):
        assert rate == p


def test_same_generator_same_spikes_and_dtype_kept() -> None:
    x = torch.rand(4, 1, 6, 6, dtype=torch.float64)
    a = rate_encode(x, 3, generator=torch.Generator().manual_seed(5))
    b = rate_encode(x, 3, generator=torch.Generator().manual_seed(5))
    c = rate_encode(x, 3, generator=torch.Generator().manual_seed(6))
    assert a.shape == (3, 4, 1, 6, 6) and a.dtype == torch.float64
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert set(a.unique().tolist()) <= {0.0, 1.0}


def test_global_seed_governs_draws_without_a_generator() -> None:
    x = torch.rand(2, 30)
    torch.manual_seed(1)
    a = rate_encode(x, 4)
    torch.manual_seed(1)
    assert torch.equal(a, rate_encode(x, 4))


def test_each_pixel_fires_at_its_own_rate() -> None:
    x = torch.tensor([[0.1, 0.5, 0.9]]).expand(2000, 3)
    rates = rate_encode(x, 20, generator=torch.Generator().manual_seed(2)).mean(dim=(0, 1))
    assert torch.allclose(rates, torch.tensor([0.1, 0.5, 0.9]), atol=0.01)
