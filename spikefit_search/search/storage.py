"""Optuna storage of a run: a journal file in the run folder, or any RDB URL (PostgreSQL)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import TrialState

from spikefit_search.exceptions import RunError
from spikefit_search.search.objective import SEED

JOURNAL_NAME = "study.journal"


def heartbeat_interval() -> int:
    """Seconds between heartbeats of a trial on RDB storage (``SPIKEFIT_HEARTBEAT``, default 20)."""
    return max(1, int(os.environ.get("SPIKEFIT_HEARTBEAT", "20")))


def grace_period() -> int:
    """Seconds without heartbeat after which a trial counts as dead (3 heartbeats)."""
    return 3 * heartbeat_interval()


def journal_path(run_dir: Path) -> Path:
    return run_dir / JOURNAL_NAME


def open_storage(run_dir: Path, url: str | None) -> BaseStorage:
    """The journal file in ``run_dir``, or the RDB at ``url`` with heartbeats so that a dead
    worker's trial is failed and retried."""
    if url is None:
        path = str(journal_path(run_dir))
        return JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
    try:
        return RDBStorage(
            url,
            heartbeat_interval=heartbeat_interval(),
            grace_period=grace_period(),
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=3
            ),
        )
    except Exception as exc:  # SQLAlchemy raises many kinds; all mean "cannot use this URL"
        raise RunError(
            f"--storage must be a reachable Optuna RDB URL, but {mask_url(url)} failed: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        ) from None


def mask_url(url: str) -> str:
    """The URL without its password, for manifests and messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def recover_orphans(study: optuna.Study) -> list[int]:
    """Fail trials left RUNNING by a process that died and queue their parameters again.

    Only for journal storage, whose lock guarantees no other search runs in the folder.
    Returns the numbers of the recovered trials.
    """
    storage = study._storage
    recovered = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(t._trial_id, "fail_reason", "interrupted (process ended)")
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        user_attrs = {"retry_of": t.number}
        if SEED in t.user_attrs:
            user_attrs[SEED] = t.user_attrs[SEED]
        if t.params:
            study.enqueue_trial(t.params, user_attrs=user_attrs)
        recovered.append(t.number)
    return recovered
