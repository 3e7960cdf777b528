"""Optuna storage of a run: a journal file in the run folder, or any RDB URL (PostgreSQL)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import warnings
from datetime import datetime, timezone
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


def _is_record(line: bytes) -> bool:
    """Whether ``line`` (without its newline) is one complete journal record."""
    try:
        record = json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return False
    return isinstance(record, dict) and isinstance(record.get("op_code"), int)


def _scan_journal(path: Path) -> tuple[int, int, int | None]:
    """``(records, good_end, bad_line)``: the complete records, the byte offset after the last of
    them (its newline may be missing), and the number (1-based) of a damaged line that complete
    records follow, if any.

    Everything after ``good_end`` is a damaged tail: a cut record, garbage or NUL padding.
    """
    records = good_end = offset = 0
    first_bad: int | None = None
    for number, line in enumerate(path.read_bytes().splitlines(keepends=True), start=1):
        offset += len(line)
        if not _is_record(line.rstrip(b"\r\n")):
            first_bad = first_bad or number
            continue
        if first_bad is not None:
            return records, good_end, first_bad
        records += 1
        good_end = offset
    return records, good_end, None


def check_journal(path: Path, *, repair: bool) -> str | None:
    """Refuse a journal damaged in the middle; with ``repair``, set a damaged tail aside.

    A crash or a full disk can leave the journal's last line cut; Optuna would append the next
    record onto it and the study could never be read again. The damaged tail is moved to a side
    file beside the journal (never deleted) and the journal ends after its last complete record.
    Returns a one-line note of what was set aside, or ``None`` when the journal is whole.

    Raises:
        RunError: a damaged line that complete records follow (no record is dropped silently).
    """
    if not path.is_file():
        return None
    records, good_end, bad_line = _scan_journal(path)
    if bad_line is not None:
        keep = bad_line - 1
        raise RunError(
            f"{path} must hold one JSON record per line, but line {bad_line} is damaged and "
            f"records follow it; to keep the {keep} records before it run: head -n {keep} "
            f"{path} > fixed && mv fixed {path} (or restore the journal from a backup)."
        )
    size = path.stat().st_size
    if records == 0 and size:
        raise RunError(
            f"{path} must hold complete JSON records, but it holds none in its {size} bytes; "
            "restore it from a backup, or use --study NEW_NAME for a new study."
        )
    if not repair or size == 0:
        return None
    if size == good_end:
        with open(path, "r+b") as f:
            f.seek(good_end - 1)
            if f.read(1) != b"\n":  # the last record is whole but lacks its newline
                f.write(b"\n")
                f.flush()
                os.fsync(f.fileno())
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    side = path.with_name(f"{path.name}.damaged-{stamp}")
    with open(path, "r+b") as f:
        f.seek(good_end)
        tail = f.read()
        with open(side, "ab") as s:
            s.write(tail)
            s.flush()
            os.fsync(s.fileno())
        f.truncate(good_end)
        f.flush()
        os.fsync(f.fileno())
    return (
        f"the journal ended in {len(tail)} damaged bytes (a cut or unreadable last record, e.g. "
        f"after a crash or a full disk); set aside in {side.name}, resuming with the "
        f"{records} complete records"
    )


def repair_journal(run_dir: Path) -> str | None:
    """:func:`check_journal` with repair, unless a search holds the run folder's lock (its
    last record may be in the middle of being written)."""
    lock_path = run_dir / ".lock"
    if not lock_path.exists():
        return check_journal(journal_path(run_dir), repair=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return check_journal(journal_path(run_dir), repair=False)
        try:
            return check_journal(journal_path(run_dir), repair=True)
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)


def open_storage(run_dir: Path, url: str | None) -> BaseStorage:
    """The journal file in ``run_dir``, or the RDB at ``url`` with heartbeats so that a dead
    worker's trial is failed and retried.

    A journal damaged in the middle is refused with a one-line :class:`RunError`; a damaged tail
    is left to :func:`repair_journal`, which the search calls before it writes.
    """
    if url is None:
        path = str(journal_path(run_dir))
        check_journal(Path(path), repair=False)
        return JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
    try:
        with warnings.catch_warnings():  # experimental-feature notes: not the user's concern
            warnings.simplefilter("ignore")
            return _rdb(url)
    except Exception as exc:  # SQLAlchemy raises many kinds; all mean "cannot use this URL"
        raise RunError(
            f"--storage must be a reachable Optuna RDB URL, but {mask_url(url)} failed: "
            f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
        ) from None


def _rdb(url: str) -> RDBStorage:
    return RDBStorage(
        url,
        heartbeat_interval=heartbeat_interval(),
        grace_period=grace_period(),
        heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
            max_retry=3
        ),
    )


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
        storage.set_trial_user_attr(t._trial_id, "stage", "failed")
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        user_attrs = {"retry_of": t.number}
        if SEED in t.user_attrs:
            user_attrs[SEED] = t.user_attrs[SEED]
        if t.params:
            study.enqueue_trial(t.params, user_attrs=user_attrs)
        recovered.append(t.number)
    return recovered
