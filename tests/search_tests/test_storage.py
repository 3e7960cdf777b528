"""Opening an RDB storage: the race of workers creating Optuna's tables at once is retried, and
a refusal names its real cause (a bad URL, an unreachable server, refused credentials)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc

from spikefit_search.exceptions import RunError
from spikefit_search.search import storage
from spikefit_search.search.storage import is_setup_race, open_storage, storage_error

URL = "postgresql+psycopg://spikefit:secret@db-host:5432/spikefit"


class _DriverError(Exception):
    """Stands in for the driver's exception that SQLAlchemy wraps (its text is a real one)."""


def _wrapped(cls: type[sqlalchemy.exc.DBAPIError], text: str) -> sqlalchemy.exc.DBAPIError:
    return cls("SELECT 1", {}, _DriverError(text))


RACE = _wrapped(
    sqlalchemy.exc.IntegrityError,
    'duplicate key value violates unique constraint "pg_type_typname_nsp_index"',
)
REFUSED = _wrapped(
    sqlalchemy.exc.OperationalError,
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
    'password authentication failed for user "spikefit"',
)


def test_the_table_creation_race_is_recognised() -> None:
    assert is_setup_race(RACE)
    assert is_setup_race(
        _wrapped(sqlalchemy.exc.ProgrammingError, 'type "studydirection" already exists')
    )
    assert not is_setup_race(REFUSED)


def test_credentials_refused_are_named_without_the_password() -> None:
    message = storage_error(URL, REFUSED)
    assert message.startswith("--storage must carry credentials the database accepts, but ")
    assert "password authentication failed" in message
    assert "secret" not in message and "spikefit:***@db-host" in message


def test_an_unparsable_url_is_named_as_such() -> None:
    with pytest.raises(RunError, match=r"must be an SQLAlchemy database URL .* but got not-a-url"):
        open_storage(Path("."), "not-a-url")


def test_another_error_shows_its_class_and_first_line() -> None:
    exc = _wrapped(sqlalchemy.exc.OperationalError, 'database "nodb" does not exist\nmore')
    message = storage_error(URL, exc)
    assert message.startswith("--storage must be a usable Optuna RDB URL, but ")
    assert message.endswith('_DriverError) database "nodb" does not exist')
    assert "reach" not in message


def test_a_refused_connection_is_named_unreachable() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(RunError) as info:  # nothing listens on port 1
        open_storage(Path("."), "postgresql+psycopg://spikefit:secret@127.0.0.1:1/spikefit")
    message = str(info.value)
    assert message.startswith("--storage must name a database server that can be reached")
    assert "Connection refused" in message and "secret" not in message


def _failing(errors: list[Exception], calls: list[int]) -> Any:
    def rdb(url: str) -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "storage"

    return rdb


def test_the_race_is_retried_until_the_tables_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(storage, "_rdb", _failing([RACE, RACE], calls))
    monkeypatch.setattr(storage.time, "sleep", lambda s: None)
    assert open_storage(Path("."), "sqlite:///unused.db") == "storage"
    assert len(calls) == 3


def test_a_race_that_never_ends_is_reported_after_bounded_tries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(storage, "_rdb", _failing([RACE] * 10, calls))
    monkeypatch.setattr(storage.time, "sleep", lambda s: None)
    with pytest.raises(RunError, match=r"still failed after 5 tries while other workers"):
        open_storage(Path("."), "sqlite:///unused.db")
    assert len(calls) == storage.SETUP_TRIES == 5


def test_other_errors_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(storage, "_rdb", _failing([REFUSED, REFUSED], calls))
    with pytest.raises(RunError, match="must carry credentials"):
        open_storage(Path("."), "sqlite:///unused.db")
    assert len(calls) == 1
