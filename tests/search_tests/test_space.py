from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from spikefit_search.exceptions import SearchSpaceError, UnknownNameError
from spikefit_search.hardware import load_profile
from spikefit_search.search import list_search_spaces, load_search_space


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
