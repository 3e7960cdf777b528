"""Registry of mapping models (how a network is laid out on a chip) and their parameter readers.

The interface every model implements, :class:`~spikefit_search.hardware.profile.BaseMappingModel`,
is declared beside the profile that holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spikefit_search._registry import Registry
from spikefit_search.hardware.profile import BaseMappingModel, ErrorFactory

MAPPING_MODELS: Registry[type[BaseMappingModel]] = Registry("mapping model")


def positive_int(params: Mapping[str, Any], key: str, error: ErrorFactory, prefix: str) -> int:
    """``params[key]`` as a positive integer or a profile error."""
    if key not in params:
        raise error(f"{prefix}{key}", "is required, but it is missing.")
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise error(f"{prefix}{key}", f"must be a positive integer, but got {value!r}.")
    return value


def int_list(
    params: Mapping[str, Any], key: str, error: ErrorFactory, prefix: str
) -> tuple[int, ...]:
    """``params[key]`` as a non-empty list of positive integers or a profile error."""
    value = params.get(key)
    if (
        not isinstance(value, list)
        or not value
        or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in value)
    ):
        raise error(f"{prefix}{key}", f"must be a list of positive integers, but got {value!r}.")
    return tuple(value)
