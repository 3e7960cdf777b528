from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import NetworkConfig, SpikingNetwork
from spikefit_search.training import evaluate
from spikefit_search.training.stats import (
    accuracy_se,
    decode_correct,
    draw_se,
    encode_correct,
    paired_se,
    seeds_se,
)

SHARES = np.array([1.0, 0.5, 0.0, 1.0])  # four samples, two draws each


def test_accuracy_se_is_the_sd_of_the_per_sample_shares_over_root_n() -> None:
    # mean 0.625; squared deviations .140625 + .015625 + .390625 + .140625 = .6875;
    # var = .6875 / 3 = .229167, sd = .478714, / sqrt(4) = .239357
    assert accuracy_se(SHARES) == pytest.approx(0.239357, abs=1e-6)
    assert math.isnan(accuracy_se(np.array([1.0])))


def test_one_draw_gives_the_binomial_standard_error() -> None:
    hits = np.array([1.0] * 9 + [0.0] * 3)
    a, n = 0.75, 12
    assert accuracy_se(hits) == pytest.approx(math.sqrt(a * (1 - a) / (n - 1)))


def test_draw_part_by_hand() -> None:
    # sum c(1-c) = 0.25, / (R - 1) = 0.25, sqrt = 0.5, / n = 0.125
    assert draw_se(SHARES, 2) == pytest.approx(0.125)
    assert math.isnan(draw_se(SHARES, 1))


def test_paired_se_cancels_what_both_networks_share() -> None:
    a = np.array([1.0] * 90 + [0.0] * 10)
    b = a.copy()
    b[90:93] = 1.0  # b gets three more samples right, on the same split
    d = math.sqrt(0.03 * 0.97 * 100 / 99) / 10  # sd of (0,..,1,1,1,..) / sqrt(n)
    assert paired_se(b, a) == pytest.approx(d)
    assert paired_se(a, a) == 0.0
    assert paired_se(b, a) < math.hypot(accuracy_se(a), accuracy_se(b))


def test_seeds_se_adds_the_seed_spread_to_the_split() -> None:
    a, b = np.array([1.0, 1.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.0])
    # seeds: means .5, .25, var .03125, / 2 = .015625; samples: shares [1, .5, 0, 0],
    # var .229167, / 4 = .057292; sqrt(.072917) = .270031
    assert seeds_se([a, b]) == pytest.approx(0.270031, abs=1e-6)
    assert seeds_se([a]) == accuracy_se(a)


def test_per_sample_counts_survive_their_text_form() -> None:
    counts = np.array([0, 3, 8, 255], dtype=np.uint8)
    assert np.array_equal(decode_correct(encode_correct(counts), 8), counts / 8)


def _data(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 4, 4, generator=gen), torch.randint(0, 3, (n,), generator=gen)


def test_rate_coded_evaluation_draws_several_times_and_states_its_error() -> None:
    torch.manual_seed(0)
    model = SpikingNetwork(NetworkConfig(input_shape=(1, 4, 4), n_classes=3, hidden=(8,)))
    x, y = _data()
    one = evaluate(model, x, y, draws=1)
    many = evaluate(model, x, y)
    assert many.draws == 8 and many.counts is not None and many.counts.max() <= 8
    assert many.accuracy == pytest.approx(many.counts.sum() / (len(y) * 8))
    assert many.se == pytest.approx(accuracy_se(many.correct)) and many.se > 0
    assert one.draws == 1 and set(one.correct.tolist()) <= {0.0, 1.0}
    with pytest.raises(ConfigError, match="draws"):
        evaluate(model, x, y, draws=0)


def test_deterministic_input_is_evaluated_once() -> None:
    torch.manual_seed(0)
    cfg = NetworkConfig(input_shape=(1, 4, 4), n_classes=3, hidden=(8,), encoder="direct")
    x, y = _data()
    assert evaluate(SpikingNetwork(cfg), x, y).draws == 1
