from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spikefit_search.compression import (
    ClusterQuantizer,
    PipelineConfig,
    UniformQuantizer,
    attach_quantizers,
    codebook_parameters,
    codebook_usage,
    finetune_optimizer,
    grid_levels,
    grid_range,
    kmeans_1d,
    nearest_index,
)
from spikefit_search.compression.pipeline import SCALE_LR_FACTOR
from spikefit_search.compression.quantization import distinct_levels
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
        assert bool((w != 0).any()), "a quantized layer must not be all zero"
        k = torch.round(w / q.scale)
        assert torch.equal(k * q.scale, w), "every weight must be scale * integer"
        assert int(k.min()) >= -(2 ** (bits - 1)) and int(k.max()) <= 2 ** (bits - 1) - 1
        rows = w.reshape(w.shape[0], -1) if q.scope == "neuron" else w.reshape(1, -1)
        for row in rows:
            assert torch.unique(row[row != 0]).numel() <= m


def _train(model: SpikingNetwork, steps: int, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Full-batch steps with the pipeline's own optimizer and default learning rates (the
    space's latent rate 1e-3)."""
    opt = finetune_optimizer(model, PipelineConfig(finetune_lr=1e-3))
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
    assert q.codebook.grad is not None and q.log_scale.grad is not None
    order = torch.argsort(q.codebook.detach()[0])
    s = float(q.scale)
    # the codebook is in grid steps: d value / d u = scale
    assert torch.allclose(q.codebook.grad[0, order], s * torch.tensor([3.0, 7.0, 11.0]))
    # LSQ-style step gradient: every value is scale * k, so d loss / d log(scale) = sum k s G
    k = q.integer_values()[0, order].float()
    expected = float((k * s * torch.tensor([3.0, 7.0, 11.0])).sum())
    assert float(q.log_scale.grad) == pytest.approx(expected, rel=1e-5)
    assert torch.equal(w.grad, g_out)  # straight through


@pytest.mark.parametrize("scope", ["layer", "neuron"])
@pytest.mark.parametrize("zero_is_free", [False, True])
def test_every_weight_takes_its_nearest_value_after_the_levels_move(
    scope: str, zero_is_free: bool
) -> None:
    gen = torch.Generator().manual_seed(3)
    w = (torch.randn(6, 40, generator=gen) * 0.1).requires_grad_()
    q = ClusterQuantizer(w.detach(), n_values=3, bits=4, scope=scope, zero_is_free=zero_is_free)
    for shift in (0.0, 2.0, -3.0, 1.0):  # other integer levels: the lookup must follow them
        with torch.no_grad():
            q.codebook.add_(shift)
        q.clamp_and_reseed()  # clamps, and parts values that merged
        assert all(len(set(row.tolist())) == len(row) for row in q._table().detach())
        w.grad = None
        q.codebook.grad = None
        g_out = torch.randn(6, 40, generator=gen)
        out = q(w)
        (out * g_out).sum().backward()
        table = q._table().detach()  # (groups, values), zero first when it is free
        rows = w.detach().reshape(table.shape[0], -1)
        nearest = (rows[:, :, None] - table[:, None, :]).abs().argmin(dim=2)
        assert torch.equal(out.detach().reshape(rows.shape), torch.gather(table, 1, nearest))
        used = F.one_hot(nearest, table.shape[1])  # (groups, weights, values)
        assert torch.equal(q.members, used.sum(dim=1))
        member_grad = (used * g_out.reshape(rows.shape)[:, :, None]).sum(dim=1)
        learnable = member_grad[:, 1:] if zero_is_free else member_grad
        assert q.codebook.grad is not None
        assert torch.allclose(q.codebook.grad, q.scale * learnable, atol=1e-5)
        assert torch.equal(w.grad, g_out)


def test_zero_is_free_holds_a_fixed_zero_code() -> None:
    w = torch.randn(8, 30)
    q = ClusterQuantizer(w, n_values=2, bits=4, zero_is_free=True)
    assert q.codebook.shape == (1, 2)
    assert q.levels()[0, 0] == 0 and q.levels().shape == (1, 3)
    out = q(w)
    assert (out == 0).any()
    assert torch.unique(out[out != 0]).numel() == 2


def test_masked_synapses_are_left_out_of_the_codebook_and_stay_zero() -> None:
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(6, 40, generator=gen) * 0.1
    mask = (torch.rand(6, 40, generator=gen) > 0.5).float()
    # pruned synapses hold huge latent weights: if they entered the initialisation, the
    # codebook and the grid step would follow them
    w_out = torch.where(mask == 0, torch.full_like(w, 50.0), w)
    live = ClusterQuantizer(w * mask, n_values=2, bits=2, mask=mask)
    masked = ClusterQuantizer(w_out, n_values=2, bits=2, mask=mask)
    assert torch.equal(masked.integer_values(), live.integer_values())
    assert float(masked.scale) == pytest.approx(float(live.scale))
    assert float(masked.scale) < 1.0
    cfg = NetworkConfig(hidden=(6,), timesteps=2)
    model = SpikingNetwork(cfg)
    layer = model.synaptic_layers[0]
    layer.mask = (torch.rand_like(layer.latent_weight) > 0.5).float()
    layer.weight_transform = ClusterQuantizer(
        layer.latent_weight, n_values=2, bits=2, mask=layer.mask
    )
    eff = layer.effective_weight()
    assert torch.all(eff[layer.mask == 0] == 0) and bool((eff[layer.mask == 1] != 0).any())


@pytest.mark.parametrize("scope", ["layer", "neuron"])
@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_zero_fraction_sends_the_smallest_live_synapses_to_the_free_zero(
    scope: str, fraction: float
) -> None:
    gen = torch.Generator().manual_seed(5)
    w = torch.randn(12, 50, generator=gen) * 0.1
    mask = torch.ones_like(w)
    mask[:3] = 0  # three pruned neurons
    mask[5, :20] = 0  # and a neuron with fewer synapses
    base = ClusterQuantizer(w * mask, n_values=4, bits=4, scope=scope, zero_is_free=True, mask=mask)
    q = ClusterQuantizer(
        w * mask,
        n_values=4,
        bits=4,
        scope=scope,
        zero_is_free=True,
        mask=mask,
        zero_fraction=fraction,
    )
    assert torch.equal(q.integer_values(), base.integer_values())
    q.eval()
    near, out = base(w * mask), q(w * mask)
    live = mask.bool()
    rows = [live.flatten()] if scope == "layer" else list(live)
    outs = [out.flatten()] if scope == "layer" else list(out)
    mags = [(w * mask).abs().flatten()] if scope == "layer" else list((w * mask).abs())
    for keep, o, m in zip(rows, outs, mags):
        n = int(keep.sum())
        # the smallest fraction of the live synapses (and maybe more, nearest to zero)
        smallest = torch.argsort(m[keep])[: int(n * fraction)]
        assert bool((o[keep][smallest] == 0).all())
        assert int((o[keep] == 0).sum()) >= int(n * fraction)
    # every other weight keeps its nearest value
    assert torch.equal(out[out != 0], near[out != 0])
    assert bool((out != 0).any())


def test_zero_fraction_in_training_is_close_and_learns_straight_through() -> None:
    gen = torch.Generator().manual_seed(6)
    w = (torch.randn(64, 800, generator=gen) * 0.1).requires_grad_()
    q = ClusterQuantizer(w.detach(), n_values=4, bits=4, zero_is_free=True, zero_fraction=0.5)
    out = q(w)  # 51,200 weights: the threshold comes from an evenly strided sample
    assert abs(float((out == 0).float().mean()) - 0.5) < 0.02
    out.sum().backward()
    assert w.grad is not None and torch.equal(w.grad, torch.ones_like(w))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"zero_fraction": 0.5}, "zero_fraction needs the free zero code (zero_is_free)"),
        ({"zero_fraction": 1.0, "zero_is_free": True}, "zero_fraction must be in [0, 1)"),
        ({"zero_fraction": -0.1, "zero_is_free": True}, "but got zero_fraction=-0.1."),
        ({"zero_fraction": float("nan"), "zero_is_free": True}, "must be in [0, 1)"),
    ],
)
def test_zero_fraction_is_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        ClusterQuantizer(torch.randn(4, 4), n_values=2, bits=4, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


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
        (
            {"n_values": 4, "bits": 2, "symmetric": True},
            "n_values must be at most the 3 levels of a symmetric 2-bit grid",
        ),
        (
            {"n_values": 3, "bits": 2, "symmetric": True, "zero_is_free": True},
            "at most the 2 levels of a symmetric 2-bit grid besides the free zero",
        ),
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


def _weights(kind: str, shape: tuple[int, int], gen: torch.Generator) -> torch.Tensor:
    if kind == "gaussian":
        return torch.randn(shape, generator=gen) * 0.05
    if kind == "laplace":
        u = torch.rand(shape, generator=gen) - 0.5
        return -0.05 * torch.sign(u) * torch.log1p(-2 * u.abs())
    if kind == "uniform":
        return (torch.rand(shape, generator=gen) * 2 - 1) * 0.1
    if kind == "student2":  # Student-t with 2 degrees of freedom: a few weights far out
        chi2 = torch.randn((*shape, 2), generator=gen).pow(2).sum(-1) / 2
        return 0.05 * torch.randn(shape, generator=gen) / chi2.sqrt().clamp_min(1e-3)
    # heavy-tailed: Student-t with 1.5 degrees of freedom (a ratio of Gaussians), outliers
    z = torch.randn(shape, generator=gen)
    chi = torch.randn((*shape, 3), generator=gen).pow(2).sum(-1) / 1.5
    return 0.02 * z / chi.sqrt().clamp_min(1e-3)


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("zero_is_free", [False, True])
def test_initial_codebook_occupies_m_distinct_levels_and_never_collapses(
    bits: int, zero_is_free: bool
) -> None:
    gen = torch.Generator().manual_seed(bits * 2 + zero_is_free)
    grid = 2**bits - (1 if zero_is_free else 0)
    for m in sorted({2, 3, min(4, grid), min(7, grid), grid} & set(range(2, grid + 1))):
        for scope in ("layer", "neuron"):
            for kind in ("gaussian", "laplace", "uniform", "heavy", "student2"):
                # 48 neurons: enough quiet ones beside the outliers' for a step set by the
                # outliers to silence some (a dead neuron still costs a neuron on the chip)
                w = _weights(kind, (48, 64), gen)
                q = ClusterQuantizer(
                    w, n_values=m, bits=bits, scope=scope, zero_is_free=zero_is_free
                )
                where = f"b={bits} M={m} zero_is_free={zero_is_free} {scope} {kind}"
                k = q.integer_values()
                assert all(torch.unique(row).numel() == m for row in k), where
                assert int(k.min()) >= q.k_min and int(k.max()) <= q.k_max, where
                if zero_is_free:
                    assert bool((k != 0).all()), where
                else:  # zero is one of the M at most once; the others are non-zero
                    assert all(int((row == 0).sum()) <= 1 for row in k), where
                for fraction in (0.0, 0.9) if zero_is_free else (0.0,):
                    q.zero_fraction = fraction  # a search may ask for up to (not) 1
                    out = q(w)
                    assert bool((out != 0).any()), where
                    rows = (
                        out.reshape(out.shape[0], -1) if scope == "neuron" else out.reshape(1, -1)
                    )
                    used = [torch.unique(r[r != 0]).numel() for r in rows]
                    assert max(used) <= m and min(used) >= 1, f"{where} zero_fraction={fraction}"
                    if scope == "neuron":  # every neuron keeps a weight of its own codebook
                        dead = int(((out != 0).sum(dim=1) == 0).sum())
                        assert dead == 0, f"{where} zero_fraction={fraction}: {dead} dead neurons"


def test_grid_range_and_levels() -> None:
    assert grid_range(5) == (-16, 15) and grid_range(5, symmetric=True) == (-15, 15)
    assert grid_range(2, symmetric=True) == (-1, 1)
    assert grid_levels(5) == 32 and grid_levels(5, symmetric=True) == 31
    assert grid_levels(5, symmetric=True, zero_is_free=True) == 30


def test_distinct_levels_leaves_the_lowest_code_out_of_a_symmetric_grid() -> None:
    far = torch.tensor([[-40.0, 3.0]])
    assert distinct_levels(far, bits=5, nonzero=False).tolist() == [[-16.0, 3.0]]
    assert distinct_levels(far, bits=5, nonzero=False, symmetric=True).tolist() == [[-15.0, 3.0]]
    # as many values as the symmetric grid has levels, all crowded below its end
    crowded = -20.0 - torch.rand(1, 31, generator=torch.Generator().manual_seed(0))
    k = distinct_levels(crowded, bits=5, nonzero=False, symmetric=True)
    assert sorted(k.flatten().tolist()) == [float(v) for v in range(-15, 16)]
    k = distinct_levels(crowded[:, :30], bits=5, nonzero=True, symmetric=True)
    assert sorted(k.flatten().tolist()) == [float(v) for v in range(-15, 16) if v != 0]


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("zero_is_free", [False, True])
def test_symmetric_codebook_never_uses_the_lowest_code(bits: int, zero_is_free: bool) -> None:
    """On a symmetric grid no code is ``-2^(b-1)``, for any weights, M or scope, and M values
    still get M distinct levels up to the (one smaller) grid; the two's complement grid does
    use that code once M needs every level."""
    gen = torch.Generator().manual_seed(100 + bits * 2 + zero_is_free)
    lowest = -(2 ** (bits - 1))
    grid = grid_levels(bits, symmetric=True, zero_is_free=zero_is_free)
    for m in sorted({2, min(4, grid), grid} & set(range(2, grid + 1))):
        for scope in ("layer", "neuron"):
            for kind in ("gaussian", "laplace", "heavy", "negative"):
                w = _weights(kind, (5, 48), gen) if kind != "negative" else None
                if w is None:  # mostly negative, with a long negative tail
                    w = -_weights("heavy", (5, 48), gen).abs() - 0.01
                q = ClusterQuantizer(
                    w, n_values=m, bits=bits, scope=scope, zero_is_free=zero_is_free,
                    symmetric=True,
                )  # fmt: skip
                where = f"b={bits} M={m} zero_is_free={zero_is_free} {scope} {kind}"
                k = q.integer_values()
                assert all(torch.unique(row).numel() == m for row in k), where
                assert int(k.min()) > lowest and int(k.max()) <= -lowest - 1, where
                codes = torch.round(q(w) / q.scale)
                assert int(codes.min()) > lowest, where
                # latent values pushed far below the grid come back inside it
                with torch.no_grad():
                    q.codebook.sub_(4 * 2**bits)
                q.clamp_and_reseed()
                assert int(q.integer_values().min()) == lowest + 1, where
    full = grid_levels(bits, zero_is_free=zero_is_free)
    w = -_weights("heavy", (1, 400), gen).abs()
    twos = ClusterQuantizer(w, n_values=full, bits=bits, zero_is_free=zero_is_free)
    assert int(twos.integer_values().min()) == lowest  # every level, the lowest included


@pytest.mark.parametrize("bits", [2, 5, 8])
def test_symmetric_uniform_quantizer(bits: int) -> None:
    w = torch.randn(6, 30, generator=torch.Generator().manual_seed(bits))
    q = UniformQuantizer(w, bits=bits, symmetric=True)
    plain = UniformQuantizer(w, bits=bits)
    for quantizer in (q, plain):
        quantizer.scale.fill_(1e-3)  # a step so small that every weight clips to the range
    k = torch.round(q(w) / q.scale)
    assert (int(k.min()), int(k.max())) == (-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1)
    assert q.n_values == 2**bits - 1 and q.levels().numel() == q.n_values
    assert torch.equal(q.levels()[0][q.codes(w)], k.long())
    assert int(torch.round(plain(w) / plain.scale).min()) == -(2 ** (bits - 1))


def test_codebook_is_clamped_to_the_grid_and_merged_and_memberless_values_reseeded() -> None:
    gen = torch.Generator().manual_seed(0)
    q = ClusterQuantizer(torch.randn(1, 400, generator=gen) * 0.05, n_values=4, bits=3)
    q.train()
    s = float(q.scale)
    # weights around levels 1..2 and -1 only
    w = s * torch.cat([torch.rand(1, 300, generator=gen) * 2 + 0.5, -torch.rand(1, 100) - 0.5], 1)
    with torch.no_grad():
        q.codebook[0, 0] = 40.0  # far outside the 3-bit range
    q(w)
    q.clamp_and_reseed()
    u = q.codebook.detach()
    assert float(u.max()) <= q.k_max and float(u.min()) >= q.k_min
    with torch.no_grad():  # two values merge on level 1; level -4 has no members
        q.codebook[0] = torch.tensor([1.0, 1.2, -4.0, -1.0])
    q(w)
    assert q.clamp_and_reseed() == 2
    assert torch.unique(q.integer_values()[0]).numel() == 4


def test_a_merged_value_moves_to_the_nearest_free_level() -> None:
    gen = torch.Generator().manual_seed(1)
    q = ClusterQuantizer(torch.randn(1, 400, generator=gen) * 0.05, n_values=2, bits=4)
    q.train()
    w = float(q.scale) * (torch.rand(1, 400, generator=gen) * 3 + 0.5)  # levels 1..3 only
    with torch.no_grad():
        q.codebook[0] = torch.tensor([2.0, 2.3])  # both on level 2
    q(w)
    assert q.clamp_and_reseed() == 1
    assert sorted(q.integer_values()[0].tolist()) == [2, 3]  # 2.3 is nearest to 3
    q(w)
    assert bool((q.members > 0).all())


@pytest.mark.parametrize("backward", [False, True])
def test_a_memberless_value_splits_the_largest_cluster(backward: bool) -> None:
    gen = torch.Generator().manual_seed(1)
    q = ClusterQuantizer(torch.randn(1, 400, generator=gen) * 0.05, n_values=2, bits=4)
    q.train()
    w = float(q.scale) * (torch.rand(1, 400, generator=gen) * 3 + 0.5)  # levels 1..3 only
    with torch.no_grad():
        q.codebook[0] = torch.tensor([2.0, -5.0])  # nothing is near -5
    out = q(w)
    if backward:  # the gradient of a memberless value is zero: it must still be found
        (out * torch.rand(1, 400, generator=gen)).sum().backward()
        assert q.codebook.grad is not None and float(q.codebook.grad[0, 1]) == 0.0
    assert q.clamp_and_reseed() == 1
    k = sorted(q.integer_values()[0].tolist())
    assert k in ([1, 2], [2, 3])  # beside the cluster at 2, which it splits
    q(w)
    assert bool((q.members > 0).all()), "both halves of the split must have members"


def test_a_value_pushed_onto_the_free_zero_keeps_its_sign() -> None:
    gen = torch.Generator().manual_seed(2)
    w = torch.randn(1, 300, generator=gen) * 0.05
    q = ClusterQuantizer(w, n_values=2, bits=2, zero_is_free=True)
    q.train()
    assert sorted(torch.sign(q.integer_values()[0]).tolist()) == [-1, 1]
    positive = int(q.integer_values()[0].argmax())
    with torch.no_grad():
        q.codebook[0, positive] = 0.4  # the loss pushed the positive value onto zero
    q(w)
    assert q.clamp_and_reseed() == 1
    assert int(q.integer_values()[0, positive]) == 1, "a ternary codebook must stay ternary"


def test_codebook_values_travel_several_grid_steps_when_the_loss_asks() -> None:
    w = torch.randn(1, 200) * 0.05
    q = ClusterQuantizer(w, n_values=2, bits=6)
    q.train()
    opt = finetune_optimizer_for(q, codebook_lr=0.1)
    target = torch.full_like(w, float(q.scale) * 20)  # every weight wants level 20
    for _ in range(50):
        loss = ((q(w) - target) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        q.clamp_and_reseed()
    assert q.drift() >= 3.0


def finetune_optimizer_for(q: ClusterQuantizer, *, codebook_lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam([{"params": [q.codebook], "lr": codebook_lr}])


def test_codebook_usage_counts_what_the_network_uses() -> None:
    cfg = NetworkConfig(input_shape=(1, 4, 4), n_classes=4, hidden=(12,), timesteps=2)
    model = SpikingNetwork(cfg)
    assert codebook_usage(model) is None
    attach_quantizers(model, "cat", n_values=3, bits=4, scope="neuron", zero_is_free=True)
    usage = codebook_usage(model)
    assert usage is not None
    assert usage.effective_values == 3.0 and usage.effective_values_min == 3
    assert usage.drift == pytest.approx(0.0, abs=1e-5)
    q = model.synaptic_layers[0].weight_transform
    assert isinstance(q, ClusterQuantizer)
    with torch.no_grad():  # merge two values of every neuron of the first layer
        q.codebook[:, 1] = q.codebook[:, 0]
    usage = codebook_usage(model)
    assert usage is not None and usage.effective_values_min == 2 and usage.drift > 0
    assert set(usage.to_dict()) == {"effective_values", "effective_values_min", "codebook_drift"}


@pytest.mark.parametrize(("bits", "factor"), [(2, 0.25), (3, 0.5), (4, 1.0), (8, 1.0)])
def test_coarse_grids_learn_codebook_and_step_slower(bits: int, factor: float) -> None:
    cfg = NetworkConfig(input_shape=(1, 4, 4), n_classes=4, hidden=(12,), timesteps=2)
    model = SpikingNetwork(cfg)
    attach_quantizers(model, "cat", n_values=2, bits=bits, zero_is_free=True)
    opt = finetune_optimizer(model, PipelineConfig(finetune_lr=1e-3, codebook_lr=0.04))
    quantizers = [layer.weight_transform for layer in model.synaptic_layers]
    lr = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    for q in quantizers:
        assert isinstance(q, ClusterQuantizer)
        assert lr[id(q.codebook)] == pytest.approx(0.04 * factor)
        assert lr[id(q.log_scale)] == pytest.approx(0.04 * factor * SCALE_LR_FACTOR)
    latent = [p for p in model.parameters() if id(p) not in {id(q.codebook) for q in quantizers}]
    assert {lr[id(p)] for p in latent if id(p) in lr and p.dim() > 1} == {1e-3}
