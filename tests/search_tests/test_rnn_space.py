"""The shipped `rnn` space and the sequential digits: narrowed by the device like the others,
fed by the sequential digits and by SHD-format files unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import torch
from event_files import cochlea_samples, write_shd

from spikefit_search.data import load_dataset
from spikefit_search.data.binning import Binning
from spikefit_search.exceptions import SearchSpaceError
from spikefit_search.hardware import load_profile
from spikefit_search.search import SearchOptions, load_search_space, run_search
from spikefit_search.search.inputs import fit_to_data


def test_sequential_digits_are_the_digits_row_by_row() -> None:
    from sklearn.datasets import load_digits

    data = load_dataset("sequential-digits")
    assert data.x_train.shape[1:] == (8, 8, 1, 1) and data.timesteps == 8
    assert data.x_train.dtype == torch.uint8 and data.n_classes == 10
    # every sample's frames, row after row, are one of the digits' images
    images = {tuple(x.astype(int).ravel()) for x in load_digits().data}
    some = data.x_test[:20, :, :, 0, 0].numpy().astype(int)
    assert all(tuple(s.ravel()) in images for s in some)
    two = load_dataset("sequential-digits", binning=Binning(timesteps=16))
    assert two.timesteps == 16
    assert torch.equal(two.x_test[:, 0::2].long() + two.x_test[:, 1::2].long(), data.x_test.long())


def test_rnn_space_narrows_by_device() -> None:
    space = load_search_space("rnn")
    assert space.params["recurrent"].choices == (True, False)
    speck = space.narrow(load_profile("speck"))
    assert speck.params["recurrent"].choices == (False,)
    assert any("feed-forward layers only" in n for n in speck.notes)
    xylo = space.narrow(load_profile("xylo-audio2"))
    assert xylo.params["recurrent"].choices == (True, False)
    assert xylo.network["chip"]["family"] == "xylo"
    data = load_dataset("sequential-digits")
    fitted = fit_to_data(xylo, load_profile("xylo-audio2"), data)
    assert fitted.network["encoder"] == "events" and fitted.network["timesteps"] == 8
    assert "timesteps" not in fitted.params and "input_group" not in fitted.params
    trial = optuna.trial.FixedTrial(
        {
            "recurrent": True,
            "n_values": 8,
            "bits": 8,
            "rho": 0.0,
            "zero_fraction": 0.0,
            "hidden_layers": 1,
            "width_0": 32,
        }
    )
    cand = fitted.sample(trial, input_shape=data.input_shape, n_classes=data.n_classes)
    assert cand.network.recurrent and cand.network.input_shape == (8, 1, 1)
    trial = optuna.trial.FixedTrial(
        {
            "recurrent": False,
            "n_values": 8,
            "bits": 8,
            "rho": 0.0,
            "zero_fraction": 0.0,
            "hidden_layers": 1,
            "width_0": 32,
        }
    )
    ff = fitted.sample(trial, input_shape=data.input_shape, n_classes=data.n_classes)
    assert not ff.network.recurrent and "recurrent" not in ff.network.to_dict()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("params:\n  recurrent: {choices: [1]}\n", "true or false"),
        ("params:\n  recurrent: {low: 0, high: 1}\n", "must give choices"),
        (
            "network: {kind: conv, channels: [4]}\nparams:\n  recurrent: {choices: [true]}\n",
            "kind mlp only",
        ),
    ],
)
def test_malformed_recurrent_param(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SearchSpaceError, match=message):
        load_search_space(path)


def test_rnn_search_on_an_shd_file_on_xylo(tmp_path: Path) -> None:
    samples, labels = cochlea_samples(40, 4)
    write_shd(tmp_path / "shd_train.h5", samples, labels)
    result = run_search(
        SearchOptions(
            device="xylo-audio2",
            budget=2,
            dataset=str(tmp_path / "shd_train.h5"),
            space="rnn",
            epochs=2,
            timesteps=4,
            out=str(tmp_path / "runs"),
            accelerator="cpu",
            seed=0,
        )
    )
    trials = pd.read_csv(result.run_dir / "trials.csv")
    done = trials[trials["stage"].isin(["trained", "stopped"])]
    assert len(done) == 2
    assert set(np.unique(done["param_recurrent"])) <= {True, False}
