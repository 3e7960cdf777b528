"""Mapping models: how a network is laid out on a chip, chosen by a profile's ``mapping.model``.

The models several chip families share live here (``budget``: per-core limits); a model only
one family uses lives in that family's module and registers itself in :data:`MAPPING_MODELS`
too (``speck_cores``: :mod:`spikefit_search.hardware.chips.speck`; ``crossbar``:
:mod:`spikefit_search.hardware.chips.truenorth`).
"""

from __future__ import annotations

from spikefit_search.hardware.mapping._base import MAPPING_MODELS
from spikefit_search.hardware.mapping.core_limits import CoreLimitsMappingModel
from spikefit_search.hardware.profile import BaseMappingModel, MappingModel

__all__ = [
    "MAPPING_MODELS",
    "BaseMappingModel",
    "CoreLimitsMappingModel",
    "MappingModel",
]
