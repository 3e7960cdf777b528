"""Ctrl-C and kill -9 in the middle of a search lose no finished trial, and the same command
again finishes the budget exactly."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from reliability_cli import process_group, run_cli, start_cli, start_reaped_cli

from spikefit_search.search import count_trials
from spikefit_search.search.storage import _scan_journal, open_storage

STUDY = "loihi-tiny-digits"


def args(space: Path, out: Path, budget: int) -> list[str]:
    return [
        "--device",
        "loihi",
        "--budget",
        str(budget),
        "--space",
        str(space),
        "--out",
        str(out),
        "--limit-train",
        "600",
        "--accelerator",
        "cpu",
        "--seed",
        "5",
    ]


def wait_for_trained(run: Path, n: int, timeout: float = 180, *, need_running: bool = True) -> None:
    """Wait until the journal holds ``n`` trained trials (and one more is being trained)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (run / "study.journal").exists():
            try:
                study = optuna.load_study(study_name=STUDY, storage=open_storage(run, None))
            except KeyError:  # the journal exists a moment before the study's first record
                time.sleep(0.2)
                continue
            trials = study.get_trials(deepcopy=False)
            c = count_trials(trials)
            training = [
                t for t in trials if t.state == TrialState.RUNNING and t.user_attrs.get("reserved")
            ]
            if c["budget_used"] >= n and (training or not need_running):
                return
        time.sleep(0.2)
    raise AssertionError(f"no {n} trained trials within {timeout} s")


def study_of(run: Path) -> optuna.Study:
    return optuna.load_study(study_name=STUDY, storage=open_storage(run, None))


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "sigterm", "kill-9"]
)
def test_interrupted_search_resumes_to_exact_budget(
    tmp_path: Path, tiny_space: Path, sig: int
) -> None:
    out = tmp_path / "runs"
    run = out / STUDY
    proc = start_cli(*args(tiny_space, out, budget=4), cwd=tmp_path)
    try:
        wait_for_trained(run, 1)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    if sig in (signal.SIGINT, signal.SIGTERM):
        assert proc.returncode == 128 + sig  # 130 after Ctrl-C, 143 after SIGTERM
        assert "resume with: spikefit-search" in stderr and "Traceback" not in stderr
        frame = pd.read_csv(run / "trials.csv")  # tables rewritten on the way out
        assert (frame["stage"] == "trained").sum() >= 1
    else:
        assert proc.returncode == -signal.SIGKILL
    before = study_of(run).get_trials()
    kept = {t.number for t in before if t.user_attrs.get("stage") == "trained"}
    assert kept

    again = run_cli(*args(tiny_space, out, budget=4), cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    trials = study_of(run).get_trials()
    c = count_trials(trials)
    assert c["budget_used"] == 4 and c["running"] == 0 and c["queued"] == 0
    assert kept <= {t.number for t in trials if t.user_attrs.get("stage") == "trained"}
    failed = [t for t in trials if t.state == TrialState.FAIL]
    # kill -9 always leaves the trial it was training; Ctrl-C is taken between batches, so it
    # may also land after training, when the trial simply finishes first.
    assert len(failed) == 1 if sig == signal.SIGKILL else len(failed) <= 1
    name = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}.get(sig, "process ended")
    for dead in failed:
        assert dead.user_attrs["fail_reason"] == f"interrupted ({name})"
        retried = [t for t in trials if t.user_attrs.get("retry_of") == dead.number]
        assert len(retried) == 1 and retried[0].params == dead.params
        assert retried[0].user_attrs["seed"] == dead.user_attrs["seed"]
    frame = pd.read_csv(run / "trials.csv")
    assert len(frame) == len(trials)


@pytest.mark.slow
def test_report_during_a_running_search_does_not_disturb_it(
    tmp_path: Path, tiny_space: Path
) -> None:
    out = tmp_path / "runs"
    run = out / STUDY
    proc = start_cli(*args(tiny_space, out, budget=6), cwd=tmp_path)
    try:
        wait_for_trained(run, 1, need_running=False)
        report = run_cli("report", str(run), cwd=tmp_path, timeout=120)
        assert report.returncode == 0, report.stderr
        assert (run / "pareto.png").stat().st_size > 1000
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    trials = study_of(run).get_trials()
    c = count_trials(trials)
    assert c["budget_used"] == 6 and c["failed"] == 0 and c["running"] == 0


