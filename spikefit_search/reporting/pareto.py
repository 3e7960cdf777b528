"""The accuracy-versus-energy trade-off of a study, computed once as a :class:`ParetoFront`.

Renderers (rich tables, ``pareto.png``, ``report.html``) and ``export`` only read this object;
nothing here draws or prints.

Example:
    >>> import optuna
    >>> t = optuna.trial.create_trial(values=[0.9, 2.0], constraints={"neurons": -0.5})
    >>> front = compute_pareto_front([t])
    >>> [p.number for p in front.front], front.knee is not None
    ([0], True)
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from spikefit_search.hardware.energy import DEFAULT_OBJECTIVE, get_objective, objective_for_key
from spikefit_search.hardware.neurobench import COLUMNS as NEUROBENCH_COLUMNS
from spikefit_search.search.dashboard import named_constraints
from spikefit_search.search.halving import is_full_fidelity
from spikefit_search.search.records import (
    TIE_SE,
    accuracy_ties,
    difference_se,
    is_feasible,
    pareto_trials,
    stored_correct,
)
from spikefit_search.search.stages import (
    FAIL_REASON,
    REASON,
    REJECTED_BY,
    STAGE,
    Stage,
    count_trials,
)

METRIC_NAMES = ("accuracy", "energy_uj")
"""The study's metric names (Optuna's ``Study.metric_names``) with the default objective."""
METRIC_LABELS = ("Validation accuracy (%)", "Energy per inference (µJ)")
"""Axis labels of the default metrics; :attr:`ParetoFront.objective_label` gives the chosen
second objective's."""
ENERGY_TERMS = ("sop_uj", "update_uj", "spike_uj", "static_uj")
"""The four energy terms of a point, in formula order (they sum to ``energy_uj``)."""
DIRECTIONS = ("maximize", "minimize")
CATEGORIES = ("front", "dominated", "infeasible")


