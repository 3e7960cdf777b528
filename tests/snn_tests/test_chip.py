"""The chip-exact neuron: integer forward against a plain per-step reference written from the
chips' simulators, gradients against autograd of the same recurrence, networks that compute
chip-exact through the public API."""

from __future__ import annotations

import math

import pytest
import torch

from spikefit_search.compression import load_checkpoint
from spikefit_search.compression.methods import attach_quantizers
from spikefit_search.snn import NetworkConfig, SpikingNetwork, spike
from spikefit_search.snn.chip import LayerIntegers, layer_integers, neuron_steps
from spikefit_search.snn.chip import _forward as chip_forward
from spikefit_search.snn.config import ChipNeuron
from spikefit_search.snn.surrogates import FastSigmoid

XYLO = ChipNeuron(family="xylo", shift_max=7)
SPECK = ChipNeuron(
    family="speck",
    saturate=False,
    v_min=-32768,
    dash_max=None,
    dash_syn=None,
    spikes_per_step=None,
    readout_spikes_per_step=None,
    input_events_per_step=None,
    delay=False,
)


def _ints(threshold: int, *, dash_mem: int | None, dash_syn: int | None, cap: int | None):
    return LayerIntegers(
        codes=torch.zeros(1, 1, dtype=torch.long),
        stored_shift=0,
        weight_shift=0,
        threshold=threshold,
        dash_mem=dash_mem,
        dash_syn=dash_syn,
        max_spikes=cap,
        spiking=True,
        unit=1.0,
    )


def _sat(x: int) -> int:
    return max(-32768, min(32767, x))


def _xylo_reference(current: list[int], th: int, dm: int, ds: int, cap: int) -> list[int]:
    """One Xylo neuron, step by step in Python integers, as xylosim's XyloIAFNeuron::evolve
    (the synaptic input of a step summed first)."""

    def decay(v: int, dash: int) -> int:
        dv = v >> dash
        return (1 if v > 0 else -1 if v < 0 else 0) if dv == 0 else dv

    i = v = 0
    out = []
    for x in current:
        i = _sat(i + x)
        i -= decay(i, ds)
        v = _sat(v + _sat(-decay(v, dm) + i))
        n = 0
        while v >= th and n < cap:
            n += 1
            v -= th
        out.append(n)
    return out


def _speck_reference(current: list[int], th: int) -> list[int]:
    """One sinabs IAFSqueeze neuron (MultiSpike, MembraneSubtract, min_v_mem = -2^15)."""
    v = 0
    out = []
    for x in current:
        v += x
        n = v // th if v > 0 else 0
        v = max(v - n * th, -32768)
        out.append(n)
    return out


def test_xylo_neuron_is_bit_exact_with_the_reference_including_saturation() -> None:
    gen = torch.Generator().manual_seed(0)
    for scale, th, dm, ds in [
        (300, 500, 3, 1),
        (9000, 700, 1, 2),
        (40, 1, 15, 1),
        (20000, 90, 4, 3),
    ]:
        current = torch.randint(-scale, 2 * scale, (40, 30), generator=gen).float()
        ints = _ints(th, dash_mem=dm, dash_syn=ds, cap=31)
        ours = neuron_steps(current, ints, XYLO, FastSigmoid())
        for n in range(current.shape[1]):
            ref = _xylo_reference([int(c) for c in current[:, n]], th, dm, ds, 31)
            assert ours[:, n].tolist() == ref, (scale, th, n)
    saturated = torch.full((10, 1), 30000.0)
    assert (
        neuron_steps(
            saturated, _ints(20, dash_mem=4, dash_syn=1, cap=31), XYLO, FastSigmoid()
        ).max()
        == 31
    )


def test_speck_neuron_is_bit_exact_with_the_reference() -> None:
    gen = torch.Generator().manual_seed(1)
    current = torch.randint(-30000, 5000, (50, 20), generator=gen).float()
    ours = neuron_steps(
        current, _ints(333, dash_mem=None, dash_syn=None, cap=None), SPECK, FastSigmoid()
    )
    for n in range(current.shape[1]):
        assert ours[:, n].tolist() == _speck_reference([int(c) for c in current[:, n]], 333)


