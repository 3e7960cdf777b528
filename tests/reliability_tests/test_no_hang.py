"""No input makes the search loop without training: a failed trial holds no budget slot, and a
run of surplus trials stops with a reason instead of going on forever."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import search_options
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from spikefit_search.search import SearchOptions, count_trials, run_search
from spikefit_search.search import trial as trial_module
from spikefit_search.search._optimize import OVER_BUDGET_CAP
from spikefit_search.search.preparation import prepare, run_manifest
from spikefit_search.search.storage import open_storage


def options(tmp_path: Path, space: Path, budget: int) -> SearchOptions:
    return search_options.options(tmp_path, space, budget=budget, seed=2)


def test_failed_trial_that_claimed_a_slot_does_not_block_the_budget(
    tmp_path: Path, tiny_space: Path
) -> None:
    """A trial that trained and then failed (NaN energy, a crash while it was told) keeps the
    attributes of a trained one; it once held a budget slot forever and every later trial was
    written as surplus, without end."""
    opts = options(tmp_path, tiny_space, budget=1)
    prep = prepare(opts)
    prep.run_dir.mkdir(parents=True)
    study = optuna.create_study(
        study_name=prep.study_name,
        storage=open_storage(prep.run_dir, None),
        directions=["maximize", "minimize"],
    )
    study.add_trial(
        create_trial(
            state=TrialState.FAIL,
            params={"bits": 4},
            distributions={"bits": CategoricalDistribution([4, 8])},
            user_attrs={"stage": "trained", "reserved": True, "fail_reason": "nan energy"},
        )
    )
    manifest = run_manifest(prep)  # the manifest the search would have written
    (prep.run_dir / "manifest.json").write_text(json.dumps(manifest))
    result = run_search(opts)
    assert result.stop_reason == "budget"
    c = count_trials(study.get_trials())
    assert c["budget_used"] == 1 and c["surplus"] == 0


def test_a_run_of_surplus_trials_stops_with_a_reason(
    tmp_path: Path, tiny_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the budget count ever disagree again, the search stops instead of hanging."""
    monkeypatch.setattr(trial_module, "_over_budget", lambda *_: True)

    def never(*_: object, **__: object) -> None:
        raise AssertionError("a surplus trial must not train")

    result = run_search(options(tmp_path, tiny_space, budget=2), pipeline=never)
    assert result.stop_reason == "stalled"
    assert result.counts["surplus"] == OVER_BUDGET_CAP + 2
    assert "stopped:" in result.notes[-1] and "bug" in result.notes[-1]