@dataclass(frozen=True)
class ParetoPoint:
    """One trained trial with both objectives, and what ``export`` needs to rebuild it.

    Attributes:
        number: Optuna trial number.
        accuracy: validation accuracy in [0, 1] (objective 1, maximised).
        energy_uj: energy per inference in µJ (objective 2 by default).
        test_accuracy: test accuracy in [0, 1] (reported, never optimised); NaN when unknown.
        float_accuracy: validation accuracy of the same weights as a float network, where
            ``accuracy`` is chip-exact (NaN otherwise).
        chip_exact: ``accuracy`` was measured in the chip's integer arithmetic.
        sops: synaptic operations per inference.
        n_values: distinct weight values ``M`` per scope.
        bits: weight bit-width ``b``.
        rho: fraction of hidden neurons pruned.
        zero_fraction: least share of synapses sent to the free zero code (0 when not searched).
        widths: hidden sizes after pruning.
        feasible: every constraint value <= 0.
        violated: names of the constraints with a positive value.
        reason: why the trial is infeasible (empty when it is not).
        pipeline: ``PipelineConfig.to_dict()`` of the trial (None when not recorded).
        seed: the trial's seed.
        cost: the second objective as minimised (``energy_uj`` unless the run chose another:
            dynamic energy, SOPs or latency); NaN means ``energy_uj``.
        sop_uj, update_uj, spike_uj, static_uj: the energy terms in µJ (NaN when unknown).
        latency_ms: latency per inference in ms (NaN when unknown).
        estimated_terms: the terms whose constants are estimates.
        low_uj, high_uj: the energy with every constant at the low / high end of its range
            (NaN when not recorded); ``dynamic_low_uj``, ``dynamic_high_uj`` likewise for the
            dynamic energy.
        not_modelled: the terms no figure exists for (they add nothing to ``energy_uj``).
        clock_mhz: the clock a Xylo runs the network at (NaN elsewhere).
        neurobench: NeuroBench's metrics under their ``nb_`` names
            (:data:`~spikefit_search.hardware.neurobench.COLUMNS`; empty when not recorded).
        accuracy_se, test_accuracy_se: standard errors of ``accuracy`` and ``test_accuracy``
            (finite split and encoding draws; NaN when not recorded).
        correct: per validation sample, the share of encoding draws classified right (None
            when not recorded); paired comparisons of points read it.
        tied_with: the trial costing no more whose accuracy this point's is within
            :data:`~spikefit_search.search.records.TIE_SE` standard errors of, when no such
            trial is clearly more accurate (:func:`~spikefit_search.search.records.accuracy_ties`);
            None when the data separate this point from every cheaper one.
    """

    number: int
    accuracy: float
    energy_uj: float
    test_accuracy: float = math.nan
    float_accuracy: float = math.nan
    chip_exact: bool = False
    sops: float = math.nan
    n_values: int | None = None
    bits: int | None = None
    rho: float | None = None
    zero_fraction: float = 0.0
    widths: tuple[int, ...] = ()
    feasible: bool = True
    violated: tuple[str, ...] = ()
    reason: str = ""
    pipeline: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    seed: int | None = None
    cost: float = math.nan
    sop_uj: float = math.nan
    update_uj: float = math.nan
    spike_uj: float = math.nan
    static_uj: float = math.nan
    latency_ms: float = math.nan
    estimated_terms: tuple[str, ...] = ()
    low_uj: float = math.nan
    high_uj: float = math.nan
    dynamic_low_uj: float = math.nan
    dynamic_high_uj: float = math.nan
    not_modelled: tuple[str, ...] = ()
    clock_mhz: float = math.nan
    neurobench: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    accuracy_se: float = math.nan
    test_accuracy_se: float = math.nan
    correct: np.ndarray | None = field(default=None, compare=False, repr=False)
    tied_with: int | None = None

    @property
    def objective(self) -> float:
        """The second objective's value (what the front and the knee use)."""
        return self.energy_uj if math.isnan(self.cost) else self.cost

    @property
    def dynamic_uj(self) -> float:
        return self.sop_uj + self.update_uj + self.spike_uj

    def band(self, key: str) -> tuple[float, float] | None:
        """``(low, high)`` of the metric ``key`` (``energy_uj`` or ``dynamic_uj``) from the
        constants' ranges; None when not recorded, not an energy, or a single figure."""
        ends = {
            "energy_uj": (self.low_uj, self.high_uj),
            "dynamic_uj": (self.dynamic_low_uj, self.dynamic_high_uj),
        }.get(key)
        if ends is None or any(math.isnan(v) for v in ends) or ends[0] == ends[1]:
            return None
        return ends

    @classmethod
    def from_trial(cls, trial: FrozenTrial) -> ParetoPoint:
        ua = trial.user_attrs
        params = trial.params
        assert trial.values is not None
        pipeline = ua.get("pipeline")

        def pick(name: str) -> Any:  # what was trained (n_values may be clipped to 2^b levels)
            if isinstance(pipeline, dict) and name in pipeline:
                return pipeline[name]
            return params.get(name)

        n_values, bits, rho = pick("n_values"), pick("bits"), pick("rho")
        estimated = str(ua.get("energy_estimated", ""))
        unmodelled = str(ua.get("energy_not_modelled", ""))
        return cls(
            number=trial.number,
            accuracy=float(trial.values[0]),
            # runs made before the energy terms were recorded: the objective was the energy
            energy_uj=float(ua.get("energy_uj", trial.values[1])),
            cost=float(trial.values[1]),
            sop_uj=float(ua.get("sop_uj", math.nan)),
            update_uj=float(ua.get("update_uj", math.nan)),
            spike_uj=float(ua.get("spike_uj", math.nan)),
            static_uj=float(ua.get("static_uj", math.nan)),
            latency_ms=float(ua.get("latency_ms", math.nan)),
            estimated_terms=tuple(t for t in estimated.split(",") if t),
            low_uj=float(ua.get("energy_low_uj", math.nan)),
            high_uj=float(ua.get("energy_high_uj", math.nan)),
            dynamic_low_uj=float(ua.get("dynamic_low_uj", math.nan)),
            dynamic_high_uj=float(ua.get("dynamic_high_uj", math.nan)),
            not_modelled=tuple(t for t in unmodelled.split(",") if t),
            clock_mhz=float(ua.get("clock_mhz", math.nan)),
            test_accuracy=float(ua.get("test_accuracy", math.nan)),
            float_accuracy=float(ua.get("float_val_accuracy", math.nan)),
            chip_exact=bool(ua.get("chip_exact", False)),
            sops=float(ua.get("sops", math.nan)),
            n_values=None if n_values is None else int(n_values),
            bits=None if bits is None else int(bits),
            rho=None if rho is None else float(rho),
            zero_fraction=float(pick("zero_fraction") or 0.0),
            widths=tuple(int(w) for w in ua.get("widths", ())),
            feasible=is_feasible(trial),
            violated=tuple(sorted(k for k, v in named_constraints(trial).items() if v > 0)),
            reason=str(ua.get(REASON, "")),
            pipeline=pipeline if isinstance(pipeline, dict) else None,
            seed=None if ua.get("seed") is None else int(ua["seed"]),
            neurobench={k: float(ua[k]) for k in NEUROBENCH_COLUMNS if k in ua},
            accuracy_se=float(ua.get("accuracy_se", math.nan)),
            test_accuracy_se=float(ua.get("test_accuracy_se", math.nan)),
            correct=stored_correct(trial),
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "accuracy": self.accuracy,
            "accuracy_se": self.accuracy_se,
            "tied_with": self.tied_with,
            "test_accuracy": self.test_accuracy,
            "test_accuracy_se": self.test_accuracy_se,
            "chip_exact": self.chip_exact,
            "float_accuracy": self.float_accuracy,
            "objective": self.objective,
            "energy_uj": self.energy_uj,
            "energy_low_uj": self.low_uj,
            "energy_high_uj": self.high_uj,
            "sop_uj": self.sop_uj,
            "update_uj": self.update_uj,
            "spike_uj": self.spike_uj,
            "static_uj": self.static_uj,
            "latency_ms": self.latency_ms,
            "energy_estimated": ",".join(self.estimated_terms),
            "energy_not_modelled": ",".join(self.not_modelled),
            "sops": self.sops,
            "clock_mhz": self.clock_mhz,
            "n_values": self.n_values,
            "bits": self.bits,
            "rho": self.rho,
            "zero_fraction": self.zero_fraction,
            "widths": "-".join(str(w) for w in self.widths),
            "feasible": self.feasible,
            "violated": ",".join(self.violated),
            **{k: self.neurobench.get(k, math.nan) for k in NEUROBENCH_COLUMNS},
        }


