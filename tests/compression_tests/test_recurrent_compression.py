"""SpikeFit on recurrent networks: CAT on W_rec, FSC through the recurrence, pruning of both
the rows and the columns of W_rec, the fan-in cap over feed-forward and recurrent synapses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from spikefit_search.compression import (
    ClusterQuantizer,
    FisherWeightPruner,
    PipelineConfig,
    UniformQuantizer,
    attach_quantizers,
    fisher_spike_contribution,
    load_checkpoint,
    mask_neurons,
    run_pipeline,
    save_checkpoint,
    select_neurons,
    shrink_network,
)
from spikefit_search.data import Dataset, load_dataset
from spikefit_search.snn import LIFParameters, NetworkConfig, SpikingNetwork, lif_step
from spikefit_search.snn import network as network_module
from spikefit_search.training import evaluate

CFG = NetworkConfig(
    hidden=(9, 7), timesteps=5, encoder="direct", beta=0.8, threshold=0.3, recurrent=True
)


def _data(n: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    return torch.rand(n, 1, 8, 8, generator=gen), torch.randint(0, 10, (n,), generator=gen)


def test_fsc_counts_what_a_spike_does_through_the_recurrence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FSC_k = sum_n (dL_n / d alpha_k)^2 / 2N, with every spike of neuron k scaled by
    alpha_k = 1 both where the next layer reads it and where the layer itself hears it: a
    per-step reference whose autograd sees the recurrence."""
    torch.manual_seed(2)
    model = SpikingNetwork(CFG)
    x, y = _data()
    fused = fisher_spike_contribution(model, x, y, batch_size=8)

    gains: list[torch.Tensor] = []

    def stepwise_with_gain(
        drive: torch.Tensor, w_rec: torch.Tensor, p: LIFParameters, sg: object
    ) -> torch.Tensor:
        alpha = torch.ones(drive.shape[1], drive.shape[2], requires_grad=True)
        gains.append(alpha)
        state, s_prev, out = None, torch.zeros_like(drive[0]), []
        for t in range(drive.shape[0]):
            s, state = lif_step(drive[t] + F.linear(s_prev, w_rec), state, p, sg)  # type: ignore[arg-type]
            s_prev = s * alpha
            out.append(s_prev)
        return torch.stack(out)

    monkeypatch.setattr(network_module, "lif_recurrent", stepwise_with_gain)
    totals = [torch.zeros(n, dtype=torch.float64) for n in CFG.hidden]
    for start in range(0, len(y), 8):
        gains.clear()
        logits = model(x[start : start + 8])
        loss = F.cross_entropy(logits, y[start : start + 8], reduction="sum")
        for total, g in zip(totals, torch.autograd.grad(loss, gains)):
            total += (g.double() ** 2).sum(0)
    reference = [t / (2 * len(y)) for t in totals]
    for got, want in zip(fused, reference):
        assert float(want.sum()) > 0
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-9)


def test_pruned_recurrent_network_equals_the_masked_one() -> None:
    torch.manual_seed(4)
    model = SpikingNetwork(CFG)
    x, y = _data()
    keep = select_neurons(fisher_spike_contribution(model, x, y), 0.4)
    small = shrink_network(model, keep)
    assert small.config.hidden == (5, 4) and small.config.recurrent
    rec = small.synaptic_layers[0].recurrent
    assert rec is not None and rec.latent_weight.shape == (5, 5)
    k0 = keep[0]
    old_rec = model.synaptic_layers[0].recurrent
    assert old_rec is not None
    assert torch.equal(rec.latent_weight, old_rec.latent_weight[k0][:, k0])
    mask_neurons(model, keep)
    assert old_rec.mask is not None and int(old_rec.mask.sum()) == 25
    torch.testing.assert_close(small(x), model(x), rtol=0, atol=1e-6)


def test_fan_in_cap_counts_recurrent_synapses() -> None:
    torch.manual_seed(5)
    model = SpikingNetwork(CFG)
    x, y = _data()
    masks = FisherWeightPruner(12, batch_size=8).apply(model, x, y)
    assert len(masks) == 5  # layer 0, its W_rec, layer 1, its W_rec, the readout
    for layer in model.synaptic_layers:
        rec = layer.recurrent
        w = layer.effective_weight().reshape(layer.latent_weight.shape[0], -1)
        fan_in = (w != 0).sum(1)
        if rec is not None:
            fan_in = fan_in + (rec.effective_weight() != 0).sum(1)
        assert int(fan_in.max()) == min(12, layer.spec.fan_in)
    rec0 = model.synaptic_layers[0].recurrent
    assert rec0 is not None and rec0.mask is not None
    assert 0 < int(rec0.mask.sum()) < 81  # some recurrent synapses kept, some not


@pytest.mark.parametrize("method", ["cat", "uniform", "kmeans"])
def test_recurrent_weights_are_quantized_on_their_layers_grid(method: str) -> None:
    model = SpikingNetwork(CFG)
    quantizers = attach_quantizers(model, method, n_values=3, bits=4)
    assert len(quantizers) == 5
    for layer in model.synaptic_layers:
        rec = layer.recurrent
        if rec is None:
            continue
        q, rq = layer.weight_transform, rec.weight_transform
        assert isinstance(rq, ClusterQuantizer if method != "uniform" else UniformQuantizer)
        assert q is not None and float(rq.scale) == float(q.scale)
        if isinstance(rq, ClusterQuantizer) and isinstance(q, ClusterQuantizer):
            assert rq.log_scale is q.log_scale  # one grid step, learnt once
        w = rec.effective_weight()
        k = w / q.scale
        torch.testing.assert_close(k, k.round(), rtol=0, atol=1e-5)
        assert float(k.detach().abs().max()) <= 8
        if method != "uniform":
            assert torch.unique(w).numel() <= 3


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", limit_train=300)


def test_pipeline_prunes_caps_and_quantizes_a_recurrent_network(
    digits: Dataset, tmp_path: Path
) -> None:
    net = NetworkConfig(hidden=(20,), timesteps=3, recurrent=True)
    cfg = PipelineConfig(
        network=net,
        warmup_epochs=3,
        finetune_epochs=1,
        batch_size=64,
        rho=0.25,
        n_values=3,
        bits=4,
        fan_in_cap=30,
        seed=1,
    )
    r = run_pipeline(cfg, digits)
    assert r.network.hidden == (15,) and r.network.recurrent
    layer = r.model.synaptic_layers[0]
    rec = layer.recurrent
    assert rec is not None and isinstance(rec.weight_transform, ClusterQuantizer)
    fan_in = (layer.effective_weight() != 0).sum(1) + (rec.effective_weight() != 0).sum(1)
    assert int(fan_in.max()) <= 30
    assert r.test_accuracy > 0.2
    path = save_checkpoint(tmp_path / "model.pt", r, cfg)
    model, _ = load_checkpoint(path)
    loaded_rec = model.synaptic_layers[0].recurrent
    assert loaded_rec is not None
    assert torch.equal(loaded_rec.effective_weight(), rec.effective_weight())
    assert evaluate(model, digits.x_test, digits.y_test, draws=1).accuracy == r.test_accuracy
