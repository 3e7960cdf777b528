from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from spikefit_search.exceptions import ConfigError, UnknownNameError
from spikefit_search.hardware import (
    OBJECTIVES,
    check_objective,
    estimate_energy,
    get_objective,
    inference_window,
    list_profiles,
    load_profile,
    static_check,
)
from spikefit_search.hardware.energy import check_window, default_objective
from spikefit_search.snn import Activity, LayerActivity, NetworkConfig, SpikingNetwork


def _hand_network(w_hidden: list[list[float]] | None = None) -> SpikingNetwork:
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
    w0 = w_hidden if w_hidden is not None else [[0.6, 0.6], [0.3, 0.0]]
    with torch.no_grad():
        net.synaptic_layers[0].synapse.weight.copy_(torch.tensor(w0))
        net.synaptic_layers[1].synapse.weight.copy_(torch.tensor([[1.5, 0.0], [0.4, 0.0]]))
    return net


def _activity(net: SpikingNetwork) -> Activity:
    out = net.run(torch.ones(1, 1, 1, 2), record=True)
    assert out.sums is not None
    return Activity(
        timesteps=net.config.timesteps,
        samples=1,
        layers=[LayerActivity(spec.n_neurons, *sums) for spec, sums in zip(net.specs, out.sums)],
    )


def test_hand_counted_activity() -> None:
    # hidden 0 gets 1.2 per step: spikes at every step (3); hidden 1 gets 0.3: never (0.9 < 1)
    # output 0 gets 1.5 per step from hidden 0: 3 spikes; output 1 gets 0.4: 1.2 at t=3, 1 spike
    # SOPs: input 0 drives 2 synapses, input 1 drives 1, each of 3 steps: 9;
    #       hidden 0 drives 2 synapses per spike: 6. Total 15.
    # Dense SOPs (zeros included): 2 inputs x 2 synapses x 3 steps = 12; 3 spikes x 2 = 6.
    # Active neuron-steps: both hidden neurons get input every step (6); both outputs get
    # input at each of hidden 0's 3 spikes (6).
    activity = _activity(_hand_network())
    assert [layer.spikes for layer in activity.layers] == [3.0, 4.0]
    assert [layer.sops for layer in activity.layers] == [9.0, 6.0]
    assert [layer.dense_sops for layer in activity.layers] == [12.0, 6.0]
    assert [layer.active_updates for layer in activity.layers] == [6.0, 6.0]
    assert (activity.total_sops, activity.total_dense_sops) == (15.0, 18.0)
    assert activity.total_neurons == 4


def test_active_updates_count_only_neurons_that_got_input() -> None:
    # hidden 1 now has no non-zero synapse: it is updated every step but never active
    activity = _activity(_hand_network([[0.6, 0.6], [0.0, 0.0]]))
    assert activity.layers[0].active_updates == 3.0
    assert activity.layers[0].dense_sops == 12.0 and activity.layers[0].sops == 6.0


def test_energy_clocked_chip_equals_hand_computation() -> None:
    report = estimate_energy("loihi", _activity(_hand_network()))
    assert (report.sops, report.spikes, report.updates) == (15.0, 7.0, 4 * 3)
    # 15 SOPs x 23.6 pJ + 12 updates x 52 pJ (every neuron every step) + 12 active x 29 pJ
    # + 7 spikes x 1.7 pJ (1.7 to 5.7 pJ: a tile hop or not); static power is not modelled
    hand_pj = 15 * 23.6 + 12 * 52.0 + 12 * 29.0 + 7 * 1.7
    assert report.total_uj == pytest.approx(hand_pj * 1e-6)
    assert report.low_uj == pytest.approx(hand_pj * 1e-6)
    assert report.high_uj == pytest.approx((hand_pj + 7 * 4.0) * 1e-6)
    assert report.static_uj == 0.0 and report.not_modelled == ("static",)
    assert report.clocked and report.latency_ms == report.on_ms == 3 * 1.0
    assert "static_power_mw" not in report.estimated and "e_sop_pj" in report.secondary
    assert report.estimated_terms == ("static",)  # dt, which only sets the latency here


def test_loihi_charges_the_active_surcharge_only_where_input_arrived() -> None:
    busy = estimate_energy("loihi", _activity(_hand_network()))
    quiet = estimate_energy("loihi", _activity(_hand_network([[0.6, 0.6], [0.0, 0.0]])))
    # hidden 1 loses its 3 active steps (and its 3 SOPs); every neuron still pays 52 pJ a step
    assert busy.updates == quiet.updates == 12
    assert busy.update_uj - quiet.update_uj == pytest.approx(3 * 29.0 * 1e-6)