def wait_for_training(run: Path, n: int, timeout: float = 180) -> None:
    """Wait until ``n`` trials are being trained at once (each worker is inside a trial)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(KeyError, FileNotFoundError):  # no study record yet
            trials = study_of(run).get_trials(deepcopy=False)
            training = [
                t for t in trials if t.state == TrialState.RUNNING and t.user_attrs.get("reserved")
            ]
            if len(training) >= n:
                return
        time.sleep(0.2)
    raise AssertionError(f"never {n} trials in training at once within {timeout} s")


def assert_journal_whole(run: Path) -> None:
    records, good_end, bad_line = _scan_journal(run / "study.journal")
    assert bad_line is None and good_end == (run / "study.journal").stat().st_size, records
    assert not (run / "study.journal.lock").exists()


def resume_to_exact_budget(tmp_path: Path, space: Path, out: Path, budget: int) -> None:
    again = run_cli(*args(space, out, budget), "--workers", "2", cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    c = count_trials(study_of(out / STUDY).get_trials())
    assert c["budget_used"] == budget and c["running"] == 0 and c["queued"] == 0


needs_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc and uses Linux's prctl"
)


@pytest.mark.slow
@needs_proc
@pytest.mark.parametrize(
    ("sig", "to_group", "name"),
    [
        (signal.SIGTERM, False, "SIGTERM"),  # a scheduler, `timeout`, `kill`
        (signal.SIGHUP, False, "SIGHUP"),  # the terminal went away
        (signal.SIGINT, True, "Ctrl-C"),  # the terminal signals every process of the job
    ],
    ids=["sigterm", "sighup", "ctrl-c-to-group"],
)
def test_a_signalled_multi_worker_search_leaves_no_process(
    tmp_path: Path, tiny_space: Path, sig: int, to_group: bool, name: str
) -> None:
    out = tmp_path / "runs"
    run = out / STUDY
    budget = 3
    report = tmp_path / "left.json"
    reaper, pid = start_reaped_cli(
        *args(tiny_space, out, budget), "--workers", "2", cwd=tmp_path, report=report
    )
    try:
        wait_for_training(run, 2)
        assert len(process_group(pid)) >= 3  # the search and its two workers
        if to_group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
        _, stderr = reaper.communicate(timeout=180)
        group = process_group(pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        if reaper.poll() is None:
            reaper.kill()
    assert reaper.returncode == 0, stderr
    result = json.loads(report.read_text())
    assert result["returncode"] == 128 + sig, stderr
    assert result["left"] == []  # no worker, no helper process outlived the search
    assert group == []
    assert f"interrupted ({name}): every finished trial is kept; resume with:" in stderr
    assert "Traceback" not in stderr
    trials = study_of(run).get_trials()
    c = count_trials(trials)
    assert c["running"] == 0 and c["interrupted"] >= 1  # recorded before the parent left
    for t in trials:
        if t.state == TrialState.FAIL:
            assert t.user_attrs["fail_reason"] == f"interrupted ({name})"
    assert_journal_whole(run)
    resume_to_exact_budget(tmp_path, tiny_space, out, budget)


@pytest.mark.slow
@needs_proc
def test_workers_of_a_killed_search_stop_on_their_own(tmp_path: Path, tiny_space: Path) -> None:
    out = tmp_path / "runs"
    run = out / STUDY
    budget = 3
    proc = start_cli(
        *args(tiny_space, out, budget), "--workers", "2", cwd=tmp_path, new_session=True
    )
    try:
        wait_for_training(run, 2)  # nothing trained yet, two trials in training
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.time() + 120  # a bound for a hang, not a timing: they stop in seconds
        while process_group(proc.pid) and time.time() < deadline:
            time.sleep(0.2)
        left = process_group(proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert left == []
    trials = study_of(run).get_trials()
    c = count_trials(trials)
    # orphans that trained on would have finished the budget; these abandoned their trials
    assert c["running"] == 0 and c["budget_used"] < budget and c["interrupted"] >= 1
    for t in trials:
        if t.state == TrialState.FAIL:
            assert t.user_attrs["fail_reason"] == "interrupted (search process ended)"
    assert_journal_whole(run)
    resume_to_exact_budget(tmp_path, tiny_space, out, budget)


@pytest.mark.slow
def test_repeated_ctrl_c_exits_130_without_traceback(tmp_path: Path, tiny_space: Path) -> None:
    out = tmp_path / "runs"
    run = out / STUDY
    proc = start_cli(*args(tiny_space, out, budget=4), cwd=tmp_path)
    try:
        wait_for_trained(run, 1)
        for _ in range(3):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.02)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    again = run_cli(*args(tiny_space, out, budget=4), cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    c = count_trials(study_of(run).get_trials())
    assert c["budget_used"] == 4 and c["running"] == 0
