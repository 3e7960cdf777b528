"""Run the CLI below a child subreaper and report every process of it that outlived it.

Usage: ``python reaper.py REPORT ARG...`` (the CLI's arguments); Linux only. The CLI's pid is
written to ``REPORT.pid`` once it started (it leads its own process group); when it has ended,
``REPORT`` holds its return code and the pids of the processes it left behind. The kernel hands
each process whose parent ends to the nearest subreaper, at the moment the parent ends, so the
list is exact whether those processes ended a moment later or run on.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def _children() -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid():
            kids.append(int(stat.parent.name))
    return kids


def main() -> None:
    report, args = Path(sys.argv[1]), sys.argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    cli = subprocess.Popen([sys.executable, "-m", "spikefit_search", *args], start_new_session=True)
    pid_file = Path(f"{report}.pid.tmp")
    pid_file.write_text(str(cli.pid))
    pid_file.replace(f"{report}.pid")
    code = cli.wait()
    left = _children()  # adopted when the CLI ended: still running, or ended since (zombies)
    report.write_text(json.dumps({"returncode": code, "left": left}))


if __name__ == "__main__":
    main()
