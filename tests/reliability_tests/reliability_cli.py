"""Run the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REAPER = Path(__file__).with_name("reaper.py")


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(COLUMNS="200", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return env


def run_cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spikefit_search", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
    )


def start_cli(*args: str, cwd: Path, new_session: bool = False) -> subprocess.Popen[str]:
    """The CLI in the background; with ``new_session`` it leads its own process group (its pid
    is the group's id), so that every process it starts can be found even after it died."""
    return subprocess.Popen(
        [sys.executable, "-m", "spikefit_search", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=new_session,
    )


def start_reaped_cli(*args: str, cwd: Path, report: Path) -> tuple[subprocess.Popen[str], int]:
    """The CLI in the background below ``reaper.py``, which writes to ``report`` the processes
    the CLI left behind when it ended. Returns the reaper and the CLI's pid (to signal)."""
    proc = subprocess.Popen(
        [sys.executable, str(REAPER), str(report), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    pid_file = Path(f"{report}.pid")
    deadline = time.time() + 60
    while not pid_file.is_file() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    return proc, int(pid_file.read_text())


def process_group(pgid: int) -> list[str]:
    """``pid state command`` of every live process in group ``pgid``, from ``/proc``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")[:120]
        except OSError:  # ended meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(f"{stat.parent.name} {fields[0]} {command.decode(errors='replace')}")
    return found
