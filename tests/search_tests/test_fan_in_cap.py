"""On chips with a fan-in limit, wide candidates are capped by Fisher synapse pruning, not
rejected."""

from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd
from optuna.trial import TrialState
from search_options import options

from spikefit_search.hardware import fan_in_cap, load_profile, static_check
from spikefit_search.search import run_search
from spikefit_search.search.storage import open_storage
from spikefit_search.snn import NetworkConfig


def test_fan_in_cap_only_where_the_chip_needs_it() -> None:
    wide = NetworkConfig(input_shape=(1, 8, 8), hidden=(100, 80), beta=1.0)
    assert fan_in_cap("dynap-se2", wide) == 64
    assert fan_in_cap("truenorth", wide) is None  # 100 <= 256
    assert fan_in_cap("loihi", wide) is None  # Loihi limits axons per core, not fan-in
    narrow = NetworkConfig(input_shape=(1, 8, 8), hidden=(40,), beta=1.0)
    assert fan_in_cap("dynap-se2", narrow) is None
    dynap = load_profile("dynap-se2")
    uncapped = static_check(dynap, wide, n_values=4, bits=4)
    assert {u.name for u in uncapped.violations} == {"fan_in"}
    capped = static_check(dynap, wide, n_values=4, bits=4, fan_in_cap=64)
    assert capped.fits, capped.messages()
    assert capped.worst("fan_in").usage == 64  # type: ignore[union-attr]
    assert capped.worst("synapses").usage == 64 * (100 + 80) + 64 * 10  # type: ignore[union-attr]


def test_dynap_se2_search_caps_wide_candidates(tmp_path: Path) -> None:
    space = tmp_path / "wide.yaml"
    space.write_text(
        "network: {kind: mlp, timesteps: 2}\n"
        "params:\n  n_values: {choices: [4]}\n  bits: {choices: [4]}\n"
        "  rho: {choices: [0.0]}\n  hidden_layers: {choices: [2]}\n"
        "  width: {choices: [96, 128]}\n"
        "training: {warmup_epochs: 1, finetune_epochs: 1}\n"
    )
    result = run_search(options(tmp_path, space, device="dynap-se2", budget=2, seed=3))
    study = optuna.load_study(
        study_name=result.study_name, storage=open_storage(result.run_dir, None)
    )
    trained = [t for t in study.trials if t.user_attrs.get("stage") in ("trained", "stopped")]
    assert len(trained) == 2
    assert not [t for t in study.trials if t.user_attrs.get("stage") == "rejected"]
    for t in trained:
        assert t.user_attrs["fan_in_cap"] == 64
        assert t.user_attrs["pipeline"]["fan_in_cap"] == 64
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        assert t.constraints["fan_in"] <= 0  # measured on the pruned weights
    frame = pd.read_csv(result.run_dir / "trials.csv")
    assert (frame["fan_in_cap"] == 64).all()
