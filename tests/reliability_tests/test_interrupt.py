"""Ctrl-C and kill -9 in the middle of a search lose no finished trial, and the same command
again finishes the budget exactly."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from reliability_cli import run_cli, start_cli

from spikefit_search.search import count_trials
from spikefit_search.search.storage import open_storage

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


def _workers(pid: int) -> list[int]:
    """The spawned worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmdline:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_to_workers_waits_for_them_and_resumes(tmp_path: Path, tiny_space: Path) -> None:
    out = tmp_path / "runs"
    run = out / STUDY
    proc = start_cli(*args(tiny_space, out, budget=4), "--workers", "2", cwd=tmp_path)
    try:
        wait_for_trained(run, 1)
        workers = _workers(proc.pid)
        assert len(workers) == 2
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert not [w for w in workers if _alive(w)]  # no orphan trains on without the lock
    c = count_trials(study_of(run).get_trials())
    assert c["running"] == 0  # every worker recorded its trial before the parent left
    again = run_cli(*args(tiny_space, out, budget=4), cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    c = count_trials(study_of(run).get_trials())
    assert c["budget_used"] == 4 and c["running"] == 0 and c["queued"] == 0


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