OUTCOME_LABELS = {
    "rejected": "rejected before training",
    "infeasible": "trained, breaks a limit",
    "stopped": "stopped early",
    "failed": "failed",
    "interrupted": "interrupted",
    "surplus": "surplus",
}
"""How each outcome of a candidate that is not on the front reads in a report."""

OUTCOME_MEANINGS = {
    "trained": "trained to the end; counts towards --budget",
    "stopped": "stopped after warm-up (accuracy near chance); counts towards --budget",
    "rejected": "broke a chip limit in the static check, never trained; free",
    "infeasible": "trained, but the trained weights break a chip limit",
    "failed": "raised an error (see trials.csv); the search went on",
    "interrupted": "Ctrl-C or the process ended; queued again and retried on resume",
    "surplus": "trained by a worker after others had filled the budget; not counted",
    "running": "being trained now",
    "queued": "waiting to be trained (a retry of an interrupted trial, or a promotion)",
    "promoted": "retrained longer on a higher rung of successive halving; not counted",
    "duplicate": "a promotion another worker had already taken; trained nothing",
}
"""What each count of a report means (the report prints it beside the count)."""


@dataclass(frozen=True)
class ReasonGroup:
    """Candidates left out of the front for the same reason.

    Attributes:
        outcome: key of :data:`OUTCOME_LABELS`.
        reason: the shared reason with its numbers left out, e.g. ``"fan_in"`` or
            ``"stopped after warm-up: validation accuracy # is below #"``.
        example: the full reason of the first trial of the group.
        numbers: the trial numbers, ascending.
    """

    outcome: str
    reason: str
    example: str
    numbers: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.numbers)


