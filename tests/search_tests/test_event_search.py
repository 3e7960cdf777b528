"""End to end on event data: an N-MNIST-format folder on Speck with the event-camera conv space,
and an SHD-format file on Xylo Audio 2 with the input reduction its 16 input channels demand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from event_files import cochlea_samples, make_nmnist, write_shd

from spikefit_search.search import SearchOptions, run_search


def test_nmnist_folder_on_speck_with_the_dvs_space(tmp_path: Path) -> None:
    root = make_nmnist(tmp_path / "NMNIST", n_train=10, n_test=2, classes=4)
    result = run_search(
        SearchOptions(
            device="speck",
            budget=2,
            dataset=str(root),
            space="dvs",
            epochs=3,
            timesteps=3,
            out=str(tmp_path / "runs"),
            accelerator="cpu",
            seed=1,  # its first draws include candidates past Speck's memories (about half are)
        )
    )
    assert result.study_name == "speck-dvs-NMNIST"
    assert result.counts["trained"] + result.counts["stopped"] == 2
    assert result.counts["rejected"] >= 1
    assert any("timesteps fixed to 3" in n for n in result.notes)
    trials = pd.read_csv(result.run_dir / "trials.csv")
    rejected = trials[trials["stage"] == "rejected"]
    assert len(rejected) == result.counts["rejected"]
    assert rejected["rejected_reason"].str.contains("memory").all()
    assert (result.run_dir / "pareto.csv").is_file()
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["space"]["network"]["encoder"] == "events"


def test_shd_file_on_xylo_audio2_searches_input_grouping(tmp_path: Path) -> None:
    samples, labels = cochlea_samples(48, 4)
    write_shd(tmp_path / "shd_train.h5", samples, labels)
    result = run_search(
        SearchOptions(
            device="xylo-audio2",
            budget=2,
            dataset=str(tmp_path / "shd_train.h5"),
            epochs=3,
            timesteps=4,
            out=str(tmp_path / "runs"),
            accelerator="cpu",
            seed=0,
        )
    )
    assert any("input_group searched over {44, 88, 176}" in n for n in result.notes)
    trials = pd.read_csv(result.run_dir / "trials.csv")
    done = trials[trials["stage"].isin(["trained", "stopped"])]
    assert len(done) == 2
    assert done["param_input_group"].isin([44, 88, 176]).all()
    assert (done["constraint_inputs"] <= 0).all()
    pareto = pd.read_csv(result.run_dir / "pareto.csv")
    assert len(pareto) >= 1 and pareto["feasible"].all()
