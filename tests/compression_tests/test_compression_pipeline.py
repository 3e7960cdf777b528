from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml

from spikefit_search.compression import (
    CandidateStopped,
    ClusterQuantizer,
    PipelineConfig,
    UniformQuantizer,
    attach_quantizers,
    codebook_parameters,
    codebook_usage,
    freeze_codebooks,
    integer_export,
    load_checkpoint,
    run_pipeline,
    save_checkpoint,
    warm_up,
)
from spikefit_search.compression import pipeline as pipeline_module
from spikefit_search.data import Dataset, load_dataset
from spikefit_search.exceptions import ConfigError, SpikefitError, UnknownNameError
from spikefit_search.snn import NetworkConfig, SpikingNetwork
from spikefit_search.training import evaluate


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", limit_train=400)


@pytest.fixture(scope="module")
def full_digits() -> Dataset:
    return load_dataset("digits")


def _cfg(**kw: object) -> PipelineConfig:
    base: dict[str, object] = dict(
        network=NetworkConfig(hidden=(24,), timesteps=3),
        warmup_epochs=2,
        finetune_epochs=1,
        batch_size=64,
        rho=0.25,
        n_values=3,
        bits=4,
        seed=1,
    )
    base.update(kw)
    return PipelineConfig(**base)  # type: ignore[arg-type]


def test_pipeline_runs_end_to_end_and_holds_invariants(digits: Dataset) -> None:
    cfg = _cfg(scope="neuron", zero_is_free=True, fan_in_cap=40, warmup_epochs=6)
    r = run_pipeline(cfg, digits)
    assert r.network.hidden == (18,)  # 24 - round(0.25 * 24)
    assert r.model.config == r.network
    # digits has 10 classes: a network that learned is far above chance (0.1)
    assert r.test_accuracy > 0.25 and r.val_accuracy > 0.25
    assert len(r.losses) == 7 and r.seconds > 0
    assert r.activity.samples == len(digits.y_test) and r.val_activity.samples == len(digits.y_val)
    for layer in r.model.synaptic_layers:
        q = layer.weight_transform
        assert isinstance(q, ClusterQuantizer) and q.scope == "neuron" and q.zero_is_free
        w = layer.effective_weight()
        assert int((w != 0).reshape(w.shape[0], -1).sum(1).max()) <= 40
        used = [torch.unique(row[row != 0]).numel() for row in w.reshape(w.shape[0], -1)]
        assert max(used) <= 3 and sum(used) / len(used) > 2, "CAT must use its M values"
        assert torch.equal(integer_export(layer).weights(), w)
    again = evaluate(r.model, digits.x_test, digits.y_test, draws=1)  # as the pipeline scores it
    assert again.accuracy == r.test_accuracy
    assert r.val is not None and r.val.draws == 8 and r.val.se > 0  # the selection score


@pytest.mark.parametrize(
    ("n_values", "zero_is_free"), [(2, True), (3, True), (3, False), (4, False)]
)
def test_two_bit_cat_learns_with_the_pipelines_own_learning_rates(
    full_digits: Dataset, n_values: int, zero_is_free: bool
) -> None:
    cfg = _cfg(
        network=NetworkConfig(hidden=(32,), timesteps=4),
        rho=0.0,
        n_values=n_values,
        bits=2,
        zero_is_free=zero_is_free,
        warmup_epochs=4,
        finetune_epochs=2,
    )
    defaults = PipelineConfig()
    assert (cfg.finetune_lr, cfg.codebook_lr) == (defaults.finetune_lr, defaults.codebook_lr)
    r = run_pipeline(cfg, full_digits)
    assert r.test_accuracy > 0.5, "a 2-bit CAT network must learn well above chance (0.1)"
    usage = codebook_usage(r.model)
    assert usage is not None and usage.effective_values_min >= n_values - (not zero_is_free)
    for layer in r.model.synaptic_layers:
        assert bool((layer.effective_weight() != 0).any())


