"""The search: an Optuna multi-objective study (accuracy up, energy down) under chip constraints."""

from __future__ import annotations

from spikefit_search.search.consistency import TRIAL_SETTINGS, TrialSetting, check_same_settings
from spikefit_search.search.dashboard import named_constraints
from spikefit_search.search.driver import (
    SearchOptions,
    SearchResult,
    count_trials,
    run_search,
    worker_loop,
)
from spikefit_search.search.objective import TrialSettings, pipeline_config, run_trial
from spikefit_search.search.records import is_feasible, pareto_frame, pareto_trials, trials_frame
from spikefit_search.search.samplers import SAMPLERS, make_sampler
from spikefit_search.search.space import (
    Candidate,
    Param,
    SearchSpace,
    list_search_spaces,
    load_search_space,
)

__all__ = [
    "SAMPLERS",
    "TRIAL_SETTINGS",
    "Candidate",
    "Param",
    "SearchOptions",
    "SearchResult",
    "SearchSpace",
    "TrialSetting",
    "TrialSettings",
    "check_same_settings",
    "count_trials",
    "is_feasible",
    "list_search_spaces",
    "load_search_space",
    "make_sampler",
    "named_constraints",
    "pareto_frame",
    "pareto_trials",
    "pipeline_config",
    "run_search",
    "run_trial",
    "trials_frame",
    "worker_loop",
]
