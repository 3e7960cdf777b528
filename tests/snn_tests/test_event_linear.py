from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spikefit_search.snn import NetworkConfig, SpikingNetwork
from spikefit_search.snn import network as network_module
from spikefit_search.snn.functional import event_linear, event_linear_pays


def _events(rows: int, n_in: int, density: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(rows, n_in, generator=g) < density).float()


def test_event_linear_matches_the_dense_product_and_its_gradients() -> None:
    x = _events(96, 300, 0.15)
    x[5] = 0  # a row without events
    w = torch.randn(40, 300, requires_grad=True)
    b = torch.randn(40, requires_grad=True)
    grad = torch.randn(96, 40)
    dense = F.linear(x, w, b)
    (gw_dense, gb_dense) = torch.autograd.grad(dense, (w, b), grad)
    event = event_linear(x, w, b)
    (gw_event, gb_event) = torch.autograd.grad(event, (w, b), grad)
    torch.testing.assert_close(event, dense, rtol=0, atol=1e-5)
    assert torch.equal(event[5], b.detach())
    torch.testing.assert_close(gw_event, gw_dense, rtol=0, atol=1e-6)
    torch.testing.assert_close(gb_event, gb_dense, rtol=0, atol=1e-6)


def test_event_path_is_chosen_only_where_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPIKEFIT_EVENT_LAYER", raising=False)
    assert not event_linear_pays(_events(64, 784, 0.1))  # off unless asked for (measured slower)
    monkeypatch.setenv("SPIKEFIT_EVENT_LAYER", "1")
    assert event_linear_pays(_events(64, 784, 0.1))
    assert not event_linear_pays(_events(64, 64, 0.1))  # the digits' 64 inputs: dense
    assert not event_linear_pays(_events(64, 784, 0.6))  # dense inputs
    assert not event_linear_pays(_events(64, 784, 0.1).requires_grad_())
    with pytest.raises(ValueError, match="without gradient"):
        event_linear(_events(4, 300, 0.1).requires_grad_(), torch.randn(3, 300), None)


@pytest.mark.parametrize("bias", [False, True])
def test_network_with_event_first_layer_spikes_like_the_dense_path(
    monkeypatch: pytest.MonkeyPatch, bias: bool
) -> None:
    cfg = NetworkConfig(input_shape=(1, 28, 28), hidden=(48, 24), timesteps=4, bias=bias)
    torch.manual_seed(3)
    net = SpikingNetwork(cfg)
    with torch.no_grad():  # drive the first layer hard enough that many neurons fire
        net.synaptic_layers[0].synapse.weight.mul_(6.0)
    x = torch.rand(16, 1, 28, 28) * 0.3
    y = torch.randint(0, 10, (16,))
    calls = []

    def run(pays: bool) -> tuple[list[torch.Tensor], torch.Tensor, list[torch.Tensor]]:
        monkeypatch.setattr(
            network_module, "event_linear_pays", lambda flat: calls.append(pays) or pays
        )
        net.zero_grad()
        out = net.run(x, generator=torch.Generator().manual_seed(1))
        F.cross_entropy(out.logits, y).backward()
        grads = [p.grad.clone() for p in net.parameters()]
        return [s.detach() for s in out.spikes], out.logits.detach(), grads

    spikes_d, logits_d, grads_d = run(False)
    spikes_e, logits_e, grads_e = run(True)
    assert calls == [False, True]  # asked once per forward, first layer only
    assert spikes_d[0].sum() > 0
    for a, b in zip(spikes_d, spikes_e):
        assert torch.equal(a, b)
    torch.testing.assert_close(logits_e, logits_d, rtol=0, atol=1e-5)
    for a, b in zip(grads_d, grads_e):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6)