def test_zero_weights_cost_only_where_the_profile_says_they_are_not_free() -> None:
    activity = _activity(_hand_network())
    speck, truenorth = load_profile("speck"), load_profile("truenorth")
    assert not speck.unique_weights.zero_is_free.value
    assert truenorth.unique_weights.zero_is_free.value
    assert estimate_energy(speck, activity).sops == 18.0  # dense: every kernel entry
    assert estimate_energy(truenorth, activity).sops == 15.0  # crossbar bit 0 = no synapse
    free = replace(
        speck,
        unique_weights=replace(
            speck.unique_weights,
            zero_is_free=replace(speck.unique_weights.zero_is_free, value=True),
        ),
    )
    assert estimate_energy(free, activity).sops == 15.0


def test_event_driven_static_energy_is_the_window_not_t() -> None:
    speck = load_profile("speck")
    assert speck.energy.window_ms is not None
    default_window = speck.energy.window_ms.value
    short = Activity(timesteps=3, samples=1, layers=[LayerActivity(4, 6.0, 15.0, 7.0, 18.0, 6.0)])
    long = replace(short, timesteps=30)
    a, b = estimate_energy(speck, short), estimate_energy(speck, long)
    assert a.static_uj == b.static_uj == pytest.approx(0.42 * default_window)
    assert a.latency_ms == a.on_ms == default_window and a.window_source == "profile"
    # no energy per SynOp is published: the dynamic energy is not modelled (not 0 pJ)
    assert a.sops == 18.0 and a.dynamic_uj == 0.0
    assert a.not_modelled == ("sop", "update", "spike")
    assert a.total_uj == pytest.approx(a.dynamic_uj + a.static_uj)
    assert "static" in a.estimated_terms  # the profile's default window is an estimate
    data = estimate_energy(speck, short, data_window_ms=250.0)
    assert data.static_uj == pytest.approx(0.42 * 250.0) and data.window_source == "data"
    assert "static" not in data.estimated_terms  # 0.42 mW is published, the window measured
    option = estimate_energy(speck, short, window_ms=20.0, data_window_ms=250.0)
    assert option.on_ms == 20.0 and option.window_source == "option"


def test_clocked_static_energy_grows_with_t() -> None:
    truenorth = load_profile("truenorth")
    act = Activity(timesteps=4, samples=1, layers=[LayerActivity(10, 5.0, 20.0, 3.0)])
    a, b = estimate_energy(truenorth, act), estimate_energy(truenorth, replace(act, timesteps=8))
    assert b.static_uj == pytest.approx(2 * a.static_uj)
    assert a.static_uj == pytest.approx(42.0 * 4 * 1.0)
    assert a.latency_ms == 4.0 and a.window_source == "steps"
    # the static range (42-63 mW) and the SOP range (2.3-2.5 pJ) give the band
    assert a.low_uj == pytest.approx(42.0 * 4 + 20 * 2.3e-6)
    assert a.high_uj == pytest.approx(63.0 * 4 + 20 * 2.5e-6)
    assert a.not_modelled == ("update", "spike")
    # a clocked chip ignores an inference window
    assert estimate_energy(truenorth, act, window_ms=500.0).on_ms == 4.0


def _central(constant: object) -> float:
    return 0.0 if constant is None else constant.central  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "name", [n for n in list_profiles() if load_profile(n).energy.model == "events"]
)
def test_energy_is_linear_in_counts(name: str) -> None:
    p = load_profile(name)
    c = p.energy
    act = Activity(
        timesteps=5, samples=1, layers=[LayerActivity(10, 20.0, 100.0, 7.0, 130.0, 40.0)]
    )
    sops = 100.0 if p.unique_weights.zero_is_free.value else 130.0
    if c.clocked.value:
        assert c.dt_ms is not None
        updates_pj = 10 * 5 * _central(c.e_update_pj)
        updates_pj += 40.0 * _central(c.e_active_update_pj)
        on_ms = 5 * c.dt_ms.value
    else:
        assert c.window_ms is not None
        updates_pj = sops * _central(c.e_update_pj)
        on_ms = c.window_ms.value
    expected_pj = sops * _central(c.e_sop_pj) + updates_pj + 7 * _central(c.e_spike_pj)
    static = _central(c.static_power_mw) * on_ms
    expected = expected_pj * 1e-6 + static
    report = estimate_energy(p, act)
    assert report.total_uj == pytest.approx(expected)
    assert report.low_uj <= report.total_uj <= report.high_uj
    d = report.to_dict()
    assert d["energy_uj"] == pytest.approx(expected)
    terms = d["sop_uj"], d["update_uj"], d["spike_uj"], d["static_uj"]
    assert sum(terms) == pytest.approx(expected)  # type: ignore[arg-type]
    assert d["dynamic_uj"] == pytest.approx(expected - static)
    assert report.objective_value("sops") == sops
    assert report.objective_value("latency") == on_ms
    # an unknown constant is a term not modelled, never a figure of 0
    unknown = {"sop": c.e_sop_pj, "update": c.e_update_pj, "spike": c.e_spike_pj}
    unknown["static"] = c.static_power_mw
    assert set(report.not_modelled) == {t for t, k in unknown.items() if not k.known}


