"""A journal cut by a crash or a full disk: the damaged tail is set aside (never deleted) and the
search resumes with every complete record; damage in the middle is refused in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import optuna
import pytest
from reliability_cli import run_cli

from spikefit_search.search import count_trials
from spikefit_search.search.storage import open_storage

STUDY = "loihi-tiny-digits"


def args(space: Path, out: Path, budget: int) -> list[str]:
    return [
        "--device", "loihi", "--budget", str(budget), "--space", str(space), "--out", str(out),
        "--limit-train", "300", "--accelerator", "cpu", "--seed", "3",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run folder with one trained trial, and the space it was searched with."""
    root = tmp_path_factory.mktemp("journal")
    space = root / "tiny.yaml"
    space.write_text(
        "network: {kind: mlp, timesteps: 2}\nparams:\n  n_values: {choices: [3]}\n"
        "  bits: {choices: [4]}\n  width: {low: 8, high: 24}\n"
        "training: {warmup_epochs: 2, finetune_epochs: 1, batch_size: 32}\n"
    )
    proc = run_cli(*args(space, root / "runs", 1), cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root / "runs" / STUDY, space


def copy_run(finished: tuple[Path, Path], tmp: Path) -> tuple[Path, Path]:
    run, space = finished
    out = tmp / "runs"
    shutil.copytree(run, out / STUDY)
    return out, space


def records(run: Path) -> list[bytes]:
    return (run / "study.journal").read_bytes().splitlines(keepends=True)


DAMAGE = {
    "cut-tail": lambda data: data[:-40],
    "garbage-tail": lambda data: data + b"\x8f#garbage{not json\n",
    "nul-tail": lambda data: data + b"\x00" * 512,
    "cut-then-nul": lambda data: data[:-25] + b"\x00" * 100,
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_tail_is_set_aside_and_search_resumes(
    finished: tuple[Path, Path], tmp_path: Path, damage: str
) -> None:
    out, space = copy_run(finished, tmp_path)
    run = out / STUDY
    journal = run / "study.journal"
    whole = journal.read_bytes()
    damaged = DAMAGE[damage](whole)
    journal.write_bytes(damaged)
    kept = damaged[: damaged.rfind(b"}\n") + 2]

    proc = run_cli(*args(space, out, 1), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "set aside in study.journal.damaged-" in proc.stdout
    (side,) = run.glob("study.journal.damaged-*")
    assert kept + side.read_bytes() == damaged  # nothing lost: journal head + side file
    assert journal.read_bytes().startswith(kept)
    study = optuna.load_study(study_name=STUDY, storage=open_storage(run, None))
    c = count_trials(study.get_trials())
    assert c["budget_used"] == 1 and c["running"] == 0


def test_record_cut_only_before_its_newline_is_kept(
    finished: tuple[Path, Path], tmp_path: Path
) -> None:
    out, space = copy_run(finished, tmp_path)
    journal = out / STUDY / "study.journal"
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-1])
    proc = run_cli(*args(space, out, 1), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert journal.read_bytes().startswith(whole)  # completed, then appended to
    assert not list((out / STUDY).glob("study.journal.damaged-*"))


@pytest.mark.parametrize("command", ["search", "report"])
def test_damage_in_the_middle_is_refused_in_one_line(
    finished: tuple[Path, Path], tmp_path: Path, command: str
) -> None:
    out, space = copy_run(finished, tmp_path)
    run = out / STUDY
    lines = records(run)
    damaged = b"".join([*lines[:3], b"{oops\n", *lines[3:]])
    (run / "study.journal").write_bytes(damaged)
    before = sorted(p.name for p in run.iterdir())
    argv = args(space, out, 2) if command == "search" else ["report", str(run)]
    proc = run_cli(*argv, cwd=tmp_path)
    assert proc.returncode == 1
    lines_err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines_err) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "line 4 is damaged" in lines_err[0] and "head -n 3" in lines_err[0]
    assert (run / "study.journal").read_bytes() == damaged
    assert sorted(p.name for p in run.iterdir()) == before


def _mount_tmpfs(where: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.mark.slow
def test_full_disk_then_resume(finished: tuple[Path, Path], tmp_path: Path) -> None:
    """A real full disk: a small tmpfs filled up while the search writes, then space freed."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("mounting a tmpfs needs root and a kernel that allows it")
    try:
        out, space = copy_run(finished, disk)
        run = out / STUDY
        filler = disk / "filler"
        with open(filler, "wb") as f:  # leave ~2 KB: the next records do not fit
            free = shutil.disk_usage(disk).free
            f.write(b"\0" * max(0, free - 2048))
        full = run_cli(*args(space, out, 3), cwd=tmp_path)
        assert full.returncode != 0
        err = [line for line in full.stderr.splitlines() if line.strip()]
        assert len(err) == 1 and "Traceback" not in full.stderr, full.stderr
        assert "No space left on device" in err[0]
        filler.unlink()
        again = run_cli(*args(space, out, 3), cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        study = optuna.load_study(study_name=STUDY, storage=open_storage(run, None))
        c = count_trials(study.get_trials())
        assert c["budget_used"] == 3 and c["running"] == 0 and c["queued"] == 0
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True)


REC = b'{"op_code":0,"worker_id":"w","study_name":"s","directions":[1]}\n'


@pytest.mark.parametrize(
    ("data", "kept", "refused"),
    [
        (b"", b"", None),
        (REC * 2, REC * 2, None),
        (REC.replace(b"\n", b"\r\n") * 2, REC.replace(b"\n", b"\r\n") * 2, None),
        (REC * 2 + REC[:-1], REC * 3, None),
        (REC * 2 + REC[:20], REC * 2, None),
        (REC + b"\n" + REC, None, "line 2 is damaged"),
        (b"\x00" * 50, None, "holds none in its 50 bytes"),
    ],
    ids=["empty", "whole", "crlf", "lost-newline", "cut", "blank-middle", "only-nul"],
)
def test_check_journal(
    tmp_path: Path, data: bytes, kept: bytes | None, refused: str | None
) -> None:
    from spikefit_search.exceptions import RunError
    from spikefit_search.search.storage import check_journal

    path = tmp_path / "study.journal"
    path.write_bytes(data)
    if refused is not None:
        with pytest.raises(RunError, match=refused):
            check_journal(path, repair=True)
        assert path.read_bytes() == data
        return
    check_journal(path, repair=True)
    assert path.read_bytes() == kept
    side = b"".join(p.read_bytes() for p in tmp_path.glob("study.journal.damaged-*"))
    assert kept + side == data or kept == data[: len(kept) - 1] + b"\n"
