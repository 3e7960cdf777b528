"""Hardware profiles, exact constraint checks and an energy model for neuromorphic chips.

Example:
    >>> from spikefit_search.hardware import load_profile, static_check
    >>> from spikefit_search.snn import NetworkConfig
    >>> result = static_check(load_profile("xylo-audio2"), NetworkConfig(), n_values=16, bits=8)
    >>> sorted(result.margins())[:3]
    ['fan_out', 'inputs', 'layer_type']
"""

from __future__ import annotations

from spikefit_search.hardware.checks import (
    constraint_names,
    fan_in_cap,
    measured_check,
    static_check,
)
from spikefit_search.hardware.chips import CHIPS, ChipFamily, chip_family
from spikefit_search.hardware.chips.speck import (
    SpeckCoresMappingModel,
    SpeckMemory,
    match_cores,
    speck_layer_memory,
)
from spikefit_search.hardware.chips.truenorth import CrossbarMappingModel
from spikefit_search.hardware.energy import (
    OBJECTIVES,
    EnergyReport,
    Objective,
    check_objective,
    estimate_energy,
    get_objective,
    inference_window,
)
from spikefit_search.hardware.loader import (
    list_profiles,
    load_profile,
    parse_profile,
    resolve_profile_path,
)
from spikefit_search.hardware.mapping import (
    MAPPING_MODELS,
    BaseMappingModel,
    CoreLimitsMappingModel,
)
from spikefit_search.hardware.profile import (
    EnergyConstants,
    HardwareProfile,
    Sourced,
    UniqueWeights,
)
from spikefit_search.hardware.result import CheckResult, ConstraintUsage
from spikefit_search.hardware.usage import LayerUsage, layer_bits

__all__ = [
    "CHIPS",
    "MAPPING_MODELS",
    "OBJECTIVES",
    "BaseMappingModel",
    "CheckResult",
    "ChipFamily",
    "ConstraintUsage",
    "CoreLimitsMappingModel",
    "CrossbarMappingModel",
    "EnergyConstants",
    "EnergyReport",
    "HardwareProfile",
    "LayerUsage",
    "Objective",
    "Sourced",
    "SpeckCoresMappingModel",
    "SpeckMemory",
    "UniqueWeights",
    "check_objective",
    "chip_family",
    "constraint_names",
    "estimate_energy",
    "fan_in_cap",
    "get_objective",
    "inference_window",
    "layer_bits",
    "list_profiles",
    "load_profile",
    "match_cores",
    "measured_check",
    "parse_profile",
    "resolve_profile_path",
    "speck_layer_memory",
    "static_check",
]
