from __future__ import annotations

import pytest
import torch

from spikefit_search.snn import NetworkConfig, SpikingNetwork
from spikefit_search.training import evaluate


def test_mlp_and_conv_forward_shapes() -> None:
    mlp = SpikingNetwork(NetworkConfig(hidden=(16,), timesteps=3))
    assert mlp(torch.rand(5, 1, 8, 8)).shape == (5, 10)
    conv = SpikingNetwork(
        NetworkConfig(kind="conv", channels=(4,), pool=2, hidden=(12,), timesteps=3)
    )
    out = conv.run(torch.rand(5, 1, 8, 8))
    assert out.logits.shape == (5, 10)
    assert [tuple(s.shape) for s in out.spikes] == [(3, 5, 4, 8, 8), (3, 5, 12)]


def test_spike_readout_counts_output_spikes() -> None:
    net = SpikingNetwork(NetworkConfig(hidden=(16,), timesteps=4, readout="spikes"))
    out = net.run(torch.rand(3, 1, 8, 8))
    assert len(out.spikes) == 2
    torch.testing.assert_close(out.logits, out.spikes[-1].mean(dim=0))


def test_activity_matches_hand_count() -> None:
    # 4 inputs -> 2 hidden (IF, threshold 1) -> 2 outputs, direct input, T = 2.
    cfg = NetworkConfig(
        input_shape=(1, 1, 4), hidden=(2,), n_classes=2, timesteps=2, encoder="direct", beta=1.0
    )
    net = SpikingNetwork(cfg)
    with torch.no_grad():
        net.synaptic_layers[0].synapse.weight.copy_(
            torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.3, 0.3, 0.0, 0.0]])
        )
        net.synaptic_layers[1].synapse.weight.copy_(torch.tensor([[1.0, 0.0], [2.0, -1.0]]))
    x = torch.tensor([[[[1.0, 1.0, 0.0, 1.0]]]])
    # hidden 0 gets 1.0 per step -> spikes at t=0,1; hidden 1 gets 0.6 -> 0.6, 1.2 (spike at t=1)
    # input events: 3 non-zero inputs x 2 steps = 6; SOPs: input 0 drives 2 synapses, input 1
    # drives 1, input 3 drives 0 -> (2 + 1 + 0) x 2 steps = 6.
    # hidden spikes: 3; SOPs into the output: hidden 0 drives 2, hidden 1 drives 1 ->
    # 2 spikes x 2 + 1 spike x 1 = 5.
    res = evaluate(net, x, torch.tensor([0]))
    layers = res.activity.layers
    assert (layers[0].input_events, layers[0].sops, layers[0].spikes) == (6.0, 6.0, 3.0)
    assert (layers[1].input_events, layers[1].sops, layers[1].spikes) == (3.0, 5.0, 0.0)
    assert res.activity.total_sops == 11.0
    assert layers[0].neurons == 2 and layers[1].neurons == 2


def test_conv_sops_count_nonzero_synapses_per_event() -> None:
    cfg = NetworkConfig(
        kind="conv",
        input_shape=(1, 3, 3),
        channels=(1,),
        kernel=3,
        padding=1,
        hidden=(2,),
        timesteps=1,
        encoder="direct",
    )
    net = SpikingNetwork(cfg)
    with torch.no_grad():
        net.synaptic_layers[0].synapse.weight.fill_(0.1)
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 1, 1] = 1.0  # the centre pixel drives all 9 output positions
    x[0, 0, 0, 0] = 1.0  # a corner pixel drives 4 (padding)
    res = evaluate(net, x, torch.tensor([0]))
    assert res.activity.layers[0].sops == 13.0


@pytest.mark.parametrize("pool", [2, 3])
def test_average_pooling_counts_the_events_the_next_layer_receives(pool: int) -> None:
    # Speck turns AvgPool into SumPool (the next weights scaled by 1/k^2, the same currents):
    # the next layer receives every spike of the window, an integer count, not their mean
    base = dict(kind="conv", input_shape=(1, 12, 12), channels=(4,), kernel=3, padding=1)
    averaged = NetworkConfig(**base, pool=pool, pool_mode="avg", hidden=(5,), timesteps=3)
    summed = NetworkConfig(**base, pool=pool, pool_mode="sum", hidden=(5,), timesteps=3)
    torch.manual_seed(0)
    avg_net = SpikingNetwork(averaged)
    sum_net = SpikingNetwork(summed)
    sum_net.load_state_dict(avg_net.state_dict())
    with torch.no_grad():
        avg_net.synaptic_layers[0].synapse.weight.mul_(4.0)  # plenty of spikes
        sum_net.synaptic_layers[0].synapse.weight.mul_(4.0)
    x = torch.rand(6, 1, 12, 12)
    a = avg_net.run(x, record=True, generator=torch.Generator().manual_seed(1))
    s = sum_net.run(x, record=True, generator=torch.Generator().manual_seed(1))
    assert a.sums is not None and s.sums is not None
    assert torch.equal(a.spikes[0], s.spikes[0]) and a.sums[0][2] > 0
    events, sops = a.sums[1][0], a.sums[1][1]
    assert events == s.sums[1][0] == float(a.spikes[0].sum())  # every spike, once
    assert sops == s.sums[1][1] and sops == round(sops)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda() -> None:
    net = SpikingNetwork(NetworkConfig(hidden=(16,), timesteps=3)).cuda()
    out = net(torch.rand(4, 1, 8, 8, device="cuda"))
    out.sum().backward()
    assert out.is_cuda