def test_pipeline_is_deterministic_and_warm_start_matches(digits: Dataset) -> None:
    cfg = _cfg()
    a, b = run_pipeline(cfg, digits), run_pipeline(cfg, digits)
    assert a.test_accuracy == b.test_accuracy and a.losses == b.losses
    warm, _ = warm_up(cfg, digits)
    c = run_pipeline(cfg, digits, warm_start=warm)
    assert c.test_accuracy == a.test_accuracy and c.losses == a.losses[cfg.warmup_epochs :]
    for pa, pc in zip(a.model.state_dict().values(), c.model.state_dict().values()):
        assert torch.equal(pa, pc)


@pytest.mark.parametrize("freeze", [0.0, 0.5, 1.0])
def test_codebooks_stop_learning_after_the_freeze_fraction(
    digits: Dataset, freeze: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[list[torch.Tensor]] = []  # every codebook before training, then after each step
    build = pipeline_module.finetune_optimizer

    def recording(model: SpikingNetwork, cfg: PipelineConfig) -> torch.optim.Optimizer:
        opt = build(model, cfg)
        steps.append([c.detach().clone() for c in codebook_parameters(model)])
        opt.register_step_post_hook(
            lambda *_: steps.append([c.detach().clone() for c in codebook_parameters(model)])
        )
        return opt

    monkeypatch.setattr(pipeline_module, "finetune_optimizer", recording)
    cfg = _cfg(rho=0.0, finetune_epochs=2, codebook_freeze=freeze)
    r = run_pipeline(cfg, digits)
    total = 2 * -(-len(digits.y_train) // cfg.batch_size)
    assert len(steps) == 1 + total
    frozen_from = int(freeze * total)  # nothing moves after this step
    for books in steps[frozen_from + 1 :]:
        assert all(torch.equal(a, b) for a, b in zip(steps[frozen_from], books))
    if frozen_from > 0:  # and everything learned before it
        assert all(not torch.equal(a, b) for a, b in zip(steps[0], steps[frozen_from]))
    for c in codebook_parameters(r.model):
        assert c.requires_grad, "the codebooks learn again after the fine-tune"


def test_freeze_codebooks_leaves_post_training_kmeans_alone() -> None:
    model = SpikingNetwork(NetworkConfig(hidden=(8,), timesteps=2))
    attach_quantizers(model, "kmeans", n_values=3, bits=4)
    assert freeze_codebooks(model, frozen=False) == 0
    assert not any(c.requires_grad for c in codebook_parameters(model))
    cat = SpikingNetwork(NetworkConfig(hidden=(8,), timesteps=2))
    attach_quantizers(cat, "cat", n_values=3, bits=4)
    assert freeze_codebooks(cat) == 2 and freeze_codebooks(cat) == 0
    q = cat.synaptic_layers[0].weight_transform
    assert isinstance(q, ClusterQuantizer) and not q.log_scale.requires_grad
    with torch.no_grad():
        q.codebook.add_(40.0)  # far outside the grid: a frozen codebook is left as it is
    assert q.clamp_and_reseed() == 0 and float(q.codebook.min()) > q.k_max
    assert freeze_codebooks(cat, frozen=False) == 2


@pytest.mark.parametrize("method", ["uniform", "kmeans", "none"])
def test_baselines_run_in_the_same_pipeline(digits: Dataset, method: str) -> None:
    r = run_pipeline(_cfg(quantization=method, neuron_pruning="magnitude"), digits)
    q = r.model.synaptic_layers[0].weight_transform
    expected = {"uniform": UniformQuantizer, "kmeans": ClusterQuantizer, "none": type(None)}
    assert isinstance(q, expected[method])
    if method == "kmeans":
        assert isinstance(q, ClusterQuantizer) and not q.codebook.requires_grad


def test_stop_below_raises_candidate_stopped(digits: Dataset) -> None:
    with pytest.raises(CandidateStopped) as info:
        run_pipeline(_cfg(warmup_epochs=0), digits, stop_below=0.99)
    assert isinstance(info.value, SpikefitError)
    assert 0.0 <= info.value.accuracy < 0.99 and info.value.threshold == 0.99
    assert "stop_below=0.9900, but got" in str(info.value)


def test_checkpoint_round_trip(digits: Dataset, tmp_path: Path) -> None:
    cfg = _cfg(fan_in_cap=30)
    r = run_pipeline(cfg, digits)
    path = save_checkpoint(tmp_path / "ck" / "model.pt", r, cfg)
    model, loaded = load_checkpoint(path)
    assert loaded == cfg
    assert model.config == r.network
    for a, b in zip(model.synaptic_layers, r.model.synaptic_layers):
        assert torch.equal(a.effective_weight(), b.effective_weight())
        assert isinstance(a.weight_transform, ClusterQuantizer)
    # the pipeline scores the test split with one encoding draw
    assert evaluate(model, digits.x_test, digits.y_test, draws=1).accuracy == r.test_accuracy


@pytest.mark.parametrize("quantization", ["cat", "kmeans"])
def test_zero_fraction_prunes_inside_the_codebook_and_survives_a_checkpoint(
    full_digits: Dataset, tmp_path: Path, quantization: str
) -> None:
    cfg = _cfg(
        network=NetworkConfig(hidden=(32,), timesteps=4),
        zero_is_free=True,
        zero_fraction=0.6,
        quantization=quantization,
        warmup_epochs=4,
        finetune_epochs=2,
    )
    r = run_pipeline(cfg, full_digits)
    plain = run_pipeline(replace(cfg, zero_fraction=0.0), full_digits)
    assert r.test_accuracy > 0.5  # ten classes: far above chance
    for layer, other in zip(r.model.synaptic_layers, plain.model.synaptic_layers):
        w = layer.effective_weight()
        live = w.numel() if layer.mask is None else int(layer.mask.sum())
        assert int((w != 0).sum()) <= 0.4 * live + 1
        assert int((w != 0).sum()) < int((other.effective_weight() != 0).sum())
    assert r.activity.total_sops < plain.activity.total_sops
    model, loaded = load_checkpoint(save_checkpoint(tmp_path / "z.pt", r, cfg))
    assert loaded.zero_fraction == 0.6
    for a, b in zip(model.synaptic_layers, r.model.synaptic_layers):
        assert torch.equal(a.effective_weight(), b.effective_weight())


@pytest.mark.parametrize("quantization", ["cat", "uniform"])
def test_symmetric_grid_reaches_every_quantizer_and_survives_a_checkpoint(
    digits: Dataset, tmp_path: Path, quantization: str
) -> None:
    # M = 7 is every level of a symmetric 3-bit grid: the codebook must sit on -3..3
    cfg = _cfg(bits=3, n_values=7, symmetric_grid=True, quantization=quantization, warmup_epochs=1)
    r = run_pipeline(cfg, digits)
    for layer in r.model.synaptic_layers:
        q = layer.weight_transform
        assert q is not None and q.symmetric and (q.k_min, q.k_max) == (-3, 3)
        k = torch.round(layer.effective_weight() / q.scale)
        assert int(k.min()) >= -3 and int(k.max()) <= 3
    path = save_checkpoint(tmp_path / "sym.pt", r, cfg)
    model, loaded = load_checkpoint(path)
    assert loaded.symmetric_grid
    for a, b in zip(model.synaptic_layers, r.model.synaptic_layers):
        assert a.weight_transform is not None and a.weight_transform.symmetric
        assert torch.equal(a.effective_weight(), b.effective_weight())


def test_a_config_written_before_symmetric_grid_loads_as_twos_complement() -> None:
    old = _cfg().to_dict()
    del old["symmetric_grid"]
    assert PipelineConfig.from_dict(old).symmetric_grid is False


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="checkpoint must be an existing file"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"hello": 1}, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match="must be a spikefit checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_config_round_trips_through_yaml() -> None:
    cfg = _cfg(scope="neuron", zero_is_free=True, fan_in_cap=12, quantization="uniform")
    text = yaml.safe_dump(cfg.to_dict())
    assert PipelineConfig.from_dict(yaml.safe_load(text)) == cfg
    assert set(cfg.to_dict()) == {
        "network",
        "quantization",
        "neuron_pruning",
        "n_values",
        "bits",
        "rho",
        "scope",
        "zero_is_free",
        "zero_fraction",
        "symmetric_grid",
        "codebook_init",
        "fan_in_cap",
        "warmup_epochs",
        "finetune_epochs",
        "batch_size",
        "lr",
        "finetune_lr",
        "codebook_lr",
        "codebook_freeze",
        "seed",
        "schedule",
        "warmup_seed",
    }


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        ({"n_values": 1}, ConfigError, "n_values must be at least 2, but got n_values=1."),
        ({"bits": 1}, ConfigError, "bits must be in 2..8, but got bits=1."),
        ({"bits": 9}, ConfigError, "bits must be in 2..8, but got bits=9."),
        ({"rho": 1.0}, ConfigError, "rho must be in [0, 1), but got rho=1.0."),
        ({"rho": -0.5}, ConfigError, "rho must be in [0, 1), but got rho=-0.5."),
        (
            {"scope": "core"},
            ConfigError,
            "scope must be one of layer, neuron, but got scope='core'.",
        ),
        (
            {"quantization": "lsq"},
            ConfigError,
            "quantization must be one of cat, kmeans, none, uniform",
        ),
        ({"neuron_pruning": "taylor"}, UnknownNameError, "neuron_pruning must be one of fsc"),
        ({"n_values": 20}, ConfigError, "n_values must be at most the 16 levels of a 4-bit grid"),
        (
            {"n_values": 16, "symmetric_grid": True},
            ConfigError,
            "n_values must be at most the 15 levels of a symmetric 4-bit grid, but got n_values=16",
        ),
        ({"codebook_init": "zeros"}, ConfigError, "codebook_init must be one of kmeans"),
        ({"fan_in_cap": 0}, ConfigError, "fan_in_cap must be None or at least 1"),
        ({"finetune_lr": 0.0}, ConfigError, "finetune_lr must be a positive number"),
        ({"warmup_epochs": -1}, ConfigError, "warmup_epochs must be non-negative"),
        (
            {"zero_fraction": 0.5},
            ConfigError,
            "zero_fraction needs the free zero code (zero_is_free)",
        ),
        (
            {"zero_fraction": 0.5, "zero_is_free": True, "quantization": "uniform"},
            ConfigError,
            "zero_fraction applies to a codebook (quantization cat or kmeans), but got",
        ),
        (
            {"codebook_freeze": 1.5},
            ConfigError,
            "codebook_freeze must be a fraction in [0, 1], but got codebook_freeze=1.5.",
        ),
    ],
)
def test_config_validation(kw: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        _cfg(**kw)
    assert message in str(info.value)


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="pipeline keys must be among"):
        PipelineConfig.from_dict({"n_value": 4})


