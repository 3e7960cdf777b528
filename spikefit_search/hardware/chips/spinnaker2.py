"""SpiNNaker 2 (profile ``spinnaker2``).

Limits: ``hardware_profiles/spinnaker2.yaml`` (its symmetric 5-bit grid is
``weights.symmetric``); mapping: the per-core limits model (``budget``); no chip neuron;
energy: the ``events`` model.
"""

from __future__ import annotations

from spikefit_search.hardware.chips._family import ChipFamily, register

SPINNAKER2 = register(
    ChipFamily(
        name="spinnaker2",
        title="SpiNNaker 2",
        mapping_models=("budget",),
        energy_models=("events",),
        neurons=(),
    )
)
