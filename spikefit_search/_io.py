"""Files written atomically: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` so that ``path`` is either the old file or the whole new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
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
