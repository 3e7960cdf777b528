"""``--confirm K``: retrain the top points of a run's front with the full epoch count, so the front
a user sees is not an artefact of short proxy training.

Writes ``confirmed.csv`` in the run folder (search-time and confirmed figures side by side) and
each retrained network under ``confirmed/trial_<N>/`` (checkpoint, metrics, check).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from spikefit_search._io import atomic_write_csv
from spikefit_search._tables import Col, plain_table
from spikefit_search.exceptions import ConfigError
from spikefit_search.reporting.export import config_from_trial
from spikefit_search.reporting.pareto import ParetoFront, ParetoPoint
from spikefit_search.reporting.retrain import retrain
from spikefit_search.reporting.run import load_run

CONFIRMED_NAME = "confirmed.csv"
CONFIRM_FACTOR = 2
"""Default confirm epochs: this many times the space's warm-up + fine-tune epochs."""

COLUMNS = [
    "number",
    "knee",
    "search_accuracy",
    "search_test_accuracy",
    "search_energy_uj",
    "epochs",
    "confirmed_accuracy",
    "confirmed_test_accuracy",
    "confirmed_energy_uj",
    "fits",
    "folder",
]


@dataclass(frozen=True)
class ConfirmResult:
    """What :func:`confirm_front` retrained; ``frame`` is ``confirmed.csv``."""

    frame: pd.DataFrame
    path: Path
    epochs: int


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
) -> ConfirmResult:
    """Retrain the ``k`` top front points of ``run_dir`` with ``epochs`` (default
    :func:`default_epochs`) and write ``confirmed.csv``.

    A run without a feasible point writes an empty table.
    """
    run = load_run(run_dir, storage=storage)
    front = run.pareto()
    n_epochs = epochs if epochs is not None else default_epochs(run.manifest)
    rows = []
    for p in confirm_points(front, k):
        folder = run.path / "confirmed" / f"trial_{p.number}"
        done = retrain(
            config_from_trial(run, p.number),
            epochs=n_epochs,
            out=folder,
            accelerator=accelerator,
        )
        rows.append(
            {
                "number": p.number,
                "knee": front.knee is not None and p.number == front.knee.number,
                "search_accuracy": p.accuracy,
                "search_test_accuracy": p.test_accuracy,
                "search_energy_uj": p.energy_uj,
                "epochs": n_epochs,
                "confirmed_accuracy": done.result.val_accuracy,
                "confirmed_test_accuracy": done.result.test_accuracy,
                "confirmed_energy_uj": done.energy.total_uj,
                "fits": done.fits,
                "folder": str(folder.relative_to(run.path)),
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    path = atomic_write_csv(run.path / CONFIRMED_NAME, frame)
    return ConfirmResult(frame, path, n_epochs)


def confirmed_table(result: ConfirmResult) -> Table:
    """Search-time and confirmed figures side by side."""
    rows = [
        [
            str(row.number),
            f"{row.search_accuracy:.2%} -> {row.confirmed_accuracy:.2%}",
            f"{row.search_test_accuracy:.2%} -> {row.confirmed_test_accuracy:.2%}",
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
        title=f"Confirmed with {result.epochs} epochs (search time -> confirmed)",
    )
    return table
