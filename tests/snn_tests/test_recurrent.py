"""Recurrent hidden layers: the fused BPTT against a plain per-step reference, and the network."""

from __future__ import annotations

import pytest
import torch

from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import SURROGATES, LIFParameters, NetworkConfig, SpikingNetwork
from spikefit_search.snn.functional import lif_recurrent, lif_recurrent_stepwise, lif_step

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def test_recurrent_spikes_by_hand() -> None:
    # two neurons, neuron 0 driven by 0.6 a step, neuron 1 by nothing but 0 through W = 1.5:
    # n0: 0.6, 1.2 (spike, 0.2), 0.8, 1.4 (spike, 0.4); n1 hears n0's spike one step later
    x = torch.tensor([[0.6, 0.0]]).expand(4, 1, 2).contiguous()
    w = torch.tensor([[0.0, 0.0], [1.5, 0.0]])
    s = lif_recurrent(x, w, LIFParameters(1.0, 1.0, "subtract"), SURROGATES.get("arctan"))
    assert s[:, 0, 0].tolist() == [0, 1, 0, 1]
    assert s[:, 0, 1].tolist() == [0, 0, 1, 0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("beta", [0.85, 1.0])
@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "arctan"])
def test_fused_equals_per_step_reference(
    device: str, reset: str, beta: float, surrogate: str, dtype: torch.dtype
) -> None:
    sg = SURROGATES.get(surrogate)
    params = LIFParameters(beta, 1.0, reset)
    gen = torch.Generator().manual_seed(5)
    x = (torch.randn(16, 4, 9, generator=gen) * 0.7 + 0.3).to(device, dtype).requires_grad_()
    w = (torch.randn(9, 9, generator=gen) * 0.5).to(device, dtype).requires_grad_()
    probe = torch.randn(16, 4, 9, generator=gen).to(device, dtype)

    fused = lif_recurrent(x, w, params, sg)
    gx, gw = torch.autograd.grad((fused * probe).sum(), (x, w))
    ref = lif_recurrent_stepwise(x, w, params, sg)
    rx, rw = torch.autograd.grad((ref * probe).sum(), (x, w))

    assert torch.equal(fused, ref)
    assert 0 < fused.sum() < fused.numel()  # some spikes, not all
    # float32: within 1e-6 of the gradient's size (the sums run in another order); float64:
    # within 1e-6 absolutely
    for got, want in ((gx, rx), (gw, rw)):
        scale = float(want.abs().max()) if dtype == torch.float32 else 1.0
        assert float((got - want).abs().max()) <= 1e-6 * scale
    assert gw.abs().sum() > 0


def test_zero_recurrent_weight_is_the_feed_forward_neuron() -> None:
    sg = SURROGATES.get("fast_sigmoid")
    params = LIFParameters(0.9, 1.0, "subtract")
    x = torch.rand(10, 3, 5) * 1.5
    s = lif_recurrent(x, torch.zeros(5, 5), params, sg)
    state, outs = None, []
    for t in range(10):
        st, state = lif_step(x[t], state, params, sg)
        outs.append(st)
    assert torch.equal(s, torch.stack(outs))


def test_network_recurrent_layers_and_old_configs() -> None:
    cfg = NetworkConfig(hidden=(12, 6), timesteps=5, recurrent=True)
    net = SpikingNetwork(cfg)
    recs = [layer.recurrent for layer in net.synaptic_layers]
    assert [r.latent_weight.shape if r is not None else None for r in recs] == [
        (12, 12),
        (6, 6),
        None,
    ]
    assert len(net.weight_layers) == 5
    x = torch.rand(3, 1, 8, 8)
    out = net.run(x, record=True)
    assert out.logits.shape == (3, 10)
    # the recurrent weight takes part: its gradient is non-zero
    out.logits.sum().backward()
    assert recs[0] is not None and recs[0].latent_weight.grad is not None
    assert recs[0].latent_weight.grad.abs().sum() > 0
    # specs count the recurrent synapses into the fan-in
    assert [s.fan_in for s in cfg.layer_specs()] == [64 + 12, 12 + 6, 6]
    # a feed-forward config writes (and reads) as before: no key, same state-dict keys
    ff = NetworkConfig(hidden=(12,))
    assert "recurrent" not in ff.to_dict()
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    assert not any("recurrent" in k for k in SpikingNetwork(ff).state_dict())
    with pytest.raises(ConfigError, match="kind='mlp' only"):
        NetworkConfig(kind="conv", channels=(4,), recurrent=True)


def test_network_sops_count_recurrent_events() -> None:
    torch.manual_seed(1)
    cfg = NetworkConfig(hidden=(10,), timesteps=6, recurrent=True, beta=1.0)
    net = SpikingNetwork(cfg)
    with torch.no_grad():
        net.synaptic_layers[0].synapse.weight.abs_()
        net.synaptic_layers[0].recurrent.synapse.weight.fill_(0.1)  # type: ignore[union-attr]
    x = torch.rand(2, 1, 8, 8)
    out = net.run(x, record=True, generator=torch.Generator().manual_seed(0))
    assert out.sums is not None
    s = out.spikes[0].detach()
    events = net.input_events(x, generator=torch.Generator().manual_seed(0))
    ff_sops = float(net.synaptic_layers[0].event_counts(events)[0])
    rec_sops = float(s[:-1].sum()) * 10  # every spike but the last step's reaches all 10
    assert rec_sops > 0
    assert out.sums[0][1] == pytest.approx(ff_sops + rec_sops)
