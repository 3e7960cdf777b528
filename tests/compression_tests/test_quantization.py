from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spikefit_search.compression import (
    ClusterQuantizer,
    UniformQuantizer,
    attach_quantizers,
    codebook_parameters,
    kmeans_1d,
    nearest_index,
)
from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import NetworkConfig, SpikingNetwork


def _tiny_task(n: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    y = torch.arange(n) % 4
    x = torch.rand(n, 1, 4, 4, generator=gen) * 0.3
    for c in range(4):  # each class lights one quadrant
        r, col = divmod(c, 2)
        x[y == c, :, 2 * r : 2 * r + 2, 2 * col : 2 * col + 2] += 0.7
    return x, y


def _check_invariants(model: SpikingNetwork, m: int, bits: int) -> None:
    for layer in model.synaptic_layers:
        q = layer.weight_transform
        assert q is not None
        w = layer.effective_weight().detach()
        k = torch.round(w / q.scale)
        assert torch.equal(k * q.scale, w), "every weight must be scale * integer"
        assert int(k.min()) >= -(2 ** (bits - 1)) and int(k.max()) <= 2 ** (bits - 1) - 1
        rows = w.reshape(w.shape[0], -1) if q.scope == "neuron" else w.reshape(1, -1)
        for row in rows:
            assert torch.unique(row[row != 0]).numel() <= m


def _train(model: SpikingNetwork, steps: int, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    opt = torch.optim.Adam(
        [
            {"params": [lay.latent_weight for lay in model.synaptic_layers], "lr": 1e-2},
            {"params": codebook_parameters(model), "lr": 1e-2},
        ]
    )
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize(
    ("m", "bits", "scope", "zero_is_free"),
    [
        (4, 4, "layer", False),
        (3, 3, "neuron", False),
        (2, 2, "layer", True),
        (5, 8, "neuron", True),
    ],
)
def test_cat_training_keeps_invariants_moves_codebook_and_lowers_loss(
    m: int, bits: int, scope: str, zero_is_free: bool
) -> None:
    x, y = _tiny_task()
    cfg = NetworkConfig(
        input_shape=(1, 4, 4), n_classes=4, hidden=(12,), timesteps=3, encoder="direct"
    )
    model = SpikingNetwork(cfg)
    attach_quantizers(model, "cat", n_values=m, bits=bits, scope=scope, zero_is_free=zero_is_free)
    before = [c.detach().clone() for c in codebook_parameters(model)]
    snapped_before = [
        lay.weight_transform.values().detach().clone()  # type: ignore[union-attr]
        for lay in model.synaptic_layers
    ]
    losses = _train(model, 60, x, y)
    assert min(losses[-5:]) < losses[0]
    assert any(not torch.equal(b, c) for b, c in zip(before, codebook_parameters(model)))
    snapped_after = [
        lay.weight_transform.values().detach()  # type: ignore[union-attr]
        for lay in model.synaptic_layers
    ]
    assert any(not torch.equal(b, a) for b, a in zip(snapped_before, snapped_after))
    _check_invariants(model, m, bits)


def test_codebook_gradient_is_sum_of_member_gradients() -> None:
    w = torch.tensor([[-1.0, -0.9, 0.1, 0.2, 1.0, 1.1]], requires_grad=True)
    q = ClusterQuantizer(w, n_values=3, bits=8)
    g_out = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    (q(w) * g_out).sum().backward()
    assert q.codebook.grad is not None
    order = torch.argsort(q.codebook.detach()[0])
    assert q.codebook.grad[0, order].tolist() == [3.0, 7.0, 11.0]
    assert torch.equal(w.grad, g_out)  # straight through


def test_zero_is_free_holds_a_fixed_zero_code() -> None:
    w = torch.randn(8, 30)
    q = ClusterQuantizer(w, n_values=2, bits=4, zero_is_free=True)
    assert q.codebook.shape == (1, 2)
    assert q.levels()[0, 0] == 0 and q.levels().shape == (1, 3)
    out = q(w)
    assert (out == 0).any()
    assert torch.unique(out[out != 0]).numel() <= 2


def test_masked_synapses_stay_zero_through_the_quantizer() -> None:
    cfg = NetworkConfig(hidden=(6,), timesteps=2)
    model = SpikingNetwork(cfg)
    layer = model.synaptic_layers[0]
    layer.mask = (torch.rand_like(layer.latent_weight) > 0.5).float()
    layer.weight_transform = ClusterQuantizer(
        layer.latent_weight, n_values=2, bits=2, mask=layer.mask
    )
    w = layer.effective_weight()
    assert torch.all(w[layer.mask == 0] == 0)


def test_uniform_quantizer_uses_the_b_bit_grid() -> None:
    w = torch.randn(10, 20)
    q = UniformQuantizer(w, bits=2)
    k = torch.round(q(w) / q.scale)
    assert torch.equal(k * q.scale, q(w))
    assert set(torch.unique(k).tolist()) <= {-2.0, -1.0, 0.0, 1.0}
    assert q.n_values == 4 and q.scope == "layer" and not q.zero_is_free


def test_hardware_attributes_are_present() -> None:
    q = ClusterQuantizer(torch.randn(4, 5), n_values=3, bits=5, scope="neuron")
    assert (q.bits, q.n_values, q.scope, q.zero_is_free) == (5, 3, "neuron", False)
    assert q.scale.dim() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_values": 1, "bits": 4}, "n_values must be at least 2, but got n_values=1."),
        ({"n_values": 4, "bits": 1}, "bits must be in 2..8, but got bits=1."),
        ({"n_values": 4, "bits": 9}, "bits must be in 2..8, but got bits=9."),
        ({"n_values": 4, "bits": 4, "scope": "core"}, "scope must be one of layer, neuron"),
        ({"n_values": 5, "bits": 2}, "n_values must be at most the 4 levels of a 2-bit grid"),
        ({"n_values": 4, "bits": 2, "zero_is_free": True}, "at most the 3 levels"),
    ],
)
def test_quantizer_arguments_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        ClusterQuantizer(torch.randn(3, 3), **kwargs)  # type: ignore[arg-type]


def test_kmeans_and_nearest_index() -> None:
    values = torch.tensor([[0.0, 0.1, 0.2, 5.0, 5.1, 10.0]])
    centers = kmeans_1d(values, 3)
    assert torch.allclose(torch.sort(centers).values, torch.tensor([[0.1, 5.05, 10.0]]))
    idx = nearest_index(values, torch.tensor([[10.0, 0.0, 5.0]]))
    assert idx.tolist() == [[1, 1, 1, 2, 2, 0]]


def test_small_codebook_on_heavy_tailed_weights_does_not_snap_to_zero() -> None:
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(64, 100, generator=gen) * 0.05
    w[0, 0] = 1.0  # one outlier, 20 sigma: max|w| / 7 would be coarser than the centers
    q = ClusterQuantizer(w, n_values=2, bits=4)
    assert (q.integer_values() != 0).all()
    assert (q(w) != 0).all()
    assert float(q.scale) * q.k_max <= 1.0
    q4 = ClusterQuantizer(w, n_values=4, bits=4)
    assert torch.unique(q4.integer_values()).numel() == 4


def test_kmeans_zero_init_starts_one_value_at_zero() -> None:
    w = torch.randn(6, 40)
    q = ClusterQuantizer(w, n_values=4, bits=4, init="kmeans_zero", scope="neuron")
    assert q.codebook.shape == (6, 4)
    assert torch.all(q.codebook.detach()[:, 0] == 0)
    assert torch.all(q.integer_values()[:, 1:] != 0)
    assert (q(w) == 0).any()
