"""SynSense Xylo (Xylo Audio 2, Xylo IMU): profiles ``xylo-audio2`` and ``xylo-imu``.

* limits: ``hardware_profiles/xylo-audio2.yaml``, ``xylo-imu.yaml``;
* mapping: the per-core limits model (``budget``), with the totals and the input / output
  projections of the profile;
* neuron: ``xylo`` in :mod:`spikefit_search.snn.chip` (bit-shift decays, multi-spike
  subtractive reset, one step's delay per population);
* energy and the ``clock`` constraint: Rockpool's cycles model, :mod:`.cycles`;
* export: ``xylo_spec.npz`` for Rockpool's ``XyloSim.from_specification``, :mod:`.spec`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikefit_search.hardware.chips._family import ChipFamily, Exporter, register
from spikefit_search.hardware.chips.xylo.cycles import XyloCyclesEnergyModel
from spikefit_search.hardware.chips.xylo.spec import save_xylo_specification

if TYPE_CHECKING:
    from spikefit_search.snn.network import SpikingNetwork

XYLO_SPEC_NAME = "xylo_spec.npz"


def _spec_applies(model: SpikingNetwork) -> bool:
    """Chip-exact MLPs: Xylo runs dense layers in one hidden population."""
    return model.chip_exact and model.config.kind == "mlp"


XYLO_SPEC = Exporter(
    file_name=XYLO_SPEC_NAME,
    description="the network in SynSense's own form: the keyword arguments of Rockpool's "
    "XyloSim.from_specification and flush_steps",
    applies=_spec_applies,
    write=save_xylo_specification,
)

XYLO = register(
    ChipFamily(
        name="xylo",
        title="SynSense Xylo",
        mapping_models=("budget",),
        energy_models=(XyloCyclesEnergyModel.name,),
        neurons=("xylo",),
        exporters=(XYLO_SPEC,),
    )
)
