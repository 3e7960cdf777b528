"""Intel Loihi and Loihi 2 (profiles ``loihi``, ``loihi2``).

Limits: ``hardware_profiles/loihi.yaml``, ``loihi2.yaml``; mapping: the per-core limits model
(``budget``: cores, input and output axons, synapse memory in nengo-loihi's encoding,
:mod:`spikefit_search.hardware.mapping.synapse_memory`); neuron: ``loihi`` in
:mod:`spikefit_search.snn.chip` (Lava's bit-accurate LIF); energy: the ``events`` model.
"""

from __future__ import annotations

from spikefit_search.hardware.chips._family import ChipFamily, register

LOIHI = register(
    ChipFamily(
        name="loihi",
        title="Intel Loihi, Loihi 2",
        mapping_models=("budget",),
        energy_models=("events",),
        neurons=("loihi",),
    )
)
