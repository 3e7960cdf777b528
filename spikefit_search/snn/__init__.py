"""Spiking-network core: LIF neurons, surrogate gradients, encoders, networks from a config.

Attributes are imported on first use, so that reading a config (``NetworkConfig``) does not
import torch: ``spikefit-search check`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikefit_search._lazy import lazy_attributes

if TYPE_CHECKING:
    from spikefit_search.snn.config import LayerSpec, NetworkConfig
    from spikefit_search.snn.encoding import (
        ENCODERS,
        direct_encode,
        encode,
        events_encode,
        rate_encode,
        reduce_input,
    )
    from spikefit_search.snn.functional import (
        LIFParameters,
        LIFState,
        leaky_readout,
        leaky_readout_stepwise,
        lif_multistep,
        lif_recurrent,
        lif_recurrent_stepwise,
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
    "events_encode",
    "leaky_readout",
    "leaky_readout_stepwise",
    "lif_multistep",
    "lif_recurrent",
    "lif_recurrent_stepwise",
    "lif_step",
    "rate_encode",
    "reduce_input",
    "spike",
]


_MODULES = {
    "LayerSpec": "config",
    "NetworkConfig": "config",
    "ENCODERS": "encoding",
    "direct_encode": "encoding",
    "encode": "encoding",
    "events_encode": "encoding",
    "reduce_input": "encoding",
    "rate_encode": "encoding",
    "LIFParameters": "functional",
    "LIFState": "functional",
    "leaky_readout": "functional",
    "leaky_readout_stepwise": "functional",
    "lif_multistep": "functional",
    "lif_recurrent": "functional",
    "lif_recurrent_stepwise": "functional",
    "lif_step": "functional",
    "Activity": "network",
    "ForwardResult": "network",
    "LayerActivity": "network",
    "SpikingNetwork": "network",
    "SynapticLayer": "network",
    "build_network": "network",
    "SURROGATES": "surrogates",
    "ArcTan": "surrogates",
    "FastSigmoid": "surrogates",
    "Surrogate": "surrogates",
    "spike": "surrogates",
}


__getattr__ = lazy_attributes(__name__, _MODULES, globals())
