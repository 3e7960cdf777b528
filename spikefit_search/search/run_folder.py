"""The run folder of a search: its manifest, its lock, and the rules for continuing it.

A run folder holds ``manifest.json`` (what the study was created with), the study's journal
(unless the study lives in an RDB), checkpoints and the tables. One search at a time holds the
folder's lock; ``report`` and ``export`` read it without the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spikefit_search.exceptions import RunError
from spikefit_search.hardware.energy import DEFAULT_OBJECTIVE
from spikefit_search.search.consistency import check_same_settings
from spikefit_search.search.storage import JOURNAL_NAME

MANIFEST = "manifest.json"
"""The run folder's record of what its study was created with (and each accepted change)."""


def manifest_objective(manifest: dict[str, Any]) -> str:
    """The objective name a run was created with (``energy`` for runs made before the choice)."""
    entry = manifest.get("objective")
    return (
        str(entry.get("name", DEFAULT_OBJECTIVE)) if isinstance(entry, dict) else DEFAULT_OBJECTIVE
    )


IDENTITY_KEYS = ("device", "space", "dataset")


def existing_manifest(run_dir: Path) -> dict[str, Any]:
    """An existing run's manifest, checked for the shape spikefit-search writes."""
    path = run_dir / MANIFEST
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(
            f"{path} must be readable JSON, but got {type(exc).__name__}; move the run folder "
            "aside or use --study NEW_NAME."
        ) from None
    for key in IDENTITY_KEYS:
        part = old.get(key) if isinstance(old, dict) else None
        if not isinstance(part, dict) or not isinstance(part.get("name"), str):
            raise RunError(
                f"{path} must record the {key} name as written by spikefit-search, but it does "
                "not; move the run folder aside or use --study NEW_NAME."
            )
    return dict(old)


def check_same_run(run_dir: Path, manifest: dict[str, Any], storage: str | None) -> dict[str, Any]:
    """The study's manifest, after refusing options that change what a trial means."""
    old = existing_manifest(run_dir)
    if storage is None and not (run_dir / JOURNAL_NAME).is_file():
        raise RunError(
            f"{run_dir} must hold its {JOURNAL_NAME} beside {MANIFEST}, but it is missing; "
            "restore it from a backup, or use --study NEW_NAME for a new study."
        )
    check_same_settings(old, manifest)
    return old


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """One search at a time per run folder (``report`` reads without the lock)."""
    with open(run_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(
                f"a search is already running in {run_dir}; wait for it or use --study NEW_NAME."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
