"""Base class and registry of mapping models (how a network is laid out on a chip)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from spikefit_search._registry import Registry

if TYPE_CHECKING:
    from spikefit_search.exceptions import ProfileError
    from spikefit_search.hardware.profile import HardwareProfile
    from spikefit_search.hardware.result import ConstraintUsage
    from spikefit_search.hardware.usage import LayerUsage
    from spikefit_search.snn.config import NetworkConfig

ErrorFactory = Callable[[str, str], "ProfileError"]
"""``error(field, reason)`` builds the one-line profile error naming the file."""


class BaseMappingModel(ABC):
    """Checks the resources a chip's layout needs beyond the profile's plain limits.

    A model is built from the profile's ``mapping`` block (:meth:`from_params`) and always
    reports the same :meth:`constraint_names`, whatever the network.
    """

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_params(cls, params: Mapping[str, Any], error: ErrorFactory) -> BaseMappingModel:
        """Validate the model's parameters; raise ``error(field, reason)`` on a bad one."""

    @abstractmethod
    def constraint_names(self, profile: HardwareProfile) -> tuple[str, ...]:
        """Names of the constraints :meth:`evaluate` reports for ``profile``."""

    @abstractmethod
    def evaluate(
        self,
        profile: HardwareProfile,
        layers: Sequence[LayerUsage],
        network: NetworkConfig,
    ) -> tuple[list[ConstraintUsage], dict[str, object]]:
        """Every model-specific constraint usage, plus details (e.g. a core placement)."""

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """The parameters, for ``spikefit-search devices NAME``."""


MappingModel = BaseMappingModel
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
