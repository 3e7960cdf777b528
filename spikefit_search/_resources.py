"""Locate the shipped data folders (search spaces, hardware profiles).

In a wheel they live in ``spikefit_search/_data/``; in a source checkout (editable install or
tests) they sit at the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the shipped folder ``name`` (``search_spaces`` or ``hardware_profiles``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {name!r} is missing from the installation")


def list_yaml(name: str) -> dict[str, Path]:
    """Map the stem of every ``*.yaml`` in a shipped folder to its path."""
    return {p.stem: p for p in sorted(data_dir(name).glob("*.yaml"))}
