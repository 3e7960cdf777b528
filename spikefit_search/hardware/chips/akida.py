"""BrainChip Akida AKD1000 (profile ``akida``).

Limits: ``hardware_profiles/akida.yaml``; mapping: the per-core limits model (``budget``,
totals only); no chip neuron; energy: the ``events`` model, with no figure known (a limits-only
profile).
"""

from __future__ import annotations

from spikefit_search.hardware.chips._family import ChipFamily, register

AKIDA = register(
    ChipFamily(
        name="akida",
        title="BrainChip Akida",
        mapping_models=("budget",),
        energy_models=("events",),
        neurons=(),
    )
)
