"""The static check is never more permissive than the measured check.

Random small networks are compressed with the real :class:`ClusterQuantizer` (and, on chips with
a fan-in limit, the real Fisher synapse pruner), nudged by a few training steps so the codebooks
move, and checked both ways: every constraint the static check passes, the measured check on
the trained weights passes too, for every shipped profile and every unique-weight scope.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from spikefit_search._resources import data_dir
from spikefit_search.compression import ClusterQuantizer, FisherWeightPruner, grid_levels
from spikefit_search.hardware import list_profiles, load_profile, measured_check, static_check
from spikefit_search.snn import NetworkConfig, SpikingNetwork

N_NETWORKS = 6


def _random_config(rng: random.Random) -> NetworkConfig:
    h, w = rng.randint(3, 6), rng.randint(3, 6)
    common = {
        "n_classes": rng.randint(2, 4),
        "beta": rng.choice([1.0, 0.9]),
        "readout": rng.choice(["spikes", "membrane"]),
        "timesteps": 2,
    }
    if rng.random() < 0.3:
        return NetworkConfig(
            kind="conv",
            input_shape=(rng.randint(1, 2), h, w),
            channels=(rng.randint(2, 4),),
            kernel=rng.choice([1, 3]),
            padding=rng.choice([0, 1]),
            stride=1,
            hidden=tuple(rng.randint(2, 6) for _ in range(rng.randint(0, 1))),
            **common,  # type: ignore[arg-type]
        )
    return NetworkConfig(
        input_shape=(1, h, w),
        hidden=tuple(rng.randint(2, 20) for _ in range(rng.randint(1, 2))),
        **common,  # type: ignore[arg-type]
    )


def _compress(
    model: SpikingNetwork,
    *,
    n_values: int,
    bits: int,
    scope: str,
    zero_is_free: bool,
    fan_in_cap: int | None,
    seed: int,
    symmetric: bool = False,
) -> None:
    """What the SpikeFit pipeline does after pruning, in miniature: cap, quantize, fine-tune."""
    torch.manual_seed(seed)
    cfg = model.config
    x = torch.rand(8, *cfg.input_shape)
    y = torch.randint(0, cfg.n_classes, (8,))
    if fan_in_cap is not None:
        FisherWeightPruner(fan_in_cap, seed=seed).apply(model, x, y)
    for layer in model.synaptic_layers:
        layer.weight_transform = ClusterQuantizer(
            layer.latent_weight,
            n_values=n_values,
            bits=bits,
            scope=scope,
            zero_is_free=zero_is_free,
            mask=layer.mask,
            symmetric=symmetric,
        )
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model.run(x).logits, y).backward()
        opt.step()


CASES = [(p, i) for p in list_profiles() for i in range(N_NETWORKS)]


@pytest.mark.parametrize(("profile", "index"), CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_static_never_more_permissive(profile: str, index: int) -> None:
    p = load_profile(profile)
    rng = random.Random(f"{profile}-{index}")
    config = _random_config(rng)
    zero_free = bool(p.unique_weights.zero_is_free.value)
    bits = rng.randint(2, min(8, p.weight_bits.value))
    levels = grid_levels(bits, symmetric=p.symmetric_at(bits), zero_is_free=zero_free)
    n_values = rng.randint(2, min(16, levels))
    scope = rng.choice(["layer", "neuron"])
    fan_in = p.limit("fan_in")
    widest = max(s.fan_in for s in config.layer_specs())
    cap = rng.randint(1, widest) if fan_in is None else min(fan_in, rng.randint(1, widest))
    cap_or_none = cap if rng.random() < 0.5 else None
    model = SpikingNetwork(config)
    _compress(
        model,
        n_values=n_values,
        bits=bits,
        scope=scope,
        zero_is_free=zero_free,
        fan_in_cap=cap_or_none,
        seed=index,
        symmetric=p.symmetric_at(bits),  # as the search builds it from the profile
    )
    static = static_check(
        p,
        config,
        n_values=n_values,
        bits=bits,
        scope=scope,
        zero_code=zero_free,
        fan_in_cap=cap_or_none,
    )
    measured = measured_check(p, model)
    assert static.names == measured.names
    for name in static.names:
        s_worst, m_worst = static.worst(name), measured.worst(name)
        if s_worst is not None and not s_worst.violated:
            assert m_worst is None or not m_worst.violated, (name, m_worst.message())
    if static.fits:
        assert measured.fits, measured.messages()
    # the unique-weight bound holds scope by scope, not only against the limit
    s_unique = {u.where: u.usage for u in static.usages if u.name == "unique_weights"}
    for u in measured.usages:
        if u.name == "unique_weights":
            where = u.where.split(" (neuron")[0].replace(" (every neuron)", "")
            bound = s_unique.get(where, s_unique.get(f"{where} (every neuron)"))
            assert bound is not None and u.usage <= bound, (u.where, u.usage, s_unique)


def test_dynap_se2_layers_never_share_a_core_table() -> None:
    """MLP 64-48-10, M = 12, b = 4 on DYNAP-SE2 (16 values per core).

    Each layer has its own scale, so packing both layers into core 0 would need their two
    value sets in one core (23 > 16 on a trained network of this shape). The one packing model
    gives each layer its own core, and the static bound (12 per core) holds on the trained
    weights.
    """
    config = NetworkConfig(input_shape=(1, 8, 8), hidden=(48,), n_classes=10, timesteps=2)
    model = SpikingNetwork(config)
    _compress(model, n_values=12, bits=4, scope="layer", zero_is_free=True, fan_in_cap=None, seed=0)
    static = static_check("dynap-se2", config, n_values=12, bits=4, zero_code=True)
    measured = measured_check("dynap-se2", model)
    s_cores = {u.where: u.usage for u in static.usages if u.name == "unique_weights"}
    m_cores = {u.where: u.usage for u in measured.usages if u.name == "unique_weights"}
    assert s_cores == {"core 0 (layer 0)": 12, "core 1 (layer 1)": 12}
    assert set(m_cores) == set(s_cores)
    assert all(m_cores[k] <= s_cores[k] for k in s_cores)
    assert static.worst("cores").usage == measured.worst("cores").usage == 2  # type: ignore[union-attr]
    together = torch.cat([layer.effective_weight().flatten() for layer in model.synaptic_layers])
    shared_core = int((torch.unique(together) != 0).sum())
    # one shared core would hold both layers' values: more than either layer alone
    assert shared_core > max(m_cores.values())
    assert static.fits and measured.fits, measured.messages()


SCOPE_CASES = [
    (scope, zero, i)
    for scope in ("layer", "neuron", "core", "chip")
    for zero in (True, False)
    for i in range(3)
]


@pytest.mark.parametrize(("scope", "zero_is_free", "index"), SCOPE_CASES)
def test_every_scope_bound(scope: str, zero_is_free: bool, index: int, tmp_path: Path) -> None:
    """The same property on the template chip for every unique-weight scope, zero free or not
    (the template packs 8 neurons per core, so layers span several cores)."""
    text = (data_dir("hardware_profiles") / "generic.yaml").read_text()
    text = text.replace("scope: {value: layer", f"scope: {{value: {scope}")
    text = text.replace("neurons_per_core: {value: 1024", "neurons_per_core: {value: 8")
    text = text.replace("max: {value: 256", "max: {value: 6")
    if not zero_is_free:
        text = text.replace("zero_is_free: {value: true", "zero_is_free: {value: false")
    path = tmp_path / f"{scope}.yaml"
    path.write_text(text)
    p = load_profile(path)
    assert p.unique_weights.scope.value == scope
    rng = random.Random(f"{scope}-{zero_is_free}-{index}")
    config = _random_config(rng)
    bits = rng.randint(2, 5)
    n_values = rng.randint(2, min(8, 2**bits - int(zero_is_free)))
    codebook_scope = rng.choice(["layer", "neuron"])
    cap = rng.choice([None, 3])
    model = SpikingNetwork(config)
    _compress(
        model,
        n_values=n_values,
        bits=bits,
        scope=codebook_scope,
        zero_is_free=zero_is_free,
        fan_in_cap=cap,
        seed=index,
    )
    static = static_check(
        p,
        config,
        n_values=n_values,
        bits=bits,
        scope=codebook_scope,
        zero_code=zero_is_free,
        fan_in_cap=cap,
    )
    measured = measured_check(p, model)
    s_worst, m_worst = static.worst("unique_weights"), measured.worst("unique_weights")
    assert s_worst is not None and m_worst is not None
    assert m_worst.usage <= s_worst.usage, (m_worst.where, s_worst.where)
    for name in static.names:
        s, m = static.worst(name), measured.worst(name)
        if s is not None and not s.violated:
            assert m is None or not m.violated, (name, m.message())