def _autograd_reference(
    current: torch.Tensor, ints: LayerIntegers, chip: ChipNeuron
) -> torch.Tensor:
    """The recurrence with exact integers forward and linear decays backward, by autograd."""
    sur = FastSigmoid()
    th = float(ints.threshold)
    beta_m = 1.0 if ints.dash_mem is None else 1 - 2.0**-ints.dash_mem
    exact, v_pre = chip_forward(current.detach(), ints, chip, spiking=True)
    i = torch.zeros_like(current[0])
    u = torch.zeros_like(current[0])
    outs = []
    for t in range(current.shape[0]):
        if ints.dash_syn is not None:
            beta_s = 1 - 2.0**-ints.dash_syn
            i_lin = beta_s * (i + current[t])
        else:
            i_lin = current[t]
        v = beta_m * u + i_lin
        v = v + (v_pre[t] - v).detach()  # the exact membrane, the linear gradient
        n = spike(v / th - 1.0, sur)
        n = n + (exact[t] - n).detach()
        outs.append(n)
        u = v - (n * th).detach()
        i = i_lin
    return torch.stack(outs)


@pytest.mark.parametrize("chip,dm,ds", [(XYLO, 3, 1), (XYLO, 15, 2), (SPECK, None, None)])
def test_chip_neuron_gradient_matches_autograd_of_the_same_recurrence(chip, dm, ds) -> None:
    torch.manual_seed(0)
    ints = _ints(400, dash_mem=dm, dash_syn=ds, cap=chip.spikes_per_step)
    current = (torch.randn(12, 7, 5) * 300).round().requires_grad_(True)
    weight = torch.randn(12, 7, 5)
    (neuron_steps(current, ints, chip, FastSigmoid()) * weight).sum().backward()
    ours = current.grad.clone()
    current.grad = None
    (_autograd_reference(current, ints, chip) * weight).sum().backward()
    assert torch.allclose(ours, current.grad, atol=1e-6, rtol=1e-5)


def _quantized(chip: ChipNeuron, **kw) -> SpikingNetwork:
    torch.manual_seed(0)
    cfg = NetworkConfig(input_shape=(16, 1, 1), n_classes=8, timesteps=6, chip=chip, **kw)
    net = SpikingNetwork(cfg)
    for layer in net.synaptic_layers:  # strong enough to fire within a few steps
        layer.synapse.weight.data *= 4
    attach_quantizers(net, "cat", n_values=4, bits=4, scope="layer", zero_is_free=True)
    return net


def test_a_quantized_network_with_a_chip_neuron_runs_chip_exact_and_float_on_request() -> None:
    net = _quantized(XYLO, hidden=(12, 10), beta=0.875)
    assert net.chip_exact
    x = torch.rand(4, 16, 1, 1)
    exact = net.run(x, generator=torch.Generator().manual_seed(0))
    floating = net.run(x, generator=torch.Generator().manual_seed(0), exact=False)
    assert exact.output is not None and exact.output.shape[0] == 6 + 2  # two flush steps
    assert floating.output is not None and floating.output.shape[0] == 6
    assert sum(float(s.detach().sum()) for s in exact.spikes) > 0
    assert not torch.equal(exact.logits, floating.logits)
    plain = SpikingNetwork(NetworkConfig(input_shape=(16, 1, 1), n_classes=8, chip=XYLO))
    assert not plain.chip_exact  # float weights: nothing to run on the chip yet