_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?(?:Ki|k|M|G|%)?")


def _reason_of(trial: FrozenTrial) -> tuple[str, str, str] | None:
    """(outcome, reason key, full reason) of a trial that is not a feasible trained point."""
    ua = trial.user_attrs
    full = str(ua.get(REASON) or "")
    stage = ua.get(STAGE)
    if trial.state == TrialState.FAIL:
        full = str(ua.get(FAIL_REASON) or full or "no reason recorded")
        if full.startswith("interrupted"):
            return "interrupted", full, full
        return "failed", _NUMBER.sub("#", full.split(":")[0]), full
    if stage == Stage.REJECTED:
        names = ua.get(REJECTED_BY) or sorted(
            k for k, v in named_constraints(trial).items() if v > 0
        )
        return "rejected", ", ".join(names) or "not recorded", full
    if stage in (Stage.STOPPED, Stage.OVER_BUDGET):
        return stage, _NUMBER.sub("#", full) or stage, full
    if trial.state == TrialState.COMPLETE and not is_feasible(trial):
        names = sorted(k for k, v in named_constraints(trial).items() if v > 0)
        return "infeasible", ", ".join(names), full
    return None


def group_reasons(trials: Sequence[FrozenTrial]) -> tuple[ReasonGroup, ...]:
    """Every candidate rejected, stopped, failed, interrupted or infeasible, grouped by reason,
    most common first (then by outcome and reason, so the order is stable)."""
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for t in trials:
        found = _reason_of(t)
        if found is not None:
            outcome, key, full = found
            groups.setdefault((outcome, key), []).append((t.number, full))
    order = list(OUTCOME_LABELS)
    out = [
        ReasonGroup(outcome, key, min(members)[1], tuple(sorted(n for n, _ in members)))
        for (outcome, key), members in groups.items()
    ]
    return tuple(sorted(out, key=lambda g: (-g.count, order.index(g.outcome), g.reason)))


@dataclass(frozen=True)
class ParetoFront:
    """The trade-off of one study.

    Attributes:
        front: feasible trials no other feasible trial dominates (accuracy up, energy down),
            by energy ascending, then accuracy descending, then trial number. Trials with equal
            objectives are all kept.
        dominated: feasible trained trials some front point dominates, by trial number.
        infeasible: trained trials with both objectives but a violated constraint (measured
            on the trained weights), by trial number. Candidates rejected before training have
            no objectives and are only counted.
        low_fidelity: trials of a successive-halving search trained on a lower rung (a share
            of the epochs), feasible or not, by trial number: shown, never on the front.
        knee: the cheapest front point whose height above the chord joining the front's
            extremes (normalised objective space) is within the noise of the highest (see
            :func:`knee_point`); None for an empty front.
        counts: trials per outcome: ``trained``, ``stopped``, ``rejected``, ``failed``,
            ``surplus``, ``running``, ``queued``, ``budget_used``, ``total``.
        rejections: per constraint name, how many trials it made infeasible (rejected before
            training or after), most first.
        reasons: every candidate not placed as a feasible trained point, grouped by outcome
            and reason, most common first (:func:`group_reasons`).
        metric_names: the study's metric names (Optuna's ``Study.metric_names``),
            ``("accuracy", KEY)``, KEY the second objective's metric (``energy_uj``,
            ``dynamic_uj``, ``sops`` or ``latency_ms``).
        directions: ``("maximize", "minimize")``.
        label: a name for legends (e.g. the device).
    """

    front: tuple[ParetoPoint, ...] = ()
    dominated: tuple[ParetoPoint, ...] = ()
    infeasible: tuple[ParetoPoint, ...] = ()
    low_fidelity: tuple[ParetoPoint, ...] = ()
    knee: ParetoPoint | None = None
    counts: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    reasons: tuple[ReasonGroup, ...] = ()
    metric_names: tuple[str, str] = METRIC_NAMES
    directions: tuple[str, str] = DIRECTIONS
    label: str = ""

    @property
    def objective_label(self) -> str:
        """Axis label of the second objective."""
        return objective_for_key(self.metric_names[1]).label

    @property
    def has_feasible(self) -> bool:
        return bool(self.front)

    def category(self, name: str) -> tuple[ParetoPoint, ...]:
        """Points of ``front``, ``dominated`` or ``infeasible``."""
        if name not in CATEGORIES:
            raise KeyError(name)
        points: tuple[ParetoPoint, ...] = getattr(self, name)
        return points

    def point(self, number: int) -> ParetoPoint | None:
        """The plotted point of trial ``number``, whatever its category."""
        for name in CATEGORIES:
            for p in self.category(name):
                if p.number == number:
                    return p
        return None

    def to_frame(self) -> pd.DataFrame:
        """One row per plotted point with its ``category`` and whether it is the ``knee``."""
        rows = []
        for name in CATEGORIES:
            for p in self.category(name):
                rows.append(
                    {
                        "category": name,
                        "knee": self.knee is not None and p.number == self.knee.number,
                        **p.to_row(),
                    }
                )
        columns = ["category", "knee", *ParetoPoint(0, 0.0, 0.0).to_row()]
        frame = pd.DataFrame(rows, columns=columns)
        frame["tied_with"] = frame["tied_with"].astype("Int64")
        return frame


