"""Mapping models: how a network is laid out on a chip, chosen by a profile's ``mapping.model``."""

from __future__ import annotations

from spikefit_search.hardware.mapping._base import MAPPING_MODELS
from spikefit_search.hardware.mapping.core_limits import CoreLimitsMappingModel
from spikefit_search.hardware.mapping.crossbar import CrossbarMappingModel
from spikefit_search.hardware.mapping.speck import (
    SpeckCore,
    SpeckCoresMappingModel,
    SpeckMemory,
    match_cores,
    speck_layer_memory,
)
from spikefit_search.hardware.profile import BaseMappingModel, MappingModel

__all__ = [
    "MAPPING_MODELS",
    "BaseMappingModel",
    "CoreLimitsMappingModel",
    "CrossbarMappingModel",
    "MappingModel",
    "SpeckCore",
    "SpeckCoresMappingModel",
    "SpeckMemory",
    "match_cores",
    "speck_layer_memory",
]
