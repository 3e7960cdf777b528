from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest
import yaml
from reporting_helpers import MakeRun, trial

from spikefit_search._tables import render_text
from spikefit_search.compression import load_checkpoint
from spikefit_search.exceptions import ConfigError, RunError
from spikefit_search.hardware.target import load_target
from spikefit_search.reporting.confirm import confirm_front, confirmed_table
from spikefit_search.reporting.export import export_trial, pick_point
from spikefit_search.reporting.retrain import retrain, weights_description
from spikefit_search.reporting.run import load_run
from spikefit_search.schema import load_config


@pytest.fixture(scope="module")
def exported(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "knee.yaml"
    export_trial(tiny_run, out=out)
    return out


def test_export_writes_a_config_retrain_takes(tiny_run: Path, exported: Path) -> None:
    front = load_run(tiny_run).pareto()
    data = yaml.safe_load(exported.read_text())
    assert set(data) >= {"spikefit_version", "pipeline", "dataset", "device", "seed", "source"}
    assert data["source"]["trial"] == front.knee.number  # type: ignore[union-attr]
    source = data["source"]
    assert 1 <= source["effective_values_min"] <= source["effective_values"] <= source["n_values"]
    assert source["codebook_drift"] >= 0
    assert data["device"] == "loihi" and data["dataset"]["name"] == "digits"
    assert data["checkpoint"] == "knee.pt" and (exported.parent / "knee.pt").is_file()
    cfg = load_config(exported)
    trial_attrs = load_run(tiny_run).trial(data["source"]["trial"]).user_attrs
    assert cfg.pipeline.to_dict() == trial_attrs["pipeline"]
    assert cfg.seed == trial_attrs["seed"]


def test_retrain_gives_the_same_network_and_accuracy_on_cpu(
    tiny_run: Path, exported: Path, tmp_path: Path
) -> None:
    cfg = load_config(exported)
    knee = load_run(tiny_run).pareto().knee
    assert knee is not None
    first = retrain(exported, out=tmp_path / "a", accelerator="cpu")
    second = retrain(exported, out=tmp_path / "b", accelerator="cpu")
    # same architecture and compression as the exported trial
    model, saved = load_checkpoint(first.checkpoint)
    assert tuple(model.config.hidden_sizes) == knee.widths == cfg.pruned_network().hidden_sizes
    assert (saved.n_values, saved.bits, saved.rho, saved.scope) == (
        knee.n_values,
        knee.bits,
        knee.rho,
        cfg.pipeline.scope,
    )
    # same config and seed on CPU: the same accuracy, run to run and as the search found it
    assert first.result.val_accuracy == second.result.val_accuracy
    assert first.result.test_accuracy == second.result.test_accuracy
    assert first.result.val_accuracy == pytest.approx(knee.accuracy, abs=1e-12)
    assert first.energy.total_uj == pytest.approx(knee.energy_uj, rel=1e-9)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    check = json.loads((tmp_path / "a" / "check.json").read_text())
    assert metrics["val_accuracy"] == first.result.val_accuracy
    # NeuroBench's metrics of the retrained network: the search's figures for its knee
    assert metrics["neurobench"] == pytest.approx(knee.neurobench, rel=1e-9)
    assert metrics["neurobench"]["nb_effective_acs"] > 0
    assert check["fits"] is True and check["profile"] == "loihi" and check["kind"] == "measured"
    assert load_config(tmp_path / "a" / "config.yaml").pipeline == cfg.pipeline
    # the folder is the deployable artifact: the NIR and the energy of these weights
    energy = json.loads((tmp_path / "a" / "energy.json").read_text())
    assert energy == json.loads(json.dumps(first.energy.to_dict()))
    assert first.nir_path == tmp_path / "a" / "model.nir"
    graph = nir.read(first.nir_path)
    fc = graph.nodes["l01b_fc"]
    np.testing.assert_array_equal(
        fc.weight, model.synaptic_layers[0].effective_weight().detach().numpy()
    )
    assert graph.metadata["weights"] == "retrained model"
    assert "retrained model" in weights_description(first.checkpoint)
    assert "retrained model" in weights_description(tmp_path / "a" / "config.yaml")
    assert "search checkpoint" in weights_description(exported)


def test_epochs_override_splits_two_thirds_one_third(exported: Path) -> None:
    cfg = load_config(exported).with_epochs(6)
    assert (cfg.pipeline.warmup_epochs, cfg.pipeline.finetune_epochs) == (4, 2)
    with pytest.raises(ConfigError, match="--epochs"):
        load_config(exported).with_epochs(1)


def test_check_accepts_the_exported_yaml_and_the_checkpoint(exported: Path) -> None:
    measured = load_target(exported)  # checkpoint beside it -> measured
    assert measured.model is not None
    assert measured.check("loihi").fits
    ckpt = load_target(exported.with_suffix(".pt"))
    assert ckpt.model is not None and ckpt.n_values == load_config(exported).pipeline.n_values
    data = yaml.safe_load(exported.read_text())
    del data["checkpoint"]
    static_path = exported.with_name("static.yaml")
    static_path.write_text(yaml.safe_dump(data))
    static = load_target(static_path)
    assert static.model is None
    assert static.network.hidden_sizes == ckpt.network.hidden_sizes


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("dataset"), "'dataset'"),
        (lambda d: d.update(seed="seven"), "'seed' must be int"),
        (lambda d: d["pipeline"].update(bits="4"), "pipeline"),
        (lambda d: d["pipeline"].pop("network"), "'network'"),
        (lambda d: d["dataset"].update(name=3), "'name' must be str"),
        (lambda d: d.update(seed=d["seed"] + 1), "pipeline.seed"),
    ],
)
def test_config_validation_names_the_key(
    exported: Path, tmp_path: Path, edit: object, message: str
) -> None:
    data = yaml.safe_load(exported.read_text())
    edit(data)  # type: ignore[operator]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=message) as info:
        load_config(bad)
    assert "\n" not in str(info.value)