def test_layer_integers_fit_the_chip_and_reproduce_the_float_weights() -> None:
    net = _quantized(XYLO, hidden=(12,), beta=0.875)
    for layer, ints in zip(net.synaptic_layers, layer_integers(net)):
        stored = ints.stored_weights
        assert stored.abs().max() <= 128 and 0 <= ints.weight_shift <= XYLO.shift_max
        assert 1 <= ints.threshold <= 2**15 - 1
        w = layer.effective_weight().detach()
        assert torch.allclose(w, (stored << ints.weight_shift).float() * ints.unit, atol=1e-7)
        if ints.spiking:  # the float threshold 1.0 in integer units, rounded
            assert abs(ints.threshold * ints.unit - 1.0) <= ints.unit / 2 + 1e-9


def test_chip_exact_checkpoint_computes_the_same_network_after_loading(tmp_path) -> None:
    from spikefit_search.compression import PipelineConfig, run_pipeline
    from spikefit_search.data import load_dataset

    data = load_dataset("digits")
    cfg = PipelineConfig(
        network=NetworkConfig(
            input_shape=data.input_shape,
            n_classes=data.n_classes,
            hidden=(16,),
            timesteps=4,
            beta=1.0,
            readout="spikes",
            chip=SPECK,
        ),
        warmup_epochs=1,
        finetune_epochs=1,
    )
    result = run_pipeline(cfg, data)
    assert result.model.chip_exact and not math.isnan(result.float_val_accuracy)
    from spikefit_search.compression import save_checkpoint

    path = save_checkpoint(tmp_path / "m.pt", result, cfg)
    model, _ = load_checkpoint(path)
    assert model.chip_exact
    x = data.x_test[:32]
    a = result.model.run(x, generator=torch.Generator().manual_seed(5)).logits
    b = model.run(x, generator=torch.Generator().manual_seed(5)).logits
    assert torch.equal(a, b)


LOIHI = ChipNeuron(
    family="loihi",
    shift_max=7,
    threshold_bits=18,
    state_bits=24,
    dash_max=None,
    dash_syn=None,
    decay="loihi12",
    du=4095,
    state_shift=6,
    reset_to_zero=True,
    spikes_per_step=1,
    readout_spikes_per_step=1,
    input_events_per_step=1,
)


def _loihi_reference(current: list[int], vth: int, du: int, dv: int) -> list[int]:
    """One Loihi neuron in Python integers, transcribed from Lava's bit-accurate LIF
    (lava-nc/lava@b6822fbc0e85730fc0da6979451f42fef038fb71 src/lava/proc/lif/models.py,
    ``AbstractPyLifModelFixed.subthr_dynamics`` and ``PyLifModelBitAcc``): ds_offset 1,
    dm_offset 0, ``sign(p) * (|p| >> 12)``, ``a_in << 6``, the current wrapped at 2^23 exactly
    as Lava's two ``np.where`` do, v clipped to +-(2^23 - 1), ``v > vth << 6``, v reset to 0."""

    def decay(x: int, factor: int) -> int:
        p = x * factor
        return (1 if p > 0 else -1) * (abs(p) >> 12) if p else 0

    top = 2**23
    u = v = 0
    out = []
    for a_in in current:
        cur = decay(u, 4096 - (du + 1)) + (a_in << 6)
        wrapped = cur - 2 * top if cur > top else cur
        u = cur + 2 * top if wrapped <= -top else wrapped
        v = max(-top + 1, min(top - 1, decay(v, 4096 - dv) + u))
        s = int(v > vth << 6)
        if s:
            v = 0
        out.append(s)
    return out


