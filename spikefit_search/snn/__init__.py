"""Spiking-network core: LIF neurons, surrogate gradients, encoders, networks from a config."""

from __future__ import annotations

from spikefit_search.snn.config import LayerSpec, NetworkConfig
from spikefit_search.snn.encoding import ENCODERS, direct_encode, encode, rate_encode
from spikefit_search.snn.functional import (
    LIFParameters,
    LIFState,
    leaky_readout,
    leaky_readout_stepwise,
    lif_multistep,
    lif_step,
)
from spikefit_search.snn.network import (
    Activity,
    ForwardResult,
    LayerActivity,
    SpikingNetwork,
    SynapticLayer,
    build_network,
)
from spikefit_search.snn.surrogates import SURROGATES, ArcTan, FastSigmoid, Surrogate, spike

__all__ = [
    "ENCODERS",
    "SURROGATES",
    "Activity",
    "ArcTan",
    "FastSigmoid",
    "ForwardResult",
    "LIFParameters",
    "LIFState",
    "LayerActivity",
    "LayerSpec",
    "NetworkConfig",
    "SpikingNetwork",
    "Surrogate",
    "SynapticLayer",
    "build_network",
    "direct_encode",
    "encode",
    "leaky_readout",
    "leaky_readout_stepwise",
    "lif_multistep",
    "lif_step",
    "rate_encode",
    "spike",
]
