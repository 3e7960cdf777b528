"""The search: an Optuna multi-objective study (accuracy up, energy down) under chip constraints.

The driver and its parts (torch, multiprocessing) are imported on first use of one of their
names, so readers of a run (``report``, ``export``) import the stages, the run folder and the
tables without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna

from spikefit_search._lazy import lazy_attributes
from spikefit_search.search.consistency import TRIAL_SETTINGS, TrialSetting, check_same_settings
from spikefit_search.search.dashboard import named_constraints
from spikefit_search.search.records import is_feasible, pareto_frame, pareto_trials, trials_frame
from spikefit_search.search.samplers import SAMPLERS, make_sampler
from spikefit_search.search.space import (
    Candidate,
    Param,
    SearchSpace,
    list_search_spaces,
    load_search_space,
)
from spikefit_search.search.stages import Stage, count_trials
from spikefit_search.search.trial import TrialSettings, pipeline_config, run_trial

optuna.logging.set_verbosity(optuna.logging.ERROR)  # the search and its readers print their own

if TYPE_CHECKING:
    from spikefit_search.search._optimize import worker_loop
    from spikefit_search.search.driver import SearchResult, open_run, run_search
    from spikefit_search.search.options import SearchOptions, check_seed
    from spikefit_search.search.preparation import PreparedRun, prepare

_LAZY = {
    "SearchOptions": "options",
    "check_seed": "options",
    "PreparedRun": "preparation",
    "prepare": "preparation",
    "worker_loop": "_optimize",
    "SearchResult": "driver",
    "open_run": "driver",
    "run_search": "driver",
}
"""Names re-exported from modules that import torch, each imported on first use."""

__getattr__ = lazy_attributes(__name__, _LAZY, globals())


__all__ = [
    "SAMPLERS",
    "TRIAL_SETTINGS",
    "Candidate",
    "Param",
    "PreparedRun",
    "SearchOptions",
    "SearchResult",
    "SearchSpace",
    "Stage",
    "TrialSetting",
    "TrialSettings",
    "check_same_settings",
    "check_seed",
    "count_trials",
    "is_feasible",
    "list_search_spaces",
    "load_search_space",
    "make_sampler",
    "named_constraints",
    "open_run",
    "pareto_frame",
    "pareto_trials",
    "pipeline_config",
    "prepare",
    "run_search",
    "run_trial",
    "trials_frame",
    "worker_loop",
]
