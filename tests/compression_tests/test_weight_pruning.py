from __future__ import annotations

import pytest
import torch

from spikefit_search.compression import FisherWeightPruner, synapse_fisher
from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import NetworkConfig, SpikingNetwork


@pytest.mark.parametrize(
    "cfg",
    [
        NetworkConfig(hidden=(8,), timesteps=3, encoder="direct"),
        NetworkConfig(kind="conv", channels=(3,), hidden=(5,), pool=2, timesteps=2),
    ],
    ids=["mlp", "conv"],
)
def test_fan_in_cap_keeps_the_highest_fisher_synapses(cfg: NetworkConfig) -> None:
    model = SpikingNetwork(cfg)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(32, 1, 8, 8, generator=gen), torch.randint(0, 10, (32,), generator=gen)
    scores = synapse_fisher(model, x, y)
    masks = FisherWeightPruner(6).apply(model, x, y)
    for layer, mask, score in zip(model.synaptic_layers, masks, scores):
        rows = mask.reshape(mask.shape[0], -1)
        assert int(rows.sum(1).max()) <= 6
        assert layer.mask is mask
        assert torch.all(layer.effective_weight()[mask == 0] == 0)
        s = score.reshape(mask.shape[0], -1)
        for r in range(rows.shape[0]):
            if rows.shape[1] > 6:
                assert s[r][rows[r] == 1].min() >= s[r][rows[r] == 0].max()


def test_fan_in_cap_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"fan_in_cap must be at least 1, but got fan_in_cap=0\."):
        FisherWeightPruner(0)
    with pytest.raises(TypeError, match="fan_in_cap must be an int"):
        FisherWeightPruner(2.5)  # type: ignore[arg-type]