@pytest.mark.parametrize(
    "scale,vth,du,dv",
    [(300, 500, 4095, 410), (3000, 90, 1000, 0), (200000, 100000, 7, 4095), (150000, 5, 0, 1)],
)
def test_loihi_neuron_is_bit_exact_with_lavas_lif_including_wrap_and_saturation(
    scale, vth, du, dv
) -> None:
    gen = torch.Generator().manual_seed(2)
    current = torch.randint(-scale, 2 * scale, (40, 30), generator=gen).double()
    ints = _ints(vth, dash_mem=dv, dash_syn=du, cap=1)
    ours = neuron_steps(current, ints, LOIHI, FastSigmoid())
    for n in range(current.shape[1]):
        ref = _loihi_reference([int(c) for c in current[:, n]], vth, du, dv)
        assert ours[:, n].tolist() == ref, (scale, vth, n)
    big = torch.full((3, 1), 100000.0, dtype=torch.float64)  # 6.4e6 a step after << 6
    top = _ints(131071, dash_mem=0, dash_syn=4095, cap=1)  # v integrates, u = this step's input
    spikes, v_pre = chip_forward(big, top, LOIHI, spiking=True)
    assert (v_pre[:, 0] * 64).tolist() == [6400000, 2**23 - 1, 6400000]  # saturated, then reset
    assert spikes[:, 0].tolist() == [0, 1, 0]
    keep = _ints(131071, dash_mem=4095, dash_syn=0, cap=1)  # u integrates and wraps at 2^23
    _, v_pre = chip_forward(big, keep, LOIHI, spiking=True)
    u = (6400000 * 4095 >> 12) + 6400000 - 2**24  # past 2^23: wrapped
    assert int(v_pre[1, 0] * 64) == u + (6400000 >> 12)


def test_loihi_beta_snaps_to_the_12_bit_decay_grid() -> None:
    assert LOIHI.dash_for(0.9) == 410 and LOIHI.beta_for(0.9) == 1 - 410 / 4096
    assert LOIHI.beta_for(1.0) == 1.0 and LOIHI.dash_for(0.0) == 4095


def _loihi_autograd(current: torch.Tensor, ints: LayerIntegers) -> torch.Tensor:
    """Loihi's recurrence by autograd: exact integers forward, linear decays and a zero reset
    that cuts the membrane's gradient backward."""
    sur = FastSigmoid()
    th = float(ints.threshold)
    bv = 1 - int(ints.dash_mem) / 4096
    bu = 1 - (int(ints.dash_syn) + 1) / 4096
    exact, v_pre = chip_forward(current.detach(), ints, LOIHI, spiking=True)
    u = torch.zeros_like(current[0])
    keep = torch.zeros_like(current[0])
    outs = []
    for t in range(current.shape[0]):
        u = bu * u + current[t]
        v = bv * keep + u
        v = v + (v_pre[t] - v).detach()
        n = spike(v / th - 1.0, sur)
        n = n + (exact[t] - n).detach()
        outs.append(n)
        keep = v * (1 - n.detach())
    return torch.stack(outs)


@pytest.mark.parametrize("du,dv", [(4095, 410), (300, 100)])
def test_loihi_gradient_matches_autograd_of_the_same_recurrence(du, dv) -> None:
    torch.manual_seed(0)
    ints = _ints(400, dash_mem=dv, dash_syn=du, cap=1)
    current = (torch.randn(12, 7, 5) * 300).round().requires_grad_(True)
    weight = torch.randn(12, 7, 5)
    out = neuron_steps(current, ints, LOIHI, FastSigmoid())
    assert 0 < float(out.detach().sum()) < out.numel()  # some spikes, so the reset gates something
    (out * weight).sum().backward()
    ours = current.grad.clone()
    current.grad = None
    (_loihi_autograd(current, ints) * weight).sum().backward()
    assert torch.allclose(ours, current.grad, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["loihi", "loihi2"])
