"""Optuna storage of a run: a journal file in the run folder, or any RDB URL (PostgreSQL)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import FrozenTrial, TrialState

from spikefit_search.exceptions import RunError
from spikefit_search.search._optuna import set_state, set_user_attr
from spikefit_search.search.halving import carried_attrs
from spikefit_search.search.stages import FAIL_REASON, RETRY_OF, SEED, STAGE, Stage

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
    for attempt in range(1, SETUP_TRIES + 1):
        try:
            with warnings.catch_warnings():  # experimental-feature notes: not the user's concern
                warnings.simplefilter("ignore")
                with schema_lock(url):
                    return _rdb(url)
        except Exception as exc:  # SQLAlchemy and the drivers raise many kinds
            if not is_setup_race(exc) or attempt == SETUP_TRIES:
                raise RunError(storage_error(url, exc, tries=attempt)) from None
            time.sleep(0.2 * attempt)  # another worker is creating the tables: look again
    raise AssertionError("unreachable")  # the loop returns or raises


SETUP_TRIES = 5
"""Attempts at opening an RDB storage while other workers create Optuna's tables at once."""

SCHEMA_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"spikefit-search: optuna schema").digest()[:8], "big", signed=True
)
"""The PostgreSQL advisory lock (one per database) held while Optuna's tables are created."""

SCHEMA_LOCK_TIMEOUT = "60s"
"""How long a worker waits for another worker's table creation before it reports it."""


@contextlib.contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while the body runs (other databases: nothing).

    Optuna creates its tables with ``CREATE TABLE`` after looking whether they exist; workers
    started together on an empty database race between the two and all but one fail with a
    duplicate key or "already exists" (optuna/optuna#1092). Under the lock the first worker
    creates the schema and the others find it made.
    """
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    if sqlalchemy.engine.make_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f"SET lock_timeout = '{SCHEMA_LOCK_TIMEOUT}'"))
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            conn.commit()  # the lock belongs to the connection, not to a transaction
            try:
                yield
            finally:
                with contextlib.suppress(Exception):  # closing the connection frees it anyway
                    conn.execute(
                        sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY}
                    )
                    conn.commit()
    finally:
        engine.dispose()


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, the driver's exception SQLAlchemy wraps, and their causes."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return seen


RACE_CLASSES = {"IntegrityError", "UniqueViolation", "DuplicateObject", "DuplicateTable"}
RACE_WORDS = ("already exists", "duplicate key")


def is_setup_race(exc: BaseException) -> bool:
    """Whether ``exc`` is another worker creating the same table or row at the same time."""
    chain = _chain(exc)
    return any(type(e).__name__ in RACE_CLASSES for e in chain) or any(
        w in str(e).lower() for e in chain for w in RACE_WORDS
    )


UNREACHABLE = (
    "connection refused",
    "could not translate host name",
    "failed to resolve host",
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no route to host",
    "network is unreachable",
    "timeout expired",
    "timed out",
    "can't connect to",
    "unknown mysql server host",
)
REFUSED = (
    "authentication failed",
    "no password supplied",
    "password authentication",
    "access denied for user",
)


def storage_error(url: str, exc: BaseException, *, tries: int = 1) -> str:
    """One line naming why the RDB at ``url`` cannot be used: a malformed URL, a server that
    cannot be reached, credentials it refuses, tables other workers kept creating, or else the
    exception's class and first line."""
    shown = mask_url(url)
    first = (str(exc).splitlines() or [""])[0][:200]
    detail = f"{type(exc).__name__}: {first}"
    text = " ".join(str(e) for e in _chain(exc)).lower()
    name = type(exc).__name__
    if name == "ArgumentError" or "could not parse" in text:
        return (
            "--storage must be an SQLAlchemy database URL such as "
            f"postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE, but got {shown}."
        )
    if name == "NoSuchModuleError":
        return (
            "--storage must name a database kind SQLAlchemy knows (postgresql+psycopg, mysql, "
            f"sqlite, ...), but got {shown}: {detail}"
        )
    if isinstance(exc, ImportError):
        return (
            "--storage needs the driver of its database installed (PostgreSQL: pip install "
            f"'spikefit-search[postgres]'), but {shown} failed: {detail}"
        )
    if any(w in text for w in REFUSED) or ('role "' in text and "does not exist" in text):
        return (
            f"--storage must carry credentials the database accepts, but {shown} refused them: "
            f"{detail}"
        )
    if any(w in text for w in UNREACHABLE):
        return (
            "--storage must name a database server that can be reached from here, but "
            f"{shown} could not be reached (is the server running, are host and port right?): "
            f"{detail}"
        )
    if is_setup_race(exc):
        return (
            f"--storage must let this worker set up Optuna's tables, but {shown} still failed "
            f"after {tries} tries while other workers set them up at the same time: {detail}"
        )
    return f"--storage must be a usable Optuna RDB URL, but {shown} failed: {detail}"


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


def recover_orphans(
    study: optuna.Study,
    *,
    reason: str = "interrupted (process ended)",
    only: Callable[[FrozenTrial], bool] | None = None,
) -> list[int]:
    """Fail trials left RUNNING by a process that died and queue their parameters again.

    Only for trials no live process runs: with journal storage the run lock guarantees that
    no other search runs in the folder; elsewhere ``only`` picks the trials of the workers
    that are known dead. Returns the numbers of the recovered trials.
    """
    recovered = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if only is not None and not only(t):
            continue
        set_user_attr(study, t, FAIL_REASON, reason)
        set_user_attr(study, t, STAGE, Stage.FAILED.value)
        set_state(study, t, TrialState.FAIL)
        user_attrs = {RETRY_OF: t.number, **carried_attrs(t.user_attrs)}
        if SEED in t.user_attrs:
            user_attrs[SEED] = t.user_attrs[SEED]
        if t.params:
            study.enqueue_trial(t.params, user_attrs=user_attrs)
        recovered.append(t.number)
    return recovered


def release_killed_writer(run_dir: Path) -> str | None:
    """Make the journal safe to append to after a process that wrote to it was killed.

    The killed process may have held Optuna's open lock (``study.journal.lock``, which the
    next writer would wait 30 s for) and cut its last record. Only for the search that holds
    the run folder's lock, once none of its workers runs. Returns :func:`check_journal`'s note.
    """
    path = journal_path(run_dir)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(f"{path}.lock")
    return check_journal(path, repair=True)
