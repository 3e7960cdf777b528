"""Every setting a shipped space can produce, on every shipped device: a live candidate, each
final width from one parent and one ``rho``, and parameters every trial has (GP models them).

A candidate's widths depend only on the structural parameters (layers, parent widths or
channels, ``rho``), its quantizers only on the compression parameters (method, ``M``, ``b``,
``zero_fraction``) and its layers' weights, so the two are enumerated apart: every structure,
and every compression at the space's narrowest structure (fewest weights per layer).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import torch
from search_options import options

from spikefit_search.compression.neurons import shrink_network
from spikefit_search.compression.pipeline import attach_configured_quantizers
from spikefit_search.data import load_dataset
from spikefit_search.exceptions import SearchSpaceError
from spikefit_search.hardware import list_profiles, load_profile
from spikefit_search.hardware.target import load_target
from spikefit_search.reporting.export import export_trial
from spikefit_search.search import list_search_spaces, load_search_space, run_search
from spikefit_search.search.samplers import make_sampler
from spikefit_search.search.space import Param, SearchSpace
from spikefit_search.search.storage import open_storage
from spikefit_search.search.trial import TrialSettings, fit_to_grid, pipeline_config
from spikefit_search.snn import SpikingNetwork

INPUT = {"mlp": (1, 8, 8), "rnn": (1, 8, 8), "conv": (1, 8, 8), "dvs": (2, 34, 34)}
STRUCTURE = ("hidden_layers", "conv_layers", "width", "channels", "rho")
COMPRESSION = ("quantization", "n_values", "bits", "zero_fraction")
DEVICES = [name for name in list_profiles() if name != "generic"]


def values(param: Param) -> list[Any]:
    if param.choices is not None:
        return list(param.choices)
    assert param.low is not None and param.high is not None and param.step is not None
    return [float(v) for v in np.arange(param.low, param.high + param.step / 2, param.step)]


def trial_params(space: SearchSpace, setting: dict[str, Any]) -> dict[str, Any]:
    """A FixedTrial's parameters: ``setting`` over the first value of everything else, the
    per-layer names filled from ``width`` and ``channels``."""
    out = {k: values(p)[0] for k, p in space.params.items() if k not in ("width", "channels")}
    out.update({k: v for k, v in setting.items() if k not in ("width", "channels")})
    for key in ("width", "channels"):
        if key in space.params:
            per_layer = setting.get(key, (values(space.params[key])[0],) * 4)
            out.update({f"{key}_{i}": w for i, w in enumerate(per_layer)})
    return out


def structures(space: SearchSpace) -> list[dict[str, Any]]:
    """Every structural setting (per-layer widths drawn independently)."""
    p = space.params
    depth = space.deepest("conv_layers" if space.kind == "conv" else "hidden_layers")
    axes: dict[str, list[Any]] = {}
    for key in ("hidden_layers", "conv_layers", "rho"):
        if key in p:
            axes[key] = values(p[key])
    if space.kind == "conv":
        axes["channels"] = list(itertools.product(values(p["channels"]), repeat=depth))
        axes["width"] = [(w,) for w in values(p["width"])]
    else:
        axes["width"] = list(itertools.product(values(p["width"]), repeat=depth))
    return [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]


def narrowed(space_name: str, device: str) -> SearchSpace:
    try:
        return load_search_space(space_name).narrow(load_profile(device))
    except SearchSpaceError:
        pytest.skip(f"{space_name} does not run on {device}")


def sample(space: SearchSpace, params: dict[str, Any]) -> Any:
    trial = optuna.trial.FixedTrial(params)
    return space.sample(trial, input_shape=INPUT[space.name], n_classes=10)


@pytest.mark.parametrize("space_name", list_search_spaces())
def test_every_final_width_comes_from_one_parent_and_one_rho(space_name: str) -> None:
    space = load_search_space(space_name)
    seen: dict[tuple[int, ...], dict[str, Any]] = {}
    for setting in structures(space):
        cand = sample(space, trial_params(space, setting))
        widths = cand.pruned_network().hidden_sizes
        assert min(widths) >= 1, (setting, widths)  # no zero-width layer
        key = (len(cand.network.hidden_sizes), *widths)
        unused = {k: v for k, v in setting.items() if k in ("width", "channels")}
        used = (cand.network.hidden_sizes, cand.rho)
        if key in seen:  # the same network only when the same parents and rho (unused widths
            assert seen[key]["used"] == used, (setting, seen[key], unused)  # aside)
        seen[key] = {"used": used}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("space_name", list_search_spaces())
def test_every_setting_gives_a_live_candidate(space_name: str, device: str) -> None:
    space = narrowed(space_name, device)
    profile = load_profile(device)
    settings = TrialSettings(
        space=space, profile=profile, data=load_dataset("digits"), budget=1, seed=0
    )
    narrowest = min(
        structures(space),
        key=lambda s: sum(sample(space, trial_params(space, s)).network.hidden_sizes),
    )
    for setting in structures(space):  # widths: every structure builds
        cand = sample(space, trial_params(space, setting))
        assert min(cand.pruned_network().hidden_sizes) >= 1
    axes = {k: values(space.params[k]) for k in COMPRESSION if k in space.params}
    built: set[tuple[Any, ...]] = set()
    for combo in itertools.product(*axes.values()):
        cand = sample(space, trial_params(space, {**narrowest, **dict(zip(axes, combo))}))
        cand, _ = fit_to_grid(cand, profile)
        cfg = pipeline_config(cand, settings, seed=0)  # raises ConfigError if unbuildable
        key = (cfg.quantization, cfg.n_values, cfg.bits, cfg.zero_fraction)
        if key in built:
            continue
        built.add(key)
        torch.manual_seed(0)
        model = SpikingNetwork(cfg.network)
        keep = [
            torch.arange(n)
            for n in cfg.network.with_widths(cand.pruned_network().hidden_sizes).hidden_sizes
        ]
        model = shrink_network(model, keep).eval()
        attach_configured_quantizers(model, cfg)
        with torch.no_grad():
            for layer in model.synaptic_layers:
                w = layer.effective_weight()
                live = (w.reshape(w.shape[0], -1) != 0).any(dim=1)
                assert live.any(), (device, key, layer.spec.index)  # not every weight at zero


@pytest.mark.parametrize(
    ("space_name", "device"), [("mlp", "loihi"), ("conv", "speck"), ("dvs", "speck")]
)
def test_gp_models_the_widths_of_every_layer(space_name: str, device: str) -> None:
    space = load_search_space(space_name).narrow(load_profile(device))
    sampler = make_sampler("gp", seed=0, budget=20, threshold=0.15)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    for i in range(4):
        trial = study.ask()
        cand = space.sample(trial, input_shape=INPUT[space_name], n_classes=10)
        study.tell(trial, [0.5 + 0.01 * i, float(sum(cand.network.hidden_sizes))])
    depths = {len(t.params) for t in study.trials}
    assert len(depths) == 1  # every trial has every parameter
    modelled = sampler.infer_relative_search_space(study, study.ask())
    per_layer = {k for k in study.trials[0].params if k.startswith(("width_", "channels_"))}
    depth = space.deepest("conv_layers" if space.kind == "conv" else "hidden_layers")
    name = "channels" if space.kind == "conv" else "width"
    assert {f"{name}_{i}" for i in range(depth)} <= per_layer
    assert per_layer <= set(modelled), modelled
    if "quantization" in space.params and len(space.params["quantization"].choices or ()) > 1:
        assert "quantization" in modelled


def test_search_trains_each_quantization_it_offers(tmp_path: Path) -> None:
    space = tmp_path / "methods.yaml"
    space.write_text(
        "name: methods\nnetwork: {kind: mlp, timesteps: 4}\n"
        "params:\n  quantization: {choices: [cat, uniform, kmeans]}\n"
        "  n_values: {choices: [2]}\n  bits: {choices: [2]}\n  width: {choices: [16]}\n"
        "training: {warmup_epochs: 3, finetune_epochs: 1, batch_size: 32}\n"
    )
    result = run_search(options(tmp_path, space, device="dynap-se2", budget=6, sampler="random"))
    study = optuna.load_study(
        study_name=result.study_name, storage=open_storage(result.run_dir, None)
    )
    trained = [t for t in study.trials if t.user_attrs.get("stage") == "trained"]
    methods = {t.user_attrs["pipeline"]["quantization"] for t in trained}
    assert methods == {"cat", "uniform", "kmeans"}
    for t in trained:
        grid = t.user_attrs["pipeline"]["quantization"] == "uniform"
        # a uniform 2-bit grid with the free zero: the levels -2, -1, 1 (n_values records them)
        assert t.user_attrs["n_values"] == (3 if grid else 2)
        assert t.user_attrs["feasible"] is True
        exported = tmp_path / f"trial_{t.number}.yaml"  # export writes what check reads back
        export_trial(result.run_dir, trial=t.number, pick=None, out=exported)
        assert load_target(exported) is not None
