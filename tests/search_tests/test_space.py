from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from spikefit_search.data import load_dataset
from spikefit_search.exceptions import SearchSpaceError, UnknownNameError
from spikefit_search.hardware import load_profile
from spikefit_search.search import list_search_spaces, load_search_space
from spikefit_search.search.trial import TrialSettings, pipeline_config


@pytest.mark.parametrize("name", list_search_spaces())
def test_shipped_spaces_load_and_sample(name: str) -> None:
    space = load_search_space(name)
    study = optuna.create_study(directions=["maximize", "minimize"])
    for _ in range(5):
        trial = study.ask()
        cand = space.sample(trial, input_shape=(1, 8, 8), n_classes=10)
        assert cand.network.kind == space.kind
        assert 2 <= cand.bits <= 8 and cand.n_values >= 2
        pruned = cand.pruned_network()
        assert all(p <= w for p, w in zip(pruned.hidden_sizes, cand.network.hidden_sizes))


def test_device_narrows_bits_values_and_neuron_model() -> None:
    space = load_search_space("mlp").narrow(load_profile("truenorth"))
    n_values = space.params["n_values"]
    assert n_values.choices is not None and max(n_values.choices) <= 4
    speck = load_search_space("mlp").narrow(load_profile("speck"))
    assert speck.network["beta"] == 1.0 and speck.network["readout"] == "spikes"
    assert any("speck" in note for note in speck.notes)


def test_narrowing_to_nothing_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("params:\n  n_values: {choices: [8, 16]}\n")
    with pytest.raises(
        SearchSpaceError, match=r"key params.n_values must offer a value of at most 4"
    ):
        load_search_space(path).narrow(load_profile("truenorth"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("params: {bits: {choices: [1, 4]}}", "params.bits"),
        ("params: {rho: {low: 0.2, high: 1.0}}", "params.rho"),
        ("params: {colour: {choices: [1]}}", "params.colour"),
        ("params: {width: {low: 64, high: 8}}", "params.width"),
        ("params: {width: [8, 16]}", "params.width"),
        ("network: {beta: 2.0}\nparams: {bits: {choices: [4]}}", "network"),
        ("params: {bits: {choices: [4]}}\ntraining: {epochs: 3}", "training.epochs"),
        (
            "params: {bits: {choices: [4]}}\ntraining: {codebook_freeze: 1.5}",
            "training.codebook_freeze",
        ),
        ("params: {bits: {choices: [4]}}\ntraining: {batch_size: 0}", "training.batch_size"),
        ("params: {}", "params"),
        ("oops: 1", "oops"),
    ],
)
def test_malformed_space_names_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SearchSpaceError) as info:
        load_search_space(path)
    message = str(info.value)
    assert str(path) in message and f"key {key}" in message
    assert "\n" not in message


def test_codebook_freeze_is_a_fraction_that_may_be_zero(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("params: {bits: {choices: [4]}}\ntraining: {codebook_freeze: 0}\n")
    assert load_search_space(path).training["codebook_freeze"] == 0


def test_bad_yaml_and_unknown_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("params: [unclosed")
    with pytest.raises(SearchSpaceError, match="syntax error at line 1"):
        load_search_space(path)
    with pytest.raises(UnknownNameError, match="conv, dvs, mlp"):
        load_search_space("transformer")


def test_zero_fraction_is_searched_only_where_zero_weights_are_free(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("params:\n  bits: {choices: [4]}\n  zero_fraction: {choices: [0.0, 0.5]}\n")
    space = load_search_space(path)
    loihi = space.narrow(load_profile("loihi"))
    assert loihi.params["zero_fraction"].choices == (0.0, 0.5)
    trial = optuna.trial.FixedTrial({"bits": 4, "zero_fraction": 0.5})
    cand = loihi.sample(trial, input_shape=(1, 8, 8), n_classes=10)
    assert cand.zero_fraction == 0.5
    settings = TrialSettings(
        space=loihi, profile=load_profile("loihi"), data=load_dataset("digits"), budget=1, seed=0
    )
    assert pipeline_config(cand, settings, seed=0).zero_fraction == 0.5
    speck = space.narrow(load_profile("speck"))
    assert "zero_fraction" not in speck.params
    assert any("zero_fraction not searched" in note for note in speck.notes)
    plain = speck.sample(optuna.trial.FixedTrial({"bits": 4}), input_shape=(1, 8, 8), n_classes=10)
    assert plain.zero_fraction == 0.0


@pytest.mark.parametrize("spec", ["{low: 0.0, high: 1.0}", "{choices: [-0.1, 0.5]}"])
def test_zero_fraction_outside_zero_to_one_is_refused(tmp_path: Path, spec: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"params:\n  zero_fraction: {spec}\n")
    with pytest.raises(SearchSpaceError, match=r"params.zero_fraction.*within \[0, 1\)"):
        load_search_space(path)
