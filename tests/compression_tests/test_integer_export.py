from __future__ import annotations

import pytest
import torch

from spikefit_search.compression import (
    ClusterQuantizer,
    UniformQuantizer,
    attach_quantizers,
    integer_export,
)
from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import NetworkConfig, SpikingNetwork


@pytest.mark.parametrize("method", ["cat", "kmeans", "uniform"])
@pytest.mark.parametrize("scope", ["layer", "neuron"])
@pytest.mark.parametrize("zero_is_free", [False, True])
def test_integer_export_round_trips_exactly(method: str, scope: str, zero_is_free: bool) -> None:
    cfg = NetworkConfig(kind="conv", channels=(4,), hidden=(7,), pool=2, timesteps=2)
    model = SpikingNetwork(cfg)
    model.synaptic_layers[1].mask = (
        torch.rand_like(model.synaptic_layers[1].latent_weight) > 0.3
    ).float()
    attach_quantizers(model, method, n_values=3, bits=3, scope=scope, zero_is_free=zero_is_free)
    for layer in model.synaptic_layers:
        exported = integer_export(layer)
        assert exported.codes.dtype == torch.int64 and exported.codebook.dtype == torch.int64
        assert torch.equal(exported.weights(), layer.effective_weight())
        k = exported.integer_weights()
        assert int(k.min()) >= -4 and int(k.max()) <= 3
        assert torch.equal(k.to(exported.scale.dtype) * exported.scale, layer.effective_weight())
        if layer.mask is not None:
            assert torch.all(exported.codes[layer.mask == 0] == -1)
        q = layer.weight_transform
        assert isinstance(q, (ClusterQuantizer, UniformQuantizer))
        groups = layer.latent_weight.shape[0] if q.scope == "neuron" else 1
        assert exported.codebook.shape[0] == groups


def test_integer_export_needs_a_quantizer() -> None:
    model = SpikingNetwork(NetworkConfig(hidden=(4,), timesteps=2))
    with pytest.raises(ConfigError, match="needs a layer quantized by a BaseQuantizer"):
        integer_export(model.synaptic_layers[0])
