"""One exception root for everything spikefit-search refuses to do.

The CLI turns any :class:`SpikefitError` into one red line and a non-zero exit. Messages follow
the rule "what is required, but got what".
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class SpikefitError(Exception):
    """Root of every error spikefit-search raises on purpose."""


class ConfigError(SpikefitError, ValueError):
    """An argument or configuration value breaks a rule."""


class UnknownNameError(SpikefitError, KeyError):
    """A name that is not in a registry (device, dataset, surrogate, sampler, ...)."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        super().__init__(f"{kind} must be one of {', '.join(self.known)}, but got {name!r}.")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DataError(SpikefitError):
    """A dataset is missing or malformed."""


class ProfileError(SpikefitError):
    """A hardware profile file is missing or breaks a rule."""

    def __init__(self, path: str | Path, field: str, reason: str) -> None:
        self.path = str(path)
        self.field = field
        self.reason = reason
        where = f"field {field}" if field else "file"
        super().__init__(f"Profile {self.path}: {where} {reason}")


class SearchSpaceError(SpikefitError):
    """A search space file is missing or malformed."""

    def __init__(self, path: str | Path, key: str, reason: str) -> None:
        self.path = str(path)
        self.key = key
        where = f"key {key}" if key else "file"
        super().__init__(f"Search space {self.path}: {where} {reason}")


class RunError(SpikefitError):
    """A run folder is missing, not a run, or cannot be written."""


class TrialFailedError(SpikefitError):
    """A training run could not finish (NaN loss, out of memory, ...)."""
