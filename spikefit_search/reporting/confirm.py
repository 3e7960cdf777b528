"""``--confirm K``: retrain the top points of a run's front with the full epoch count, so the front
a user sees is not an artefact of short proxy training; ``--confirm-seeds S`` retrains each on
``S`` seeds and reports the mean with its standard error.

Writes ``confirmed.csv`` in the run folder (search-time and confirmed figures side by side, one
row per point) and each retrained network under ``confirmed/trial_<N>/`` (checkpoint, metrics,
check), or with several seeds under ``confirmed/trial_<N>/seed_<seed>/``. The first seed is the
trial's own; the others retrain every phase, warm-up included, from a seed derived from it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from spikefit_search._io import atomic_write_csv
from spikefit_search._tables import Col, plain_table
from spikefit_search.exceptions import ConfigError
from spikefit_search.reporting.export import ExportConfig, config_from_trial
from spikefit_search.reporting.pareto import ParetoFront, ParetoPoint
from spikefit_search.reporting.retrain import RetrainResult, retrain
from spikefit_search.reporting.run import load_run
from spikefit_search.training.stats import seeds_se

CONFIRMED_NAME = "confirmed.csv"
CONFIRM_FACTOR = 2
"""Default confirm epochs: this many times the space's warm-up + fine-tune epochs."""

COLUMNS = [
    "number",
    "knee",
    "search_accuracy",
    "search_accuracy_se",
    "search_test_accuracy",
    "search_energy_uj",
    "epochs",
    "seeds",
    "confirmed_accuracy",
    "confirmed_accuracy_se",
    "confirmed_test_accuracy",
    "confirmed_test_accuracy_se",
    "confirmed_energy_uj",
    "confirmed_energy_se",
    "confirmed_accuracies",
    "fits",
    "folder",
]
"""``confirmed_*``: the mean over the seeds; ``*_se`` its standard error (accuracies: the seeds'
spread and the finite split together, :func:`~spikefit_search.training.stats.seeds_se`;
energy: the seeds' spread, NaN for one seed); ``confirmed_accuracies``: each seed's
validation accuracy, ``;``-joined; ``fits``: every seed's network fits the chip."""


@dataclass(frozen=True)
class ConfirmResult:
    """What :func:`confirm_front` retrained; ``frame`` is ``confirmed.csv``."""

    frame: pd.DataFrame
    path: Path
    epochs: int
    seeds: int = 1


def confirm_seeds(seed: int, n: int) -> list[int]:
    """``n`` training seeds for a point: its own ``seed`` first, then seeds derived from it."""
    if n < 1:
        raise ConfigError(f"--confirm-seeds must be a positive number of seeds, but got {n}.")
    return [seed] + [(seed * 1_000_003 + j * 104_729) % (2**31 - 1) for j in range(1, n)]


def _with_seed(cfg: ExportConfig, seed: int) -> ExportConfig:
    """``cfg`` trained from ``seed``; a seed other than its own re-seeds the warm-up too (no
    warm-up shared with the search)."""
    if seed == cfg.seed:
        return cfg
    return replace(cfg, seed=seed, pipeline=replace(cfg.pipeline, seed=seed, warmup_seed=None))


def _mean_se(runs: list[RetrainResult], split: str) -> tuple[float, float]:
    """Mean accuracy over the seeds on ``split`` (``val`` or ``test``) and its standard error."""
    scores = [getattr(r.result, f"{split}_accuracy") for r in runs]
    evals = [getattr(r.result, split) for r in runs]
    mean = statistics.fmean(scores)
    if any(e is None or e.counts is None for e in evals):
        return mean, math.nan
    return mean, seeds_se([e.correct for e in evals])


def confirm_points(front: ParetoFront, k: int) -> list[ParetoPoint]:
    """The knee, then the most accurate other front points (ties: less energy), ``k`` in all."""
    if k < 1:
        raise ConfigError(f"--confirm must be a positive number of points, but got {k}.")
    rest = sorted(
        (p for p in front.front if front.knee is None or p.number != front.knee.number),
        key=lambda p: (-p.accuracy, p.energy_uj, p.number),
    )
    head = [front.knee] if front.knee is not None else []
    return (head + rest)[:k]


