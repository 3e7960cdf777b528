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
        """Masks of every weight matrix (:attr:`SpikingNetwork.weight_layers`). A recurrent
        neuron's fan-in is its feed-forward and recurrent synapses together: the cap keeps
        the best of both."""
        scores = iter(synapse_fisher(model, x, y, batch_size=self.batch_size, seed=self.seed))
        masks: list[torch.Tensor] = []
        with torch.no_grad():
            for layer in model.synaptic_layers:
                parts = [layer] if layer.recurrent is None else [layer, layer.recurrent]
                ws = [p.latent_weight for p in parts]
                rows = ws[0].shape[0]
                flat_masks = [
                    (p.mask.clone() if p.mask is not None else torch.ones_like(w)).reshape(rows, -1)
                    for p, w in zip(parts, ws)
                ]
                flat_scores = [next(scores).reshape(rows, -1) for _ in parts]
                flat_mask = torch.cat(flat_masks, dim=1)
                if flat_mask.shape[1] > self.fan_in_cap:
                    flat_score = torch.cat(flat_scores, dim=1).clone()
                    flat_score[flat_mask == 0] = -1.0  # already pruned: never re-grown
                    top = torch.topk(flat_score, self.fan_in_cap, dim=1).indices
                    capped = torch.zeros_like(flat_mask)
                    capped.scatter_(1, top, 1.0)
                    flat_mask = flat_mask * capped
                start = 0
                for p, w in zip(parts, ws):
                    width = w[0].numel()
                    mask = flat_mask[:, start : start + width].reshape(w.shape).contiguous()
                    start += width
                    p.mask = mask
                    masks.append(mask)
        return masks
