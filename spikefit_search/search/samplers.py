"""Samplers by name, chosen for small budgets, and what every one of them is shown.

The storage keeps a rejected candidate (it breaks the chip, never trained) and a stopped one
(its accuracy stayed near chance) as PRUNED, with their constraint margins, so that budgets,
tables and dashboards tell them apart from trained candidates. Optuna's GP and NSGA-II samplers
read only COMPLETE trials, and TPE ranks a PRUNED trial without infeasible margins among the
good ones. :class:`ConstraintAwareSampler` therefore shows the sampler it wraps a view of the
study in which

* a rejected trial is COMPLETE and infeasible (its limit margins, some > 0);
* a stopped trial is COMPLETE and infeasible through one more constraint, ``accuracy``:
  ``(threshold - accuracy) / threshold`` with ``threshold`` the stop level (chance plus half);
  a trained trial carries the same constraint, <= 0;
* the objective values of a trial that has none (rejected, or stopped: no energy measured) are
  the mean of the trained trials' values, the prior mean of a standardised GP, so the
  objective models learn nothing false from them; a stopped trial's accuracy is the one it
  reached.

A limit that some candidate of the study has broken reaches the sampler as its own constraint;
the limits no candidate has broken reach it as one, ``chip``, their largest margin. Feasibility
in the view is unchanged (a candidate is feasible exactly when it is on the chip), and the
sampler still models each limit that matters separately. GP fits one model per constraint and
evaluates every one of them at each point of its acquisition search: with the twenty-odd limits
of a Speck profile each GP proposal cost about 5 s on two CPU cores (``docs/decisions.md``).

Every COMPLETE trial of the view carries the same constraint names (GP requires it); a margin a
trial lacks is the mean of that margin over the trials that have it, and +1 (violated) for a
rejected trial that has no limit margins at all (a configuration the method cannot build).
Surplus trials (never evaluated) are left out, and so are the promotions of successive halving
(rungs above 0: candidates the sampler has already seen, retrained longer). Nothing is written to
the storage by the view.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from spikefit_search._registry import Registry
from spikefit_search.search._optuna import (
    CONSTRAINTS_KEY,
    StudyView,
    forget_constraint_models,
    study_trials,
)
from spikefit_search.search.dashboard import named_constraints
from spikefit_search.search.halving import rung_of
from spikefit_search.search.stages import ACCURACY_REACHED, STAGE, Stage

SamplerFactory = Callable[[int, int], optuna.samplers.BaseSampler]
SAMPLERS: Registry[SamplerFactory] = Registry("sampler")

ACCURACY_CONSTRAINT = "accuracy"
"""Name of the view-only constraint that marks stopped (near-chance) candidates infeasible."""

CHIP_CONSTRAINT = "chip"
"""Name of the view-only constraint that stands for the limits no candidate has broken yet:
their largest margin."""


def _startup(budget: int) -> int:
    return max(4, min(10, budget // 4))


@SAMPLERS.register("tpe")
def _tpe(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    """Multi-objective TPE over the joint distribution of the parameters (``multivariate``,
    ``group`` for the per-layer widths that exist only for deeper networks); ``constant_liar``
    keeps parallel workers from proposing the same candidate."""
    with warnings.catch_warnings():  # multivariate and group are "experimental" since 2.2
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=_startup(budget),
            multivariate=True,
            group=True,
            constant_liar=True,
        )


@SAMPLERS.register("gp")
def _gp(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.GPSampler(seed=seed, n_startup_trials=_startup(budget))


@SAMPLERS.register("nsga2")
def _nsga2(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, min(16, budget // 3)))


@SAMPLERS.register("random")
def _random(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _mean(values: Sequence[float], default: float) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else default


def _is_constraint_key(key: str) -> bool:
    return key == CONSTRAINTS_KEY or key.startswith(CONSTRAINTS_KEY + ":")


def sampler_view(trials: Sequence[FrozenTrial], threshold: float) -> list[FrozenTrial]:
    """The trials as the wrapped sampler sees them (see the module docstring).

    Args:
        trials: the study's trials, any state.
        threshold: the stop level of validation accuracy (chance plus half).
    """
    # successive halving: the sampler learns from rung 0, where every candidate is scored alike;
    # a promotion retrains a candidate it has already seen, at a fidelity the others lack
    trials = [t for t in trials if rung_of(t) == 0]
    trained = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE and t.values is not None and len(t.values) == 2
    ]
    mean_acc = _mean([t.values[0] for t in trained], threshold)
    mean_energy = _mean([t.values[1] for t in trained], 1.0)
    named = {t.number: named_constraints(t) for t in trials}  # not the dashboard's copies
    limit_names: set[str] = set()
    for t in trials:
        limit_names.update(named[t.number])
    limit_names.discard(ACCURACY_CONSTRAINT)
    margin_sum: dict[str, list[float]] = {n: [] for n in limit_names}
    for t in trials:
        for name, value in named[t.number].items():
            if name in margin_sum:
                margin_sum[name].append(value)
    mean_margin = {n: _mean(v, 0.0) for n, v in margin_sum.items()}
    broken = {n for n, v in margin_sum.items() if any(m > 0 for m in v)}
    unbroken = limit_names - broken

    def acc_margin(acc: float) -> float:
        return (threshold - acc) / threshold

    out: list[FrozenTrial] = []
    for t in trials:
        stage = t.user_attrs.get(STAGE)
        if t.state in (TrialState.RUNNING, TrialState.WAITING, TrialState.FAIL):
            out.append(t)
            continue
        if t.state == TrialState.COMPLETE and t.values is not None:
            values = list(t.values)
            constraints = dict(named[t.number])
            constraints[ACCURACY_CONSTRAINT] = acc_margin(values[0])
        elif stage == Stage.REJECTED:
            constraints = dict(named[t.number])
            unbuildable = not any(n in constraints for n in limit_names)
            values = [mean_acc, mean_energy]
            constraints[ACCURACY_CONSTRAINT] = acc_margin(mean_acc)
            for name in limit_names:
                constraints.setdefault(name, 1.0 if unbuildable else mean_margin[name])
            if unbuildable and not limit_names:
                constraints[ACCURACY_CONSTRAINT] = 1.0
        elif stage == Stage.STOPPED:
            # runs from before this attribute: the chance level (threshold is chance * 1.5)
            reached = float(t.user_attrs.get(ACCURACY_REACHED, threshold / 1.5))
            values = [reached, mean_energy]
            constraints = dict(named[t.number])
            constraints[ACCURACY_CONSTRAINT] = max(acc_margin(reached), 1e-6)
        else:  # surplus (never evaluated) or a PRUNED trial of unknown origin
            continue
        for name in limit_names:
            constraints.setdefault(name, mean_margin[name])
        shown = {n: constraints[n] for n in sorted(broken)}  # one order, whatever is added
        shown[ACCURACY_CONSTRAINT] = constraints[ACCURACY_CONSTRAINT]
        if unbroken:
            shown[CHIP_CONSTRAINT] = max(constraints[n] for n in unbroken)
        view = copy.copy(t)  # shallow: params, distributions, user attributes are shared
        view.state = TrialState.COMPLETE
        view.values = values
        attrs = {k: v for k, v in t.system_attrs.items() if not _is_constraint_key(k)}
        attrs.update({f"{CONSTRAINTS_KEY}:{k}": float(v) for k, v in shown.items()})
        view.system_attrs = attrs
        out.append(view)
    return out


class _SamplerView(StudyView):
    """A study whose trials are :func:`sampler_view`'s; everything else is the study's."""

    def __init__(self, study: Study, threshold: float, cache: dict[str, Any]) -> None:
        super().__init__(study)
        self._threshold = threshold
        self._cache = cache

    def view_trials(self, trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
        # the view of a finished trial never changes: rebuild only when one more has finished
        key = tuple((t.number, t.state) for t in trials if t.state.is_finished())
        if self._cache.get("key") != key:
            self._cache["key"] = key
            self._cache["view"] = sampler_view(trials, self._threshold)
        view = [t for t in self._cache["view"] if t.state.is_finished()]
        view += [t for t in trials if not t.state.is_finished()]
        view.sort(key=lambda t: t.number)
        return view


class ConstraintAwareSampler(BaseSampler):
    """Wraps a sampler so that rejected and stopped candidates inform it (module docstring).

    Args:
        inner: the sampler that proposes candidates.
        threshold: validation accuracy below which a candidate is stopped (chance plus half).
    """

    def __init__(self, inner: BaseSampler, threshold: float) -> None:
        self.inner = inner
        self.threshold = threshold
        self._cache: dict[str, Any] = {}

    def _view(self, study: Study) -> Study:
        return _SamplerView(study, self.threshold, self._cache)  # type: ignore[return-value]

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self.inner.infer_relative_search_space(self._view(study), trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        view = self._view(study)
        self._forget_stale_constraint_models(view)
        return self.inner.sample_relative(view, trial, search_space)

    def _forget_stale_constraint_models(self, view: Study) -> None:
        """Drop GPSampler's cached constraint models when the view's constraints change.

        A limit first broken mid-search adds a constraint to the view; Optuna's GPSampler
        (5.1) warm-starts constraint model ``i`` from its cached model ``i`` and indexes past
        its cache when there are more constraints than at its last proposal."""
        complete = study_trials(view, states=(TrialState.COMPLETE,))
        names = tuple(complete[-1].constraints) if complete else ()
        if names != self._cache.get("constraint_names"):
            self._cache["constraint_names"] = names
            forget_constraint_models(self.inner)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self.inner.sample_independent(
            self._view(study), trial, param_name, param_distribution
        )

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.inner.before_trial(self._view(study), trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.inner.after_trial(self._view(study), trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()


def make_sampler(
    name: str, *, seed: int, budget: int, threshold: float | None = None
) -> optuna.samplers.BaseSampler:
    """The sampler ``name``; wrapped by :class:`ConstraintAwareSampler` when ``threshold`` (the
    stop level of validation accuracy) is given, as the search does."""
    inner = SAMPLERS.get(name)(seed, budget)
    return inner if threshold is None else ConstraintAwareSampler(inner, threshold)