def _sort_front(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    return sorted(points, key=lambda p: (p.objective, -p.accuracy, p.number))


def knee_point(front: Sequence[ParetoPoint], *, z: float = TIE_SE) -> ParetoPoint | None:
    """The cheapest point of ``front`` whose height above the chord between its extremes is
    within ``z`` standard errors of the highest.

    Both objectives are normalised to [0, 1] over the front (energy ``x``, accuracy ``y``), so
    the extremes are ``(0, 0)`` (least energy) and ``(1, 1)`` (most accurate) and the signed
    distance to the chord is proportional to the gain ``y - x``: the point of highest gain buys
    the most accuracy per unit of energy relative to a straight trade-off. Accuracies carry
    noise, so that point is not taken as it stands (the one-standard-error rule of Breiman et
    al., 1984): every point whose gain falls short of the highest by no more than ``z``
    standard errors of the difference (:func:`~spikefit_search.search.records.difference_se`
    of the two accuracies, divided by the front's accuracy span) is as good a knee, and the
    cheapest of them is chosen. So, with the front's extremes unchanged, a dearer point that
    gains by less than the error of its difference cannot take the knee from a cheaper one.
    Energies are taken as exact; points without a standard error count
    as exact too. Ties go to lower energy, then higher accuracy, then the lower trial number,
    so the result is deterministic.

    Returns:
        None for an empty front.
    """
    if not front:
        return None
    energies = [p.objective for p in front]
    accs = [p.accuracy for p in front]
    e_lo, e_span = min(energies), max(energies) - min(energies)
    a_lo, a_span = min(accs), max(accs) - min(accs)

    def gain(p: ParetoPoint) -> float:
        x = (p.objective - e_lo) / e_span if e_span > 0 else 0.0
        y = (p.accuracy - a_lo) / a_span if a_span > 0 else 0.0
        return round(y - x, 12)

    best = min(front, key=lambda p: (-gain(p), p.objective, -p.accuracy, p.number))
    if a_span <= 0:
        return best

    def as_good(p: ParetoPoint) -> bool:
        return gain(best) - gain(p) <= z * difference_se(p, best) / a_span

    return min((p for p in front if as_good(p)), key=lambda p: (p.objective, -p.accuracy, p.number))


def _rejections(trials: Sequence[FrozenTrial]) -> dict[str, int]:
    counter: Counter[str] = Counter()
    for t in trials:
        violated = {k for k, v in named_constraints(t).items() if v > 0}
        if t.user_attrs.get(STAGE) == Stage.REJECTED:
            names = set(t.user_attrs.get(REJECTED_BY) or ()) or violated
        elif t.state == TrialState.COMPLETE:
            names = violated
        else:
            continue  # stopped, surplus, failed, running: not a constraint's doing
        counter.update(names)
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def compute_pareto_front(
    source: optuna.Study | Sequence[FrozenTrial],
    *,
    label: str = "",
    objective: str | None = None,
) -> ParetoFront:
    """Split the trained trials of ``source`` into front, dominated and infeasible points.

    Works on a finished, partial or running study: only finished trials with both objectives
    are placed; every trial is counted. ``objective`` names the second objective (default: the
    study's metric name, else ``energy``).
    """
    if objective is not None:
        key = get_objective(objective).key
    elif isinstance(source, optuna.Study) and source.metric_names:
        key = objective_for_key(source.metric_names[-1]).key
    else:
        key = get_objective(DEFAULT_OBJECTIVE).key
    trials = list(source.get_trials(deepcopy=False) if isinstance(source, optuna.Study) else source)
    trained = [
        t for t in trials if t.state == TrialState.COMPLETE and t.values and len(t.values) == 2
    ]
    low = [ParetoPoint.from_trial(t) for t in trained if not is_full_fidelity(t)]
    trained = [t for t in trained if is_full_fidelity(t)]
    front_trials = pareto_trials(trained)
    on_front = {t.number for t in front_trials}
    feasible = [ParetoPoint.from_trial(t) for t in trained if is_feasible(t)]
    ties = accuracy_ties(feasible)
    feasible = [replace(p, tied_with=ties.get(p.number)) for p in feasible]
    front = _sort_front([p for p in feasible if p.number in on_front])
    dominated = [p for p in feasible if p.number not in on_front]
    infeasible = [ParetoPoint.from_trial(t) for t in trained if not is_feasible(t)]
    counts = count_trials(trials)
    counts["total"] = len(trials)
    return ParetoFront(
        front=tuple(front),
        dominated=tuple(sorted(dominated, key=lambda p: p.number)),
        infeasible=tuple(sorted(infeasible, key=lambda p: p.number)),
        low_fidelity=tuple(sorted(low, key=lambda p: p.number)),
        knee=knee_point(front),
        counts=counts,
        rejections=_rejections(trials),
        reasons=group_reasons(trials),
        metric_names=("accuracy", key),
        label=label,
    )


ENERGY_KEYS = ("energy_uj", "dynamic_uj")
"""Second objectives that are energies (they carry a band from the constants' ranges)."""
SAME_REL_TOL = 1e-9


def constant_static(front: ParetoFront, *, any_objective: bool = False) -> float | None:
    """The static energy in µJ when it is the same for every plotted point (and above 0): the
    part a plot or a table should leave out to show what differs. None otherwise (a static
    that varies, none recorded, or, unless ``any_objective``, a run that did not minimise the
    total energy: its axis is not an energy)."""
    if not any_objective and front.metric_names[1] != "energy_uj":
        return None
    statics = [p.static_uj for name in CATEGORIES for p in front.category(name)]
    if not statics or any(math.isnan(s) for s in statics):
        return None
    top = max(statics)
    if top <= 0 or top - min(statics) > SAME_REL_TOL * top:
        return None
    return statics[0]


def comparison_warning(fronts: Sequence[ParetoFront]) -> str | None:
    """One line for an overlay of several runs: the runs whose plotted energy rests on a
    placeholder (an estimated constant) or leaves a term out (not modelled); None when every
    run's energy is built from sourced figures, or for a single run."""
    if len(fronts) < 2:
        return None
    parts = []
    for f in fronts:
        if f.metric_names[1] not in ENERGY_KEYS:
            continue
        points = [p for name in CATEGORIES for p in f.category(name)]
        missing = sorted({t for p in points for t in p.not_modelled})
        estimated = sorted({t for p in points for t in p.estimated_terms} - set(missing))
        said = []
        if estimated:
            said.append(f"{'/'.join(estimated)} estimated")
        if missing:
            said.append(f"{'/'.join(missing)} not modelled")
        if said:
            parts.append(f"{f.label or 'run'} {', '.join(said)}")
    if not parts:
        return None
    return "Energies across chips are not like for like: " + "; ".join(parts) + "."
