"""Several worker processes share one study in a real PostgreSQL database; a worker killed
mid-trial has its trial failed by its stale heartbeat and retried by another worker.

Needs ``SPIKEFIT_TEST_POSTGRES_URL`` (``.ci/run`` starts a server on loopback and sets it).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from reliability_cli import cli_env, start_cli

from spikefit_search.search import count_trials

URL = os.environ.get("SPIKEFIT_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(URL is None, reason="SPIKEFIT_TEST_POSTGRES_URL is not set"),
]


def worker(  # type: ignore[no-untyped-def]
    space: Path,
    out: Path,
    study: str,
    budget: int,
    cwd: Path,
    *,
    url: str | None = None,
    limit_train: int = 400,
):
    """One ``spikefit-search`` worker on the PostgreSQL study (``url``: the server's by
    default)."""
    return start_cli(
        "--device",
        "loihi",
        "--budget",
        str(budget),
        "--space",
        str(space),
        "--out",
        str(out),
        "--storage",
        str(URL) if url is None else url,
        "--study",
        study,
        "--limit-train",
        str(limit_train),
        "--accelerator",
        "cpu",
        cwd=cwd,
    )


def test_workers_on_postgres_lose_nothing(
    tmp_path: Path, tiny_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPIKEFIT_HEARTBEAT", "1")  # stale after 3 s
    assert cli_env()["SPIKEFIT_HEARTBEAT"] == "1"
    study_name = f"pg-{uuid.uuid4().hex[:8]}"
    budget = 5
    # Worker 0 starts alone; once it trains a candidate, it is killed with SIGKILL.
    victim = worker(tiny_space, tmp_path / "m0", study_name, budget, tmp_path)
    deadline = time.time() + 120
    doomed = None
    while time.time() < deadline and doomed is None:
        time.sleep(0.3)
        try:
            study = optuna.load_study(study_name=study_name, storage=URL)
        except KeyError:
            continue
        running = [
            t
            for t in study.get_trials(deepcopy=False)
            if t.state == TrialState.RUNNING and t.user_attrs.get("reserved")
        ]
        if running:
            doomed = running[0].number
    assert doomed is not None, "worker 0 never started training"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    others = [worker(tiny_space, tmp_path / f"m{i}", study_name, budget, tmp_path) for i in (1, 2)]
    for p in others:
        _, err = p.communicate(timeout=400)
        assert p.returncode == 0, err

    study = optuna.load_study(study_name=study_name, storage=URL)
    trials = study.get_trials()
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    c = count_trials(trials)
    assert c["budget_used"] == budget and c["running"] == 0
    dead = next(t for t in trials if t.number == doomed)
    assert dead.state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == doomed]
    assert len(retries) == 1 and retries[0].params == dead.params
    assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)


ROUNDS = 5
"""Rounds of workers started together on an empty database: the table-creation race struck in
two of three rounds before it was guarded."""


def test_workers_started_together_on_an_empty_database_all_run(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy

    monkeypatch.setenv("SPIKEFIT_HEARTBEAT", "1")  # a worker waiting for the others looks often
    space = request.getfixturevalue("write_tiny_space_fn")(
        tmp_path, warmup_epochs=2, finetune_epochs=1
    )
    engine = sqlalchemy.create_engine(str(URL))
    budget = 3
    for round_ in range(ROUNDS):
        # a fresh schema first on the search path is an empty database to Optuna (the test
        # role need not be allowed to create databases)
        schema = f"race_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
        url = f"{URL}{'&' if '?' in str(URL) else '?'}options=-csearch_path%3D{schema}"
        try:
            procs = [
                worker(
                    space,
                    tmp_path / f"r{round_}-m{i}",
                    "together",
                    budget,
                    tmp_path,
                    url=url,
                    limit_train=200,
                )
                for i in range(3)
            ]
            for p in procs:
                _, err = p.communicate(timeout=400)
                assert p.returncode == 0, f"round {round_}: {err}"
            trials = optuna.load_study(study_name="together", storage=url).get_trials()
            c = count_trials(trials)
            assert c["budget_used"] == budget and c["running"] == 0, f"round {round_}: {c}"
        finally:
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()