def test_network_must_match_data(digits: Dataset) -> None:
    cfg = _cfg(network=NetworkConfig(input_shape=(1, 28, 28), hidden=(4,), timesteps=2))
    with pytest.raises(ConfigError, match="network must match the data"):
        run_pipeline(cfg, digits)


def test_check_checkpoint_and_export_use_the_evaluated_zero_floor(
    digits: Dataset, tmp_path: Path
) -> None:
    from spikefit_search.hardware import measured_check
    from spikefit_search.reporting.nir_export import to_nir

    # 64 x 300 weights in one scope: more than a training call samples for the zero floor, so
    # training and evaluation mode send different weights to the free zero
    cfg = _cfg(
        network=NetworkConfig(hidden=(300,), timesteps=2),
        rho=0.0,
        zero_is_free=True,
        zero_fraction=0.5,
        warmup_epochs=1,
        finetune_epochs=1,
    )
    r = run_pipeline(cfg, digits)
    assert not r.model.training  # the network as evaluated
    evaluated = [layer.effective_weight() for layer in r.model.synaptic_layers]
    model = r.model.train()
    first = model.synaptic_layers[0]
    assert not torch.equal(first.effective_weight(), evaluated[0])  # the modes do differ here
    assert torch.equal(integer_export(first).weights(), evaluated[0])
    check = measured_check("loihi2", model)
    synapses = next(u for u in check.usages if u.name == "synapses")
    assert synapses.usage == sum(int((w != 0).sum()) for w in evaluated)
    nir_weight = to_nir(model, cfg).nodes["l01b_fc"].weight
    assert torch.equal(torch.from_numpy(nir_weight), evaluated[0])
    assert model.training  # each of them left the mode as it was
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "floor.pt", r, cfg))
    assert not loaded.training
    assert torch.equal(loaded.synaptic_layers[0].effective_weight(), evaluated[0])
    model.eval()
    evaluate(model, digits.x_val, digits.y_val)
    assert not model.training  # evaluate keeps the mode the model had
