"""Multi-objective successive halving: train most candidates briefly, the promising ones fully.

With ``--fidelity halving`` every sampled candidate starts on rung 0, trained for a fraction
``eta ** -(rungs - 1)`` of its epochs. When ``k`` candidates of a rung have finished, the best
``floor(k / eta)`` of them are promoted: the same parameters and seed are trained again on the next
rung, ``eta`` times longer, as a new trial that records the rung it is on and the trial it was
promoted from. Only the top rung trains at full fidelity, and only its trials can be on the front.

"Best" is multi-objective, as in MO-ASHA (Schmucker et al. 2021, arXiv:2106.12639): candidates
are ranked by non-dominated sorting on (accuracy up, second objective down); within one front,
by their hypervolume contribution, the extremes of a front first; then by trial number, so every
worker ranks alike. Stopped (near-chance), infeasible and failed candidates are never promoted.

Promotions are asynchronous, as in ASHA (Li et al. 2020, arXiv:1810.05934): a worker promotes
whenever a rung holds an unpromoted candidate among its best, before it samples a new one, so no
worker waits for a rung to fill. Each rung holds at most a third of the one below (``bounded``):
a slot opens with every ``eta`` more finished below, and goes to the best unpromoted candidate
then, so the training spent stays that of the halving schedule. Two workers may promote the
same candidate at once; the trial with the lower number trains it and the other records the
stage ``duplicate`` and trains nothing. ``--budget N`` counts the candidates sampled on rung 0;
promotions come on top of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from spikefit_search.search.stages import (
    BUDGET_STAGES,
    FIDELITY,
    PROMOTED_FROM,
    RUNG,
    SEED,
    STAGE,
    Stage,
    is_feasible,
)

FIDELITIES = ("full", "halving")
"""Values of ``--fidelity``."""


@dataclass(frozen=True)
class Halving:
    """The rungs of a successive-halving search: ``rungs`` levels, each ``eta`` times longer."""

    eta: int = 3
    rungs: int = 3
    bounded: bool = True
    """Promote into rung ``r + 1`` only while it holds fewer than ``floor(k / eta)`` of the ``k``
    finished on rung ``r`` (the schedule's share). Unbounded, as in ASHA, a candidate that enters
    a rung's top third after others were promoted is promoted too, and with a sampler that
    improves as it learns most candidates end up promoted."""

    def __post_init__(self) -> None:
        if self.eta < 2:
            raise ValueError(f"eta must be at least 2, but got {self.eta}")
        if self.rungs < 1:
            raise ValueError(f"rungs must be at least 1, but got {self.rungs}")

    @property
    def top(self) -> int:
        return self.rungs - 1

    def fraction(self, rung: int) -> float:
        """The share of the full training budget of a trial on ``rung``."""
        if not 0 <= rung <= self.top:
            raise ValueError(f"rung must be in 0..{self.top}, but got {rung}")
        return float(self.eta) ** (rung - self.top)

    def epochs(self, warmup: int, finetune: int, rung: int) -> tuple[int, int]:
        """(warm-up, fine-tune) epochs on ``rung``: the full ones scaled by :meth:`fraction`,
        rounded, at least one each (the top rung trains them all)."""
        share = self.fraction(rung)
        if rung == self.top:
            return warmup, finetune
        return max(1, round(warmup * share)), max(1, round(finetune * share))


def rung_of(trial: FrozenTrial | optuna.Trial) -> int:
    """The rung a trial trains on (0 in a full-fidelity search)."""
    return int(trial.user_attrs.get(RUNG, 0))


def is_full_fidelity(trial: FrozenTrial) -> bool:
    """A trial trained with every epoch: any trial of a full-fidelity search, the top rung of a
    successive-halving one."""
    return float(trial.user_attrs.get(FIDELITY, 1.0)) >= 1.0


def _is_alive(trial: FrozenTrial) -> bool:
    """Still holds its promotion: waiting, running or finished, and not a duplicate."""
    return trial.state != TrialState.FAIL and trial.user_attrs.get(STAGE) != Stage.DUPLICATE


def promotion_order(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """``trials`` (each with values (accuracy, objective)) best first: by non-dominated front,
    within a front by hypervolume contribution (its extremes first), then by number."""
    left = sorted(trials, key=lambda t: t.number)
    order: list[FrozenTrial] = []
    while left:
        front = [t for t in left if not any(_dominates(o, t) for o in left)]
        order.extend(_by_contribution(front))
        numbers = {t.number for t in front}
        left = [t for t in left if t.number not in numbers]
    return order


def _dominates(a: FrozenTrial, b: FrozenTrial) -> bool:
    (acc_a, obj_a), (acc_b, obj_b) = a.values, b.values
    return acc_a >= acc_b and obj_a <= obj_b and (acc_a > acc_b or obj_a < obj_b)


def _by_contribution(front: list[FrozenTrial]) -> list[FrozenTrial]:
    """A 2-D front (no point dominates another) by the area each point alone adds to the
    hypervolume: the rectangle between its neighbours. The two extremes are unbounded."""
    pts = sorted(front, key=lambda t: (t.values[1], t.number))  # cost up, so accuracy up
    gain: dict[int, float] = {}
    for i, t in enumerate(pts):
        if i == 0 or i == len(pts) - 1:
            gain[t.number] = math.inf
            continue
        d_acc = t.values[0] - pts[i - 1].values[0]
        d_obj = pts[i + 1].values[1] - t.values[1]
        gain[t.number] = d_acc * d_obj
    return sorted(front, key=lambda t: (-gain[t.number], t.number))


def next_promotion(trials: Sequence[FrozenTrial], halving: Halving) -> FrozenTrial | None:
    """The candidate to promote next, or None: the best unpromoted one among the top
    ``floor(finished / eta)`` of a rung, the highest rung first; with ``halving.bounded``, only
    while the rung above holds fewer promotions than that."""
    promoted = {
        (int(t.user_attrs[PROMOTED_FROM]), rung_of(t))
        for t in trials
        if PROMOTED_FROM in t.user_attrs and _is_alive(t)
    }
    taken: dict[int, int] = {}  # promotions held per rung
    for _, up in promoted:
        taken[up] = taken.get(up, 0) + 1
    for rung in range(halving.top - 1, -1, -1):
        on_rung = [t for t in trials if rung_of(t) == rung and t.state != TrialState.FAIL]
        finished = [t for t in on_rung if t.user_attrs.get(STAGE) in BUDGET_STAGES]
        k = len(finished) // halving.eta
        if k == 0 or (halving.bounded and taken.get(rung + 1, 0) >= k):
            continue
        eligible = [t for t in finished if is_feasible(t)]  # not stopped, on the chip
        for t in promotion_order(eligible)[:k]:
            if (t.number, rung + 1) not in promoted:
                return t
    return None


def promote(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue ``trial``'s candidate (same parameters and seed) on the next rung."""
    attrs: dict[str, Any] = {RUNG: rung_of(trial) + 1, PROMOTED_FROM: trial.number}
    if SEED in trial.user_attrs:
        attrs[SEED] = trial.user_attrs[SEED]
    study.enqueue_trial(trial.params, user_attrs=attrs)


def carried_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """What a retry of an interrupted trial must keep of its user attributes to stay on its rung."""
    return {k: attrs[k] for k in (RUNG, PROMOTED_FROM) if k in attrs}


def duplicate_of(
    trials: Sequence[FrozenTrial], number: int, attrs: Mapping[str, Any]
) -> int | None:
    """The number of a lower-numbered live trial that already retrains the promotion of trial
    ``number`` (user attributes ``attrs``), or None."""
    if PROMOTED_FROM not in attrs:
        return None
    key = (attrs[PROMOTED_FROM], int(attrs.get(RUNG, 0)))
    for t in trials:
        if t.number >= number or not _is_alive(t) or PROMOTED_FROM not in t.user_attrs:
            continue
        if (t.user_attrs[PROMOTED_FROM], rung_of(t)) == key:
            return t.number
    return None
