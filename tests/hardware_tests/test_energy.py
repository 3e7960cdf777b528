from __future__ import annotations

import pytest
import torch

from spikefit_search.hardware import estimate_energy, list_profiles, load_profile
from spikefit_search.snn import Activity, LayerActivity, NetworkConfig, SpikingNetwork


def _hand_network() -> SpikingNetwork:
    """2 inputs -> 2 IF neurons -> 2 spiking outputs, weights set by hand, T = 3."""
    config = NetworkConfig(
        input_shape=(1, 1, 2),
        hidden=(2,),
        n_classes=2,
        beta=1.0,
        threshold=1.0,
        reset="subtract",
        timesteps=3,
        encoder="direct",
        readout="spikes",
    )
    net = SpikingNetwork(config)
    with torch.no_grad():
        net.synaptic_layers[0].synapse.weight.copy_(torch.tensor([[0.6, 0.6], [0.3, 0.0]]))
        net.synaptic_layers[1].synapse.weight.copy_(torch.tensor([[1.5, 0.0], [0.4, 0.0]]))
    return net


def _activity(net: SpikingNetwork) -> Activity:
    out = net.run(torch.ones(1, 1, 1, 2), record=True)
    assert out.sums is not None
    return Activity(
        timesteps=net.config.timesteps,
        samples=1,
        layers=[
            LayerActivity(spec.n_neurons, ev, sops, spk)
            for spec, (ev, sops, spk) in zip(net.specs, out.sums)
        ],
    )


def test_hand_counted_activity() -> None:
    # hidden 0 gets 1.2 per step: spikes at every step (3); hidden 1 gets 0.3: never (0.9 < 1)
    # output 0 gets 1.5 per step from hidden 0: 3 spikes; output 1 gets 0.4: 1.2 at t=3, 1 spike
    # SOPs: input 0 drives 2 synapses, input 1 drives 1, each of 3 steps: 9;
    #       hidden 0 drives 2 synapses per spike: 6. Total 15.
    activity = _activity(_hand_network())
    assert [layer.spikes for layer in activity.layers] == [3.0, 4.0]
    assert [layer.sops for layer in activity.layers] == [9.0, 6.0]
    assert activity.total_neurons == 4


def test_energy_clocked_chip_equals_hand_computation() -> None:
    report = estimate_energy("loihi", _activity(_hand_network()))
    assert (report.sops, report.spikes, report.updates) == (15.0, 7.0, 4 * 3)
    # 15 SOPs x 23.6 pJ + 12 updates x 81 pJ + 7 spikes x 1.7 pJ, static 0
    hand_pj = 15 * 23.6 + 12 * 81.0 + 7 * 1.7
    assert report.total_uj == pytest.approx(hand_pj * 1e-6)
    assert report.static_uj == 0.0
    assert report.clocked
    assert "static_power_mw" in report.estimated and "e_sop_pj" not in report.estimated


def test_energy_event_driven_chip_updates_on_input_only() -> None:
    report = estimate_energy("speck", _activity(_hand_network()))
    assert report.updates == report.sops == 15.0
    # 15 SOPs x 10 pJ (estimated) + 0.42 mW x 3 steps x 1 ms = 1.26 uJ
    assert report.total_uj == pytest.approx(15 * 10.0 * 1e-6 + 0.42 * 3 * 1.0)
    assert report.is_estimate and "e_sop_pj" in report.estimated


@pytest.mark.parametrize("name", list_profiles())
def test_energy_is_linear_in_counts(name: str) -> None:
    p = load_profile(name)
    c = p.energy
    act = Activity(timesteps=5, samples=1, layers=[LayerActivity(10, 20.0, 100.0, 7.0)])
    updates = 10 * 5 if c.clocked.value else 100.0
    expected_pj = 100 * c.e_sop_pj.value + updates * c.e_update_pj.value + 7 * c.e_spike_pj.value
    expected = expected_pj * 1e-6 + c.static_power_mw.value * 5 * c.dt_ms.value
    report = estimate_energy(p, act)
    assert report.total_uj == pytest.approx(expected)
    assert report.to_dict()["energy_uj"] == pytest.approx(expected)