def test_loihi_profiles_carry_the_neuron_and_run_chip_exact(name) -> None:
    from spikefit_search.hardware import load_profile

    profile = load_profile(name)
    chip = profile.chip_neuron
    assert chip == LOIHI
    assert profile.neuron_rule("resets") == (["zero"] if name == "loihi" else None)
    assert "lava-nc/lava@b6822fbc" in profile.neuron["family"].source
    from spikefit_search.search.space import load_search_space

    narrowed = load_search_space("mlp").narrow(profile)
    assert narrowed.network["reset"] == "zero" and narrowed.network["beta"] == 1 - 410 / 4096
    net = _quantized(chip, hidden=(12,), beta=chip.beta_for(0.9), reset="zero")
    for ints in layer_integers(net):
        assert ints.dash_mem == 410 and (ints.threshold <= 2**23 // 64 // 16 or not ints.spiking)
    x = torch.rand(4, 16, 1, 1)
    result = net.run(x, generator=torch.Generator().manual_seed(0))
    assert result.output is not None and result.output.shape[0] == 6 + 1  # one flush step
    assert all(float(s.detach().max()) <= 1 for s in result.spikes)


def _recurrent_reference(
    current: torch.Tensor, w_rec: torch.Tensor, ints: LayerIntegers, chip: ChipNeuron
) -> torch.Tensor:
    """:func:`_autograd_reference` with the population's counts of step t-1 arriving through
    ``w_rec`` at step t, by autograd."""
    sur = FastSigmoid()
    th = float(ints.threshold)
    beta_m = 1.0 if ints.dash_mem is None else 1 - 2.0**-ints.dash_mem
    beta_s = None if ints.dash_syn is None else 1 - 2.0**-ints.dash_syn
    exact, v_pre = chip_forward(current.detach(), ints, chip, spiking=True, w_rec=w_rec.detach())
    i = torch.zeros_like(current[0])
    u = torch.zeros_like(current[0])
    n = torch.zeros_like(current[0])
    outs = []
    for t in range(current.shape[0]):
        x = current[t] + n @ w_rec.t()
        i_lin = x if beta_s is None else beta_s * (i + x)
        v = beta_m * u + i_lin
        v = v + (v_pre[t] - v).detach()
        n = spike(v / th - 1.0, sur)
        n = n + (exact[t] - n).detach()
        outs.append(n)
        u = v - (n * th).detach()
        i = i_lin
    return torch.stack(outs)


@pytest.mark.parametrize("dm,ds", [(3, 1), (15, None)])
def test_recurrent_chip_neuron_gradient_matches_autograd(dm, ds) -> None:
    from spikefit_search.snn.chip import recurrent_neuron_steps

    torch.manual_seed(1)
    ints = _ints(400, dash_mem=dm, dash_syn=ds, cap=XYLO.spikes_per_step)
    current = (torch.randn(10, 4, 6) * 300).round().requires_grad_(True)
    w_rec = (torch.randn(6, 6) * 120).round().requires_grad_(True)
    weight = torch.randn(10, 4, 6)
    out = recurrent_neuron_steps(current, w_rec, ints, XYLO, FastSigmoid())
    (out * weight).sum().backward()
    ours = current.grad.clone(), w_rec.grad.clone()
    current.grad = w_rec.grad = None
    ref = _recurrent_reference(current, w_rec, ints, XYLO)
    assert torch.equal(out, ref.detach())
    (ref * weight).sum().backward()
    assert torch.allclose(ours[0], current.grad, atol=1e-6, rtol=1e-5)
    assert torch.allclose(ours[1], w_rec.grad, atol=1e-5, rtol=1e-5)
    assert float(ours[1].abs().sum()) > 0


def test_recurrent_chip_exact_network_and_refusals() -> None:
    net = _quantized(XYLO, hidden=(12,), beta=0.875, recurrent=True)
    assert net.chip_exact
    ints = layer_integers(net)
    rec = ints[0].recurrent
    assert rec is not None and rec.shift == ints[0].shift
    x = torch.rand(3, 16, 1, 1)
    out = net.run(x)
    assert out.spikes[0].sum() > 0
    # the same network without its recurrent weights: another result
    with torch.no_grad():
        net.synaptic_layers[0].recurrent.synapse.weight.zero_()  # type: ignore[union-attr]
    assert not torch.equal(net.run(x).spikes[0], out.spikes[0])
    loihi = _quantized(LOIHI, hidden=(12,), recurrent=True)
    with pytest.raises(Exception, match="simulated for Xylo, but got chip family 'loihi'"):
        loihi.run(x)
