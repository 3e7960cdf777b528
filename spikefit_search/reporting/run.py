"""Read a run folder without touching it: manifest, study trials and the device profile.

Reading never takes the run lock, so ``report`` and ``export`` work while a search runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna

from spikefit_search.exceptions import RunError, SpikefitError
from spikefit_search.reporting.pareto import ParetoFront, compute_pareto_front
from spikefit_search.search.run_folder import MANIFEST, manifest_objective
from spikefit_search.search.storage import journal_path, open_storage

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from spikefit_search.hardware import HardwareProfile


@dataclass(frozen=True)
class RunView:
    """A snapshot of one run folder.

    Attributes:
        path: the run folder.
        manifest: ``manifest.json`` as written by the search.
        trials: every trial of the study at the time of reading.
    """

    path: Path
    manifest: dict[str, Any]
    trials: tuple[FrozenTrial, ...]

    @property
    def study_name(self) -> str:
        return str(self.manifest["study"])

    @property
    def device(self) -> str:
        return str(self.manifest.get("device", {}).get("name", "?"))

    @property
    def label(self) -> str:
        """The study name, for legends (it names the device, space and data by default)."""
        return self.study_name

    def pareto(self) -> ParetoFront:
        return compute_pareto_front(
            self.trials, label=self.label, objective=manifest_objective(self.manifest)
        )

    def trial(self, number: int) -> FrozenTrial:
        for t in self.trials:
            if t.number == number:
                return t
        raise RunError(
            f"--trial must be a trial of {self.path} (0..{len(self.trials) - 1}), but got {number}."
        )

    def profile(self) -> HardwareProfile | None:
        """The device profile the run used (its recorded path, else its name); None if gone."""
        from spikefit_search.hardware import load_profile

        device = self.manifest.get("device", {})
        for ref in (device.get("path"), device.get("name")):
            if not ref:
                continue
            try:
                return load_profile(ref)
            except SpikefitError:
                continue
        return None


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    if not run_dir.is_dir():
        raise RunError(f"RUN must be a run folder, but {run_dir} is not a folder.")
    if not path.is_file():
        raise RunError(
            f"RUN must be a spikefit-search run folder with {MANIFEST}, but {run_dir} has none."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} must be readable JSON, but got {type(exc).__name__}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("study"), str):
        raise RunError(f"{path} must name its study, but it has no 'study' key.")
    for key in ("device", "space", "dataset", "options"):
        if key in data and not isinstance(data[key], dict):
            raise RunError(
                f"{path} must record {key} as a mapping, as spikefit-search writes it, but "
                f"got {type(data[key]).__name__}."
            )
    return data


def load_run(run_dir: str | Path, *, storage: str | None = None) -> RunView:
    """Read ``run_dir``'s manifest and its study's trials (read-only, no lock).

    Args:
        run_dir: a folder the search wrote.
        storage: the Optuna RDB URL of a ``--storage`` run (the manifest keeps it with its
            password masked); None for the journal in the folder or the recorded URL.

    Raises:
        RunError: not a run folder, its storage is missing, or the study is not in it.
    """
    path = Path(run_dir)
    manifest = read_manifest(path)
    url = storage
    recorded = manifest.get("storage") or "study.journal"
    if url is None and recorded != "study.journal":
        if "***" in recorded:
            raise RunError(
                f"{path} was searched with --storage {recorded}; pass --storage with the "
                "password to read it."
            )
        url = recorded
    if url is None and not journal_path(path).is_file():
        raise RunError(f"RUN must hold its study.journal, but {path} has none.")
    try:
        study = optuna.load_study(study_name=manifest["study"], storage=open_storage(path, url))
    except KeyError:
        raise RunError(
            f"the storage of {path} must hold study {manifest['study']!r}, but it does not."
        ) from None
    return RunView(path=path, manifest=manifest, trials=tuple(study.get_trials(deepcopy=True)))