def default_epochs(manifest: dict[str, Any]) -> int:
    """``CONFIRM_FACTOR`` times the space's warm-up + fine-tune epochs (10 + 5 when unset)."""
    training = manifest.get("space", {}).get("training", {}) or {}
    return CONFIRM_FACTOR * (
        int(training.get("warmup_epochs", 10)) + int(training.get("finetune_epochs", 5))
    )


def confirm_front(
    run_dir: str | Path,
    k: int,
    *,
    epochs: int | None = None,
    accelerator: str = "cpu",
    storage: str | None = None,
    seeds: int = 1,
) -> ConfirmResult:
    """Retrain the ``k`` top front points of ``run_dir`` with ``epochs`` (default
    :func:`default_epochs`) on ``seeds`` seeds each (:func:`confirm_seeds`) and write
    ``confirmed.csv`` (:data:`COLUMNS`).

    A run without a feasible point writes an empty table.
    """
    run = load_run(run_dir, storage=storage)
    front = run.pareto()
    n_epochs = epochs if epochs is not None else default_epochs(run.manifest)
    points = confirm_points(front, k)
    rows = []
    for p in points:
        folder = run.path / "confirmed" / f"trial_{p.number}"
        cfg = config_from_trial(run, p.number)
        runs = [
            retrain(
                _with_seed(cfg, seed),
                epochs=n_epochs,
                out=folder if seeds == 1 else folder / f"seed_{seed}",
                accelerator=accelerator,
            )
            for seed in confirm_seeds(cfg.seed, seeds)
        ]
        val, val_se = _mean_se(runs, "val")
        test, test_se = _mean_se(runs, "test")
        energies = [r.energy.total_uj for r in runs]
        rows.append(
            {
                "number": p.number,
                "knee": front.knee is not None and p.number == front.knee.number,
                "search_accuracy": p.accuracy,
                "search_accuracy_se": p.accuracy_se,
                "search_test_accuracy": p.test_accuracy,
                "search_energy_uj": p.energy_uj,
                "epochs": n_epochs,
                "seeds": seeds,
                "confirmed_accuracy": val,
                "confirmed_accuracy_se": val_se,
                "confirmed_test_accuracy": test,
                "confirmed_test_accuracy_se": test_se,
                "confirmed_energy_uj": statistics.fmean(energies),
                "confirmed_energy_se": (
                    float(np.std(energies, ddof=1) / math.sqrt(seeds)) if seeds > 1 else math.nan
                ),
                "confirmed_accuracies": ";".join(f"{r.result.val_accuracy:.4f}" for r in runs),
                "fits": all(r.fits for r in runs),
                "folder": str(folder.relative_to(run.path)),
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    path = atomic_write_csv(run.path / CONFIRMED_NAME, frame)
    return ConfirmResult(frame, path, n_epochs, seeds)


def confirmed_table(result: ConfirmResult) -> Table:
    """Search-time and confirmed figures side by side (confirmed: the mean over the seeds)."""
    seeds = f", mean of {result.seeds} seeds" if result.seeds > 1 else ""
    rows = [
        [
            str(row.number),
            f"{_acc(row.search_accuracy, row.search_accuracy_se)} -> "
            f"{_acc(row.confirmed_accuracy, row.confirmed_accuracy_se)}",
            f"{row.search_test_accuracy:.2%} -> "
            f"{_acc(row.confirmed_test_accuracy, row.confirmed_test_accuracy_se)}",
            f"{row.search_energy_uj:.4g} -> {row.confirmed_energy_uj:.4g}",
            "yes" if row.fits else "[red]no[/]",
            "◆ knee" if row.knee else "",
        ]
        for row in result.frame.itertuples(index=False)
    ]
    table = plain_table(
        (
            Col("trial", "right"),
            Col("val acc", "right", wrap=True),
            Col("test acc", "right", wrap=True),
            Col("energy µJ", "right", wrap=True),
            Col("fits"),
            Col(""),
        ),
        rows,
        title=f"Confirmed with {result.epochs} epochs{seeds} (search time -> confirmed)",
        caption="acc: mean ± standard error in points (split and seeds together)",
    )
    return table


def _acc(value: float, se: float) -> str:
    """``91.20% ±1.40`` (the standard error in percentage points), or the bare percentage."""
    return f"{value:.2%}" if math.isnan(se) else f"{value:.2%} ±{100 * se:.2f}"
