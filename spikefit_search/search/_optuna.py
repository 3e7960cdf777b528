"""Every private Optuna name the package uses, in one place.

Optuna has no public way to do a few things the search needs: write an attribute or a state to a
trial that another process started, show a sampler other trials than the study holds, and read
the constraint values Optuna stores. Each function below says which private name it relies on;
``pyproject.toml`` bounds Optuna to the minor releases these were read in, and
``tests/search_tests/test_optuna_adapter.py`` fails when one of them goes missing or the
installed Optuna lies outside that bound.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

import optuna
from optuna.samplers import BaseSampler
from optuna.storages import BaseStorage
from optuna.study._constrained_optimization import _CONSTRAINTS_KEY
from optuna.trial import FrozenTrial, TrialState

CONSTRAINTS_KEY: str = _CONSTRAINTS_KEY
"""Prefix of the trial system attributes that hold constraint values (``"constraints"``; one
``"constraints:<name>"`` each in Optuna 5). Relies on
``optuna.study._constrained_optimization._CONSTRAINTS_KEY``."""

GP_CONSTRAINT_CACHE = "_constraints_gprs_cache_list"
"""GPSampler's cache of constraint models, one per constraint, reused at its next proposal."""


def study_storage(study: optuna.Study) -> BaseStorage:
    """The storage a study reads and writes. Relies on ``Study._storage``."""
    return study._storage


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's id of a trial (not its number). Relies on ``Trial._trial_id`` and
    ``FrozenTrial._trial_id``."""
    return trial._trial_id


def stored_trial(study: optuna.Study, trial: optuna.Trial | FrozenTrial) -> FrozenTrial:
    """The trial as the storage holds it now (attributes other processes wrote included).
    Relies on ``Study._storage`` and ``_trial_id``."""
    return study_storage(study).get_trial(trial_id(trial))


def set_user_attr(
    study: optuna.Study, trial: optuna.Trial | FrozenTrial, key: str, value: Any
) -> None:
    """Write a user attribute to any trial of the study, a frozen one too (Optuna's public
    ``Trial.set_user_attr`` needs the live trial). Relies on ``Study._storage`` and
    ``_trial_id``."""
    study_storage(study).set_trial_user_attr(trial_id(trial), key, value)


def set_system_attr(
    study: optuna.Study, trial: optuna.Trial | FrozenTrial, key: str, value: Any
) -> None:
    """Write a system attribute to a trial (no public way since Optuna 3 deprecated
    ``Trial.set_system_attr``). Relies on ``Study._storage`` and ``_trial_id``."""
    study_storage(study).set_trial_system_attr(trial_id(trial), key, value)


def set_state(study: optuna.Study, trial: FrozenTrial, state: TrialState) -> None:
    """Set a trial's state without its values and without calling the sampler (as
    ``Study.tell`` would): for a trial whose process died. Relies on ``Study._storage`` and
    ``_trial_id``."""
    study_storage(study).set_trial_state_values(trial_id(trial), state)


def study_trials(
    study: optuna.Study,
    *,
    states: Container[TrialState] | None = None,
    use_cache: bool = False,
) -> list[FrozenTrial]:
    """The study's trials, not copied; ``use_cache`` reuses the list read at the sampler's last
    call within this trial. Relies on ``Study._get_trials(deepcopy, states, use_cache)``."""
    return study._get_trials(deepcopy=False, states=states, use_cache=use_cache)


class StudyView:
    """A study whose trials, as every Optuna sampler reads them, are :meth:`view_trials`'s;
    everything else is the study's.

    Optuna's samplers read a study's trials through the private
    ``Study._get_trials(deepcopy, states, use_cache)`` (TPE, GP, NSGA-II, CMA-ES, QMC), besides
    the public ``get_trials`` and ``trials``; the view answers all three. The trials it returns
    are never copied, whatever ``deepcopy`` asks: a sampler must not change them.
    """

    def __init__(self, study: optuna.Study) -> None:
        self._study = study

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def view_trials(self, trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
        """The trials the sampler is shown, given the study's (any state, by number)."""
        raise NotImplementedError

    def _get_trials(
        self,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
        use_cache: bool = False,
    ) -> list[FrozenTrial]:
        view = self.view_trials(study_trials(self._study, use_cache=use_cache))
        return [t for t in view if states is None or t.state in states]

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        return self._get_trials(deepcopy=deepcopy, states=states)

    @property
    def trials(self) -> list[FrozenTrial]:
        return self._get_trials()


def forget_constraint_models(sampler: BaseSampler) -> None:
    """Make GPSampler fit its constraint models afresh at its next proposal (no other sampler
    caches them; for those this does nothing). Relies on GPSampler's
    ``_constraints_gprs_cache_list``, which it warm-starts constraint model ``i`` from and
    indexes past when there are more constraints than at its last proposal (Optuna 5.1)."""
    if hasattr(sampler, GP_CONSTRAINT_CACHE):
        setattr(sampler, GP_CONSTRAINT_CACHE, None)
