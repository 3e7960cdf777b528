from __future__ import annotations

import pytest
import torch
from torch import nn

from spikefit_search.snn import NetworkConfig, SpikingNetwork


class FakeQuantizer(nn.Module):
    """A stand-in for the compression package's transform: fixed codes times a scale."""

    def __init__(self, codes: torch.Tensor, scale: float, bits: int) -> None:
        super().__init__()
        self.bits = bits
        self.scale = scale
        self.register_buffer("codes", codes.to(torch.float32))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return (self.codes * self.scale).reshape(w.shape).to(w.dtype)


def quantize_cyclic(
    model: SpikingNetwork,
    n_values: int,
    bits: int,
    scale: float = 0.01,
    *,
    distinct_layers: bool = False,
) -> None:
    """Give every layer exactly ``n_values`` non-zero codes, cycled along each neuron's row
    (codes of different layers do not overlap when ``distinct_layers``)."""
    for i, layer in enumerate(model.synaptic_layers):
        w = layer.synapse.weight
        rows = w.shape[0]
        per_row = w[0].numel()
        offset = i * n_values if distinct_layers else 0
        ramp = torch.arange(per_row) % n_values + 1 + offset  # never zero
        codes = ramp.repeat(rows, 1).reshape(w.shape)
        layer.weight_transform = FakeQuantizer(codes, scale, bits)


def tiny_net(**kwargs: object) -> SpikingNetwork:
    defaults: dict[str, object] = {"input_shape": (1, 4, 4), "hidden": (8,), "n_classes": 3}
    defaults.update(kwargs)
    return SpikingNetwork(NetworkConfig(**defaults))  # type: ignore[arg-type]


@pytest.fixture
def quantize() -> object:
    return quantize_cyclic


@pytest.fixture
def make_net() -> object:
    return tiny_net


@pytest.fixture
def fake_quantizer() -> type[FakeQuantizer]:
    return FakeQuantizer