def test_picks_and_what_the_front_offers(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run("picks", [trial(0.6, 1.0), trial(0.8, 2.0), trial(0.9, 5.0)])
    front = load_run(run).pareto()
    assert pick_point(front, max_energy=2.5).number == 1
    assert pick_point(front, min_accuracy=0.7).number == 1
    assert pick_point(front, min_accuracy=0.5, max_energy=10).number == 0
    with pytest.raises(RunError, match=r"lowest energy available is 1 µJ \(trial 0\)"):
        pick_point(front, max_energy=0.5)
    with pytest.raises(RunError, match=r"highest accuracy available is 90.00%"):
        pick_point(front, min_accuracy=0.95)
    with pytest.raises(ConfigError, match="--min-accuracy"):
        pick_point(front, min_accuracy=90)
    with pytest.raises(ConfigError, match="--pick"):
        pick_point(front, pick="best")
    # trials without a recorded pipeline (hand-made) cannot be exported
    with pytest.raises(RunError, match="trained trial"):
        export_trial(run, trial=0, out=tmp_path / "x.yaml")


def test_export_of_a_run_without_feasible_point_explains(make_run: MakeRun) -> None:
    run = make_run("nofit", [trial(0.9, 1.0, constraints={"cores": 1.0})])
    with pytest.raises(RunError, match=r"none yet"):
        export_trial(run)


def test_confirm_retrains_the_knee_and_writes_confirmed_csv(run_copy: Path) -> None:
    done = confirm_front(run_copy, 1, epochs=2, accelerator="cpu")
    knee = load_run(run_copy).pareto().knee
    assert knee is not None
    assert done.path == run_copy / "confirmed.csv" and done.path.is_file()
    row = done.frame.iloc[0]
    assert len(done.frame) == 1 and row["number"] == knee.number and bool(row["knee"])
    assert row["search_accuracy"] == knee.accuracy and row["epochs"] == 2
    assert 0.0 <= row["confirmed_accuracy"] <= 1.0 and row["confirmed_energy_uj"] > 0
    assert (run_copy / row["folder"] / "metrics.json").is_file()
    shown = render_text(confirmed_table(done), 80)
    assert max(len(line.rstrip()) for line in shown.splitlines()) <= 80
    assert f"{row['search_accuracy']:.2%}" in shown.split()  # whole at 80 columns
    assert f"{row['confirmed_energy_uj']:.4g}" in shown.split()
