from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from spikefit_search.compression import (
    NEURON_SCORES,
    attach_quantizers,
    fisher_spike_contribution,
    mask_neurons,
    prune_neurons,
    select_neurons,
    shrink_network,
)
from spikefit_search.exceptions import ConfigError, UnknownNameError
from spikefit_search.snn import NetworkConfig, SpikingNetwork

CONFIGS = {
    "mlp": NetworkConfig(hidden=(10, 7), timesteps=4, encoder="direct", beta=0.8, threshold=0.3),
    "conv": NetworkConfig(
        kind="conv",
        channels=(5, 6),
        hidden=(9,),
        pool=2,
        timesteps=3,
        encoder="direct",
        threshold=0.3,
    ),
}


def _data(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    return torch.rand(n, 1, 8, 8, generator=gen), torch.randint(0, 10, (n,), generator=gen)


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_rho_zero_leaves_outputs_unchanged(kind: str) -> None:
    model = SpikingNetwork(CONFIGS[kind])
    x, y = _data()
    pruned = prune_neurons(model, 0.0, method="fsc", x=x, y=y)
    assert pruned.config == model.config
    assert torch.equal(pruned(x), model(x))


@pytest.mark.parametrize("kind", sorted(CONFIGS))
@pytest.mark.parametrize("method", ["fsc", "magnitude", "random"])
@pytest.mark.parametrize("rho", [0.25, 0.5, 0.7])
def test_pruning_removes_round_rho_n_and_matches_masked_original(
    kind: str, method: str, rho: float
) -> None:
    model = SpikingNetwork(CONFIGS[kind])
    x, y = _data()
    scores = NEURON_SCORES.get(method)(model, x, y, seed=0)
    keep = select_neurons(scores, rho)
    pruned = shrink_network(model, keep)
    sizes = model.config.hidden_sizes
    assert pruned.config.hidden_sizes == tuple(n - round(rho * n) for n in sizes)
    for s, k in zip(scores, keep):  # the removed ones are the lowest scores
        removed = torch.ones(len(s), dtype=torch.bool)
        removed[k] = False
        if removed.any():
            assert s[removed].max() <= s[k].min()
    assert prune_neurons(model, rho, method=method, x=x, y=y).config == pruned.config
    masked = copy.deepcopy(model)
    mask_neurons(masked, keep)
    out_p, out_m = pruned.run(x), masked.run(x)
    assert torch.allclose(out_p.logits, out_m.logits, atol=1e-5)
    for s_p, s_m, k in zip(out_p.spikes, out_m.spikes, keep):
        assert torch.equal(s_p, s_m.index_select(2, k))
        dead = torch.ones(s_m.shape[2], dtype=torch.bool)
        dead[k] = False
        assert s_m[:, :, dead].sum() == 0


def test_output_layer_is_never_pruned() -> None:
    model = SpikingNetwork(CONFIGS["mlp"])
    pruned = prune_neurons(model, 0.5, method="magnitude")
    assert pruned.synaptic_layers[-1].latent_weight.shape[0] == 10


def test_fsc_ranking_tracks_measured_loss_increase_better_than_random() -> None:
    torch.manual_seed(0)
    cfg = NetworkConfig(hidden=(16,), timesteps=4, encoder="direct", threshold=0.5)
    model = SpikingNetwork(cfg)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(300, 1, 8, 8, generator=gen)
    y = (x[:, 0, :4].mean((1, 2)) > x[:, 0, 4:].mean((1, 2))).long() + 2 * (
        x[:, 0, :, :4].mean((1, 2)) > x[:, 0, :, 4:].mean((1, 2))
    ).long()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        base = float(F.cross_entropy(model(x), y))
        increase = []
        for k in range(16):
            masked = copy.deepcopy(model)
            mask_neurons(masked, [torch.tensor([i for i in range(16) if i != k])])
            increase.append(float(F.cross_entropy(masked(x), y)) - base)
    fsc = fisher_spike_contribution(model, x, y)[0]
    rand = NEURON_SCORES.get("random")(model, x, y, seed=0)[0]

    def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
        ra = torch.argsort(torch.argsort(a)).double()
        rb = torch.argsort(torch.argsort(b)).double()
        return float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])

    truth = torch.tensor(increase)
    rho_fsc, rho_rand = spearman(fsc, truth), spearman(rand.double(), truth)
    assert rho_fsc > 0.5
    assert rho_fsc > rho_rand + 0.2


def test_pruning_errors() -> None:
    model = SpikingNetwork(CONFIGS["mlp"])
    x, y = _data()
    with pytest.raises(ConfigError, match=r"rho must be in \[0, 1\), but got rho=1.0."):
        prune_neurons(model, 1.0, method="random")
    with pytest.raises(ConfigError, match=r"rho must be in \[0, 1\), but got rho=-0.1."):
        prune_neurons(model, -0.1, method="random")
    with pytest.raises(UnknownNameError, match="neuron_pruning must be one of fsc, magnitude"):
        prune_neurons(model, 0.5, method="taylor")
    with pytest.raises(ConfigError, match="fsc neuron pruning needs calibration data"):
        prune_neurons(model, 0.5)
    with pytest.raises(ConfigError, match="at least one neuron in hidden layer 0"):
        select_neurons([torch.rand(1)], 0.9)
    attach_quantizers(model, "cat", n_values=2, bits=4)
    with pytest.raises(ConfigError, match="needs a float network"):
        prune_neurons(model, 0.5, method="random", x=x, y=y)
