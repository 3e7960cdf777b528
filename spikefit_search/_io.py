"""Files written atomically: a temporary file in the same folder, then a rename.

The file gets the mode any Unix tool would give a new file (``0666`` less the umask), not the
``0600`` of :func:`tempfile.mkstemp`, so other users of the machine can read a report.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


def _umask() -> int:
    """The process umask: from ``/proc/self/status`` where Linux has it (thread-safe), else by
    setting it and setting it straight back (``os.umask`` has no getter)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` so that ``path`` is either the old file or the whole new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def atomic_write_csv(path: str | Path, frame: pd.DataFrame) -> Path:
    return atomic_write_text(path, frame.to_csv(index=False))


def check_writable_file(path: str | Path, option: str) -> Path:
    """Refuse, before any long step, an output file that could not be written: a folder, or a
    place under a file or a folder without write permission.

    Raises:
        ConfigError: the rule and the path, for ``option`` (``-o``, ``--nir``, ...).
    """
    from spikefit_search.exceptions import ConfigError

    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} must name a file, but {path} is a folder.")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{option} must be a writable place, but {parent} is not a writable folder."
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{option} must be a writable file, but {path} is not.")
    return path
