"""Fitting a space to its data and chip: event frames, input reduction, refusals that help."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

from spikefit_search.data import Dataset
from spikefit_search.exceptions import ConfigError
from spikefit_search.hardware import load_profile, static_check
from spikefit_search.search import SearchOptions
from spikefit_search.search.inputs import fit_to_data, reduction_choices, smallest_check
from spikefit_search.search.preparation import prepare
from spikefit_search.search.space import load_search_space


def fake_data(shape: tuple[int, ...], n_classes: int = 4) -> Dataset:
    """A dataset of the given sample shape (frames when 4-D); only shapes matter here."""
    x = torch.zeros(8, *shape, dtype=torch.uint8 if len(shape) == 4 else torch.float32)
    y = torch.arange(8) % n_classes
    return Dataset("fake", x, y, x, y, x, y, x, y, n_classes, 100.0 if len(shape) == 4 else None)


def test_reduction_choices_for_channels_and_maps() -> None:
    assert reduction_choices((700, 1, 1), 16) == ("input_group", (44, 88, 176))
    assert reduction_choices((700, 1, 1), 64) == ("input_group", (11, 22, 44))
    assert reduction_choices((1, 8, 8), 16) == ("input_pool", (2, 4, 8))
    assert reduction_choices((2, 34, 34), 64) == ("input_pool", (7, 14, 28))
    assert reduction_choices((1, 8, 8), 64) is None  # already fits
    assert reduction_choices((100, 4, 4), 16) is None  # pooling alone cannot fit 100 channels


def test_xylo_audio_gets_channel_grouping_and_every_sample_fits_its_inputs() -> None:
    profile = load_profile("xylo-audio2")
    data = fake_data((4, 700, 1, 1))
    space = fit_to_data(load_search_space("mlp").narrow(profile), profile, data)
    assert space.params["input_group"].choices == (44, 88, 176)
    assert "timesteps" not in space.params and space.network["encoder"] == "events"
    assert space.network["timesteps"] == 4
    assert any("xylo-audio2 takes at most 16 inputs" in n for n in space.notes)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        cand = space.sample(study.ask(), input_shape=data.input_shape, n_classes=4)
        assert cand.network.layer_specs()[0].n_inputs <= 16
        check = static_check(profile, cand.pruned_network(), n_values=4, bits=8)
        assert "inputs" not in {u.name for u in check.violations}
    assert smallest_check(space, profile, data).fits


def test_without_reduction_the_same_data_does_not_fit() -> None:
    profile = load_profile("xylo-audio2")
    data = fake_data((4, 700, 1, 1))
    space = load_search_space("mlp").narrow(profile)
    assert not smallest_check(space, profile, data).fits


def test_dynap_se2_pools_a_camera_map_to_its_fan_in() -> None:
    profile = load_profile("dynap-se2")
    data = fake_data((4, 2, 34, 34))
    space = fit_to_data(load_search_space("mlp").narrow(profile), profile, data)
    assert space.params["input_pool"].choices == (7, 14, 28)
    assert smallest_check(space, profile, data).fits


def test_speck_keeps_the_space_and_static_data_keep_rate_coding() -> None:
    profile = load_profile("speck")
    space = fit_to_data(load_search_space("mlp").narrow(profile), profile, fake_data((1, 8, 8)))
    assert not {"input_pool", "input_group"} & set(space.params)
    assert space.network["encoder"] == "rate" and "timesteps" in space.params


def test_dvs_space_rejects_candidates_on_speck_core_memory() -> None:
    """The event-camera space reaches past Speck's memories: a good share of its candidates
    on an N-MNIST-sized input are rejected statically, by neuron or kernel memory."""
    profile = load_profile("speck")
    data = fake_data((4, 2, 34, 34), n_classes=10)
    space = fit_to_data(load_search_space("dvs").narrow(profile), profile, data)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    rejected, reasons = 0, set()
    for _ in range(100):
        cand = space.sample(study.ask(), input_shape=data.input_shape, n_classes=10)
        check = static_check(profile, cand.pruned_network(), n_values=cand.n_values, bits=cand.bits)
        if not check.fits:
            rejected += 1
            reasons |= {u.name for u in check.violations}
    assert 20 <= rejected <= 80
    assert {"neuron_memory", "kernel_memory"} <= reasons


def test_refusal_names_the_space_that_fits(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "big.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (120, 28, 28)).astype(np.uint8),
        y_train=np.arange(120) % 4,
        x_test=rng.integers(0, 256, (20, 28, 28)).astype(np.uint8),
        y_test=np.arange(20) % 4,
    )
    opts = SearchOptions(device="speck", dataset=str(path), space="mlp", out=str(tmp_path))
    with pytest.raises(ConfigError, match=r"kernel size on layer 0: 28 > 16; use --space conv"):
        prepare(opts)
    prep = prepare(replace(opts, space="conv"))
    assert prep.study_name == "speck-conv-big"


def test_an_events_space_refuses_static_data() -> None:
    profile = load_profile("loihi")
    space = load_search_space("mlp").narrow(profile)
    space = replace(space, network={**space.network, "encoder": "events"})
    with pytest.raises(ConfigError, match="encoder 'events' needs event data"):
        fit_to_data(space, profile, fake_data((1, 8, 8)))
