"""Where the outside verifiers live (the NIR readers, Rockpool, NeuroBench): venvs that
``.ci/run`` installs and names in environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def verifier_venv(variable: str, *, fail: str, skip: str) -> Path:
    """The folder ``$variable`` names. Without it the test skips with ``skip``, except under CI,
    which must run it: there it fails with ``fail``."""
    where = os.environ.get(variable)
    if not where:
        if os.environ.get("CI"):
            pytest.fail(fail)
        pytest.skip(skip)
    return Path(where)
