"""Neuron pruning: score hidden neurons, then physically remove the lowest-scoring ones.

Scores are looked up by name in :data:`NEURON_SCORES` (``fsc``, ``magnitude``, ``random``); a
higher score means a more important neuron. The output layer is never pruned.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import torch

from spikefit_search._registry import Registry
from spikefit_search.compression._base import check_rho
from spikefit_search.compression.fisher import fisher_spike_contribution
from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import SpikingNetwork


class BaseNeuronScore(abc.ABC):
    """Scores every hidden neuron (conv: channel) of a network; higher means keep."""

    @abc.abstractmethod
    def __call__(
        self, model: SpikingNetwork, x: torch.Tensor, y: torch.Tensor, *, seed: int = 0
    ) -> list[torch.Tensor]:
        """One ``(n_k,)`` score tensor per hidden layer, scored on ``(x, y)``."""


@dataclass(frozen=True)
class FisherSpikeScore(BaseNeuronScore):
    """Fisher Spike Contribution on calibration data (see :mod:`.fisher`)."""

    batch_size: int = 256

    def __call__(
        self, model: SpikingNetwork, x: torch.Tensor, y: torch.Tensor, *, seed: int = 0
    ) -> list[torch.Tensor]:
        return fisher_spike_contribution(model, x, y, batch_size=self.batch_size, seed=seed)


@dataclass(frozen=True)
class MagnitudeNeuronScore(BaseNeuronScore):
    """L1 norm of each neuron's incoming (effective) weights, recurrent ones included; data
    are not used."""

    def __call__(
        self, model: SpikingNetwork, x: torch.Tensor, y: torch.Tensor, *, seed: int = 0
    ) -> list[torch.Tensor]:
        del x, y, seed
        n_hidden = len(model.config.hidden_sizes)
        with torch.no_grad():
            out = []
            for layer in model.synaptic_layers[:n_hidden]:
                w = layer.effective_weight().abs().reshape(layer.latent_weight.shape[0], -1)
                score = w.sum(1)
                if layer.recurrent is not None:  # incoming recurrent weights count too
                    score = score + layer.recurrent.effective_weight().abs().sum(1)
                out.append(score)
            return out


@dataclass(frozen=True)
class RandomNeuronScore(BaseNeuronScore):
    """Uniform random scores from a generator seeded with ``seed``."""

    def __call__(
        self, model: SpikingNetwork, x: torch.Tensor, y: torch.Tensor, *, seed: int = 0
    ) -> list[torch.Tensor]:
        del x, y
        gen = torch.Generator().manual_seed(seed)
        return [torch.rand(n, generator=gen) for n in model.config.hidden_sizes]


NEURON_SCORES: Registry[BaseNeuronScore] = Registry("neuron_pruning")
NEURON_SCORES.add("fsc", FisherSpikeScore())
NEURON_SCORES.add("magnitude", MagnitudeNeuronScore())
NEURON_SCORES.add("random", RandomNeuronScore())


def select_neurons(scores: list[torch.Tensor], rho: float) -> list[torch.Tensor]:
    """Indices (sorted) of the neurons to keep: the lowest ``round(rho * n)`` of each layer go.

    Ties are broken by position (the earlier neuron goes first).

    Raises:
        ConfigError: ``rho`` is outside [0, 1) or would remove every neuron of a layer.
    """
    rho = check_rho(rho)
    keep: list[torch.Tensor] = []
    for i, s in enumerate(scores):
        n = int(s.numel())
        n_remove = round(rho * n)
        if n_remove >= n:
            raise ConfigError(
                f"pruning must leave at least one neuron in hidden layer {i}, but got "
                f"rho={rho} removing {n_remove} of {n}."
            )
        order = torch.argsort(s.detach().cpu().double(), stable=True)
        keep.append(torch.sort(order[n_remove:]).values)
    return keep


def _column_index(model: SpikingNetwork, j: int, kept: torch.Tensor) -> torch.Tensor:
    """Input columns of synaptic layer ``j`` that come from the kept units of layer ``j-1``."""
    spec = model.specs[j]
    prev = model.specs[j - 1]
    if spec.kind == "linear" and prev.kind == "conv":
        area = spec.in_size[0] * spec.in_size[1]
        return (kept[:, None] * area + torch.arange(area)[None]).flatten()
    return kept


def shrink_network(model: SpikingNetwork, keep: list[torch.Tensor]) -> SpikingNetwork:
    """A new, smaller network holding only the ``keep`` units of every hidden layer.

    Rows of each hidden layer and the matching input columns of the next layer are copied
    (conv -> linear: the blocks of flattened positions of each kept channel), and of a
    recurrent layer the kept rows and columns of its recurrent weight; masks come along.

    Raises:
        ConfigError: a layer carries a ``weight_transform`` (attach quantizers after pruning),
            or ``keep`` does not give one index set per hidden layer.
    """
    sizes = model.config.hidden_sizes
    if len(keep) != len(sizes):
        raise ConfigError(
            f"keep must hold one index set per hidden layer ({len(sizes)}), but got {len(keep)}."
        )
    if any(layer.weight_transform is not None for layer in model.weight_layers):
        raise ConfigError(
            "neuron pruning needs a float network (attach quantizers after pruning), but got "
            "a layer with a weight_transform."
        )
    keep = [k.detach().cpu().long() for k in keep]
    device = model.synaptic_layers[0].latent_weight.device
    new = SpikingNetwork(model.config.with_widths([len(k) for k in keep])).to(device)
    n_hidden = len(sizes)
    with torch.no_grad():
        for j, (old, dst) in enumerate(zip(model.synaptic_layers, new.synaptic_layers)):
            rows = keep[j].to(device) if j < n_hidden else None
            cols = _column_index(model, j, keep[j - 1]).to(device) if j > 0 else None

            def cut(
                t: torch.Tensor, rows: torch.Tensor | None = rows, cols: torch.Tensor | None = cols
            ) -> torch.Tensor:
                if rows is not None:
                    t = t.index_select(0, rows)
                if cols is not None:
                    t = t.index_select(1, cols)
                return t

            dst.synapse.weight.copy_(cut(old.synapse.weight))
            if old.synapse.bias is not None and dst.synapse.bias is not None:
                b = old.synapse.bias
                dst.synapse.bias.copy_(b.index_select(0, rows) if rows is not None else b)
            if old.mask is not None:
                dst.mask = cut(old.mask).clone()
            if old.recurrent is not None and dst.recurrent is not None and rows is not None:
                # a removed neuron leaves its recurrent row (what it hears) and column (whom
                # it drives)
                rec = old.recurrent
                dst.recurrent.synapse.weight.copy_(cut(rec.synapse.weight, rows, rows))
                if rec.mask is not None:
                    dst.recurrent.mask = cut(rec.mask, rows, rows).clone()
    new.train(model.training)
    return new


def prune_neurons(
    model: SpikingNetwork,
    rho: float,
    *,
    method: str | BaseNeuronScore = "fsc",
    x: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    seed: int = 0,
) -> SpikingNetwork:
    """Remove the lowest-scoring fraction ``rho`` of every hidden layer's neurons.

    Args:
        model: a float network (left unchanged).
        rho: fraction in [0, 1); exactly ``round(rho * n)`` of each layer's ``n`` units go.
        method: a name in :data:`NEURON_SCORES` or a score object.
        x, y: calibration data (needed by ``fsc``).
        seed: seeds rate coding of the calibration data, or the random scores.

    Returns:
        A new :class:`SpikingNetwork` built from ``config.with_widths(...)``.
    """
    rho = check_rho(rho)
    score = NEURON_SCORES.get(method) if isinstance(method, str) else method
    if x is None or y is None:
        if isinstance(score, FisherSpikeScore):
            raise ConfigError("fsc neuron pruning needs calibration data x, y, but got None.")
        x = y = torch.empty(0)
    scores = score(model, x, y, seed=seed)
    return shrink_network(model, select_neurons(scores, rho))


def mask_neurons(model: SpikingNetwork, keep: list[torch.Tensor]) -> None:
    """Silence all but the ``keep`` units in place, via masks (and zeroed biases).

    The masked network computes what :func:`shrink_network` builds, at full size.
    """
    n_hidden = len(model.config.hidden_sizes)
    layers = model.synaptic_layers
    with torch.no_grad():
        for j, layer in enumerate(layers):
            w = layer.latent_weight
            mask = layer.mask.clone() if layer.mask is not None else torch.ones_like(w)
            if j < n_hidden:
                dead = torch.ones(w.shape[0], dtype=torch.bool, device=w.device)
                dead[keep[j].to(w.device)] = False
                mask[dead] = 0
                if layer.synapse.bias is not None:
                    layer.synapse.bias[dead] = 0
            if j > 0:
                cols = _column_index(model, j, keep[j - 1]).to(w.device)
                dead_c = torch.ones(w.shape[1], dtype=torch.bool, device=w.device)
                dead_c[cols] = False
                mask[:, dead_c] = 0
            layer.mask = mask
            rec = layer.recurrent
            if rec is not None and j < n_hidden:
                rw = rec.latent_weight
                rmask = rec.mask.clone() if rec.mask is not None else torch.ones_like(rw)
                dead = torch.ones(rw.shape[0], dtype=torch.bool, device=rw.device)
                dead[keep[j].to(rw.device)] = False
                rmask[dead] = 0
                rmask[:, dead] = 0
                rec.mask = rmask
