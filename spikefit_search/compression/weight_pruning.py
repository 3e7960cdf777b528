"""Synapse pruning by Fisher score, used to enforce a chip's per-neuron fan-in cap."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spikefit_search.compression._base import BaseWeightPruner
from spikefit_search.compression.fisher import synapse_fisher
from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import SpikingNetwork


@dataclass(frozen=True)
class FisherWeightPruner(BaseWeightPruner):
    """Keep at most ``fan_in_cap`` synapses per neuron (conv: per output channel, counting
    ``in_channels * k * k`` kernel entries), those with the largest ``(w * dL/dw)^2``.

    Args:
        fan_in_cap: synapses allowed into one neuron, at least 1.
        batch_size: calibration samples per backward pass.
        seed: seeds rate coding of the calibration data.

    Example:
        >>> from spikefit_search.snn import NetworkConfig
        >>> net = SpikingNetwork(NetworkConfig(hidden=(8,), timesteps=2))
        >>> masks = FisherWeightPruner(10).apply(net, torch.rand(4, 1, 8, 8), torch.arange(4))
        >>> int(masks[0].sum(1).max())
        10
    """

    fan_in_cap: int
    batch_size: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.fan_in_cap, bool) or not isinstance(self.fan_in_cap, int):
            raise TypeError(f"fan_in_cap must be an int, but got fan_in_cap={self.fan_in_cap!r}.")
        if self.fan_in_cap < 1:
            raise ConfigError(
                f"fan_in_cap must be at least 1, but got fan_in_cap={self.fan_in_cap}."
            )

    def apply(self, model: SpikingNetwork, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
        scores = synapse_fisher(model, x, y, batch_size=self.batch_size, seed=self.seed)
        masks: list[torch.Tensor] = []
        with torch.no_grad():
            for layer, score in zip(model.synaptic_layers, scores):
                w = layer.latent_weight
                mask = layer.mask.clone() if layer.mask is not None else torch.ones_like(w)
                rows = w.shape[0]
                flat_mask = mask.reshape(rows, -1)
                if flat_mask.shape[1] > self.fan_in_cap:
                    flat_score = score.reshape(rows, -1).clone()
                    flat_score[flat_mask == 0] = -1.0  # already pruned: never re-grown
                    top = torch.topk(flat_score, self.fan_in_cap, dim=1).indices
                    capped = torch.zeros_like(flat_mask)
                    capped.scatter_(1, top, 1.0)
                    mask = (flat_mask * capped).reshape(w.shape)
                layer.mask = mask
                masks.append(mask)
        return masks