def test_objectives_and_their_refusals() -> None:
    assert set(OBJECTIVES) == {"energy", "dynamic", "sops", "latency"}
    assert get_objective("dynamic").key == "dynamic_uj"
    with pytest.raises(UnknownNameError, match=r"--objective must be one of .*but got 'power'"):
        get_objective("power")
    assert check_objective(load_profile("loihi"), "latency").key == "latency_ms"
    with pytest.raises(ConfigError, match="needs a clocked chip, but speck is event-driven"):
        check_objective(load_profile("speck"), "latency")
    # where no figure ranks candidates, energy is refused and sops is the default
    with pytest.raises(ConfigError, match=r"speck has none \(e_sop_pj, .* use --objective sops"):
        check_objective(load_profile("speck"), "energy")
    with pytest.raises(ConfigError, match=r"xylo-audio2 has none .* use --objective energy"):
        check_objective(load_profile("xylo-audio2"), "dynamic")
    assert [
        default_objective(load_profile(n)) for n in ("speck", "akida", "loihi", "xylo-imu")
    ] == [
        "sops",
        "sops",
        "energy",
        "energy",
    ]


def test_window_rules() -> None:
    with pytest.raises(ConfigError, match="event-driven chips, but loihi is clocked"):
        inference_window(load_profile("loihi"))
    assert inference_window(load_profile("speck"), option_ms=5.0) == (5.0, "option")
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ConfigError, match="--window-ms must be a positive number"):
            check_window(bad)
    assert check_window(None) is None


def _xylo_activity(steps: int = 5) -> Activity:
    """16 inputs -> 10 hidden -> 4 outputs, no recurrent weights; 24 of the 80 input bins and
    10 of the 50 hidden bins hold events (more events than bins: several share one)."""
    hidden = LayerActivity(10, 40.0, 300.0, 12.0, 400.0, 30.0, 24.0, 10.0, 16.0, 16.0, 10.0, 150.0)
    out = LayerActivity(4, 12.0, 40.0, 0.0, 48.0, 12.0, 10.0, 0.0, 10.0, 10.0, 4.0, 40.0)
    return Activity(timesteps=steps, samples=1, layers=[hidden, out])


def test_xylo_energy_is_the_clock_the_network_needs() -> None:
    report = estimate_energy("xylo-audio2", _xylo_activity())
    p_in, p_hid = 24 / 80, 10 / 50
    step = 16 * (p_in * 10 * 3.5 + 1) + 10 * 3 + 10 * p_hid * (1 + 8 * 4)
    step += 10 * (19 + 3 * p_hid) + 12 * 4
    assert report.cycles == pytest.approx(5 * step)
    worst = 16 * (10 * 3.5 + 1) + 10 * 3 + 10 * 33 + 10 * 22 + 48  # every bin active: 1204
    assert report.required_clock_mhz == pytest.approx(worst * 1.2 / 1e3)  # at dt = 1 ms
    assert report.clock_mhz == pytest.approx(50 / 34)  # the slowest 50/n MHz that is enough
    # the core rail per elapsed cycle: 40 pJ (40-43.7) x clock x T x dt
    assert report.static_uj == pytest.approx(40.0 * 50 / 34 * 5 * 1e-3)
    assert report.high_uj == pytest.approx(43.7 * 50 / 34 * 5 * 1e-3)
    assert report.dynamic_uj == 0.0 and report.not_modelled == ()
    assert report.objective_value("energy") == report.static_uj


def test_real_time_clock_is_checked_before_training() -> None:
    small = NetworkConfig(input_shape=(16, 1, 1), hidden=(64,), n_classes=8)
    big = NetworkConfig(input_shape=(16, 1, 1), hidden=(300, 300), n_classes=8)
    ok = static_check("xylo-audio2", small, n_values=16, bits=8).worst("clock")
    too_fast = static_check("xylo-audio2", big, n_values=16, bits=8).worst("clock")
    assert ok is not None and too_fast is not None
    # 16 x (64 x 3.5 + 1) + 64 x 3 + 64 x (1 + 64) + 64 x 22 + 96 = 9,456 cycles, + 20 %
    assert ok.usage == pytest.approx(9456 * 1.2 / 1e3) and not ok.violated
    assert too_fast.violated and too_fast.limit == 50.0
    assert too_fast.message().startswith("real-time clock on network: 861 > 50 MHz at dt 1 ms")
    assert "clock" in static_check("xylo-imu", small, n_values=16, bits=8).names
    assert "clock" not in static_check("loihi", small, n_values=16, bits=8).names
