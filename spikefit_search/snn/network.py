"""Spiking networks built from a :class:`NetworkConfig`, simulated layer by layer.

Each synaptic layer computes its input current for all ``T`` steps as one batched product over
``T*B`` rows; only the element-wise membrane recurrence loops over time
(:func:`lif_multistep`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import chip as chip_arith
from spikefit_search.snn.config import LayerSpec, NetworkConfig
from spikefit_search.snn.encoding import encode, reduce_input
from spikefit_search.snn.functional import (
    LIFParameters,
    event_linear,
    event_linear_pays,
    leaky_readout,
    lif_multistep,
    lif_recurrent,
)
from spikefit_search.snn.surrogates import SURROGATES
from spikefit_search.snn.workload import LayerWorkload, layer_workload


class SynapticLayer(nn.Module):
    """One synaptic layer (linear or conv) with its neurons.

    ``weight_transform`` (set by compression) maps the latent weight to the weight the layer
    computes with, e.g. the nearest codebook value; ``mask`` zeroes pruned synapses. A
    recurrent layer (``spec.recurrent``) holds its ``n x n`` recurrent weight as a second
    synaptic layer, :attr:`recurrent`, with its own quantizer and mask (row = receiving
    neuron, column = sending neuron).
    """

    recurrent: SynapticLayer | None

    def __init__(self, spec: LayerSpec, *, bias: bool) -> None:
        super().__init__()
        self.spec = spec
        if spec.recurrent:
            n = spec.out_channels
            rec_spec = replace(
                spec, in_channels=n, in_size=(1, 1), kernel=(1, 1), spiking=True, recurrent=False
            )
            self.recurrent = SynapticLayer(rec_spec, bias=False)
        else:
            self.recurrent = None
        self.synapse: nn.Linear | nn.Conv2d
        if spec.kind == "conv":
            self.synapse = nn.Conv2d(
                spec.in_channels,
                spec.out_channels,
                spec.kernel,
                stride=spec.stride,
                padding=spec.padding,
                bias=bias,
            )
        else:
            self.synapse = nn.Linear(spec.n_inputs, spec.out_channels, bias=bias)
        self.weight_transform: nn.Module | None = None
        self.mask: torch.Tensor | None
        self.register_buffer("mask", None)

    @property
    def latent_weight(self) -> torch.Tensor:
        return self.synapse.weight

    def effective_weight(self) -> torch.Tensor:
        """The weight the layer computes with (after quantization and pruning masks)."""
        w = self.synapse.weight
        if self.mask is not None:
            w = w * self.mask
        if self.weight_transform is not None:
            w = self.weight_transform(w)
            if self.mask is not None:
                w = w * self.mask
        return w

    def current(
        self, x: torch.Tensor, *, binary: bool = False, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Synaptic input for all steps. Shape: ``(T, B, ...)`` -> ``(T, B, ...)``.

        ``binary``: ``x`` holds only 0 and 1 (encoded spikes); a linear layer then sums the
        weights of its events instead of a dense product where that is faster
        (:func:`event_linear_pays`). ``weight`` replaces the effective weight (the chip's
        integers)."""
        steps, batch = x.shape[:2]
        flat = x.reshape(steps * batch, *x.shape[2:])
        w = self.effective_weight() if weight is None else weight
        if self.spec.kind == "conv":
            y = F.conv2d(flat, w, self.synapse.bias, self.spec.stride, self.spec.padding)
        else:
            flat = flat.reshape(steps * batch, -1)
            if binary and event_linear_pays(flat):
                y = event_linear(flat, w, self.synapse.bias)
            else:
                y = F.linear(flat, w, self.synapse.bias)
        return y.reshape(steps, batch, *y.shape[1:])

    def weight_counts(self) -> tuple[float, float, float, float]:
        """``(inputs, inputs used, neurons used, non-zero weights)`` of the layer's effective
        weight (inputs and neurons count channels for a conv layer)."""
        with torch.no_grad():
            nonzero = self.effective_weight() != 0
            flat = nonzero.reshape(nonzero.shape[0], nonzero.shape[1], -1)
            inputs_used = flat.any(dim=2).any(dim=0).sum()
            neurons_used = flat.any(dim=2).any(dim=1).sum()
            return (
                float(nonzero.shape[1]),
                float(inputs_used),
                float(neurons_used),
                float(nonzero.sum()),
            )

    def synaptic_ops(self, events: torch.Tensor) -> torch.Tensor:
        """Synaptic operations caused by ``events`` (``(T, B, ...)``, counts of input spikes):
        every event times the non-zero synapses it drives."""
        return self.event_counts(events)[0]

    def event_counts(
        self, events: torch.Tensor, rec_events: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What ``events`` (``(T, B, ...)``, counts of input spikes) cost this layer, and
        ``rec_events`` (``(T, B, n)``, the spikes that arrive through :attr:`recurrent` at each
        step: the layer's own of the step before) on a recurrent layer.

        Returns:
            ``(sops, dense_sops, active)``: every event times the non-zero synapses it drives;
            every event times all the synapses of the layer's connectivity, zero weights
            included (what a chip that does not skip zeros processes); and the neuron-steps
            that received at least one event through a non-zero synapse.
        """
        with torch.no_grad():
            steps, batch = events.shape[:2]
            total = events.sum(dim=0)
            nonzero = (self.effective_weight() != 0).to(total.dtype)
            flat = events.reshape(steps * batch, *events.shape[2:])
            if self.spec.kind == "conv":
                stride, padding = self.spec.stride, self.spec.padding
                sops = F.conv2d(total, nonzero, None, stride, padding).sum()
                dense = torch.ones_like(nonzero)
                dense_sops = F.conv2d(total, dense, None, stride, padding).sum()
                drive = F.conv2d(flat, nonzero, None, stride, padding)
            else:
                sops = (total.reshape(total.shape[0], -1) @ nonzero.sum(dim=0)).sum()
                dense_sops = total.sum() * nonzero.shape[0]
                drive = flat.reshape(steps * batch, -1) @ nonzero.t()
            if rec_events is not None and self.recurrent is not None:
                rec_sops, rec_dense, _ = self.recurrent.event_counts(rec_events)
                sops, dense_sops = sops + rec_sops, dense_sops + rec_dense
                rec_nonzero = (self.recurrent.effective_weight() != 0).to(total.dtype)
                rec_flat = rec_events.reshape(steps * batch, -1).to(total.dtype)
                drive = drive + rec_flat @ rec_nonzero.t()
            active = torch.count_nonzero(drive).to(total.dtype)  # events, weights >= 0
            return sops, dense_sops, active


class LayerActivity(NamedTuple):
    """Events of one layer, per sample.

    ``dense_sops`` counts synaptic operations with zero weights included (NaN when not
    recorded); ``active_updates`` counts neuron-steps that received at least one synaptic
    event (NaN when not recorded). ``input_bins`` and ``spike_bins`` count the (step, input)
    and (step, neuron) cells holding at least one event; ``inputs``, ``inputs_used``,
    ``neurons_used`` and ``weights_nonzero`` describe the layer's weights (inputs, inputs and
    neurons with a non-zero weight, non-zero weights). Xylo's cycles model reads them.
    The ``nb_`` fields are NeuroBench's counts (:class:`~spikefit_search.snn.workload.
    LayerWorkload`, NaN when not recorded).
    """

    neurons: int
    input_events: float
    sops: float
    spikes: float
    dense_sops: float = math.nan
    active_updates: float = math.nan
    input_bins: float = math.nan
    spike_bins: float = math.nan
    inputs: float = math.nan
    inputs_used: float = math.nan
    neurons_used: float = math.nan
    weights_nonzero: float = math.nan
    nb_macs: float = math.nan
    nb_acs: float = math.nan
    nb_dense: float = math.nan
    nb_membrane_updates: float = math.nan
    nb_activations: float = math.nan
    nb_activation_slots: float = math.nan
    rec_weights_nonzero: float = 0.0
    """Non-zero recurrent weights of a recurrent layer (its own spikes; 0 otherwise)."""


@dataclass
class Activity:
    """What a network did on a set of samples: per layer, events per sample.

    ``sops`` counts, for every input event of a layer (input events included for the first
    layer), the non-zero synapses it drives; ``spikes`` are the layer's output spikes.
    """

    timesteps: int
    samples: int
    layers: list[LayerActivity] = field(default_factory=list)

    @property
    def total_sops(self) -> float:
        return sum(layer.sops for layer in self.layers)

    @property
    def total_spikes(self) -> float:
        return sum(layer.spikes for layer in self.layers)

    @property
    def total_dense_sops(self) -> float:
        """SOPs with zero weights included (falls back to :attr:`total_sops` if not recorded)."""
        return sum(
            layer.sops if math.isnan(layer.dense_sops) else layer.dense_sops
            for layer in self.layers
        )

    @property
    def total_active_updates(self) -> float:
        """Neuron-steps that received input (NaN when any layer did not record it)."""
        return sum(layer.active_updates for layer in self.layers)

    @property
    def total_neurons(self) -> int:
        return sum(layer.neurons for layer in self.layers)

    @property
    def input_events(self) -> float:
        return self.layers[0].input_events if self.layers else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "timesteps": self.timesteps,
            "samples": self.samples,
            "sops": self.total_sops,
            "spikes": self.total_spikes,
            "layers": [layer._asdict() for layer in self.layers],
        }


class ForwardResult(NamedTuple):
    logits: torch.Tensor
    spikes: list[torch.Tensor]
    """Output spikes ``(T, B, ...)`` of each spiking layer (before pooling), graph attached."""
    sums: list[tuple[float, ...]] | None
    """Per layer (input events, SOPs, spikes, dense SOPs, active neuron-steps, input bins,
    spike bins) summed over the batch, when recorded."""
    output: torch.Tensor | None = None
    """What the output layer produced at every step, ``(T, B, n_classes)``: spike counts, or
    the readout's synaptic input (float network) or membrane (chip-exact network)."""
    workload: list[LayerWorkload] | None = None
    """Per layer, NeuroBench's counts summed over the batch, when recorded."""
    currents: list[torch.Tensor] | None = None
    """The feed-forward synaptic input ``(T, B, ...)`` of each spiking layer (the tensor its
    neurons integrate besides their recurrent input), graph attached."""


class SpikingNetwork(nn.Module):
    """A feed-forward spiking network: encoder, synaptic layers, readout.

    Shape:
        input: ``(B, C, H, W)`` static samples in [0, 1], or ``(B, T, C, H, W)`` event frames
        with ``encoder="events"``; output: ``(B, n_classes)`` logits.

    Example:
        >>> net = SpikingNetwork(NetworkConfig(hidden=(32,), timesteps=4))
        >>> net(torch.rand(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.specs = config.layer_specs()
        self.layers = nn.ModuleList(SynapticLayer(s, bias=config.bias) for s in self.specs)
        self.params = LIFParameters(config.beta, config.threshold, config.reset)
        self.surrogate = SURROGATES.get(config.surrogate)

    @property
    def synaptic_layers(self) -> list[SynapticLayer]:
        return [layer for layer in self.layers if isinstance(layer, SynapticLayer)]

    @property
    def weight_layers(self) -> list[SynapticLayer]:
        """Every weight matrix as a :class:`SynapticLayer`, input first: each synaptic layer
        followed by its recurrent weight, if it has one (what compression quantizes)."""
        out: list[SynapticLayer] = []
        for layer in self.synaptic_layers:
            out.append(layer)
            if layer.recurrent is not None:
                out.append(layer.recurrent)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x).logits

    @property
    def chip_exact(self) -> bool:
        """Whether :meth:`run` computes in the chip's integer arithmetic by default: the config
        names a chip neuron and every synaptic layer is quantized."""
        return chip_arith.is_chip_exact(self)

    def run(
        self,
        x: torch.Tensor,
        *,
        record: bool = False,
        generator: torch.Generator | None = None,
        exact: bool | None = None,
    ) -> ForwardResult:
        """Simulate the network on static samples ``x``; optionally count events.

        ``exact``: compute as the chip does (:mod:`spikefit_search.snn.chip`; the default for
        a quantized network with a chip neuron) or as the float network (``False``). A
        chip-exact run of a chip whose populations pass spikes on one step later lasts
        ``T`` plus one step per hidden layer (the flush)."""
        cfg = self.config
        chip = cfg.chip
        if exact is None:
            exact = self.chip_exact
        elif exact and not self.chip_exact:
            raise ConfigError(
                "exact=True needs a quantized network with a chip neuron, but got "
                f"chip={None if chip is None else chip.family!r} and unquantized layers."
            )
        layers = self.synaptic_layers
        # chip-exact: each layer's effective weight once, for its integers and its current
        weights = [layer.effective_weight() for layer in layers] if exact else []
        rec_weights = [
            None if layer.recurrent is None or not exact else layer.recurrent.effective_weight()
            for layer in layers
        ]
        ints = chip_arith.layer_integers(self, weights, rec_weights) if exact else None
        h = self.input_events(x, generator=generator, exact=exact)
        spikes: list[torch.Tensor] = []
        currents: list[torch.Tensor] = []
        sums: list[tuple[float, ...]] | None = [] if record else None
        workload: list[LayerWorkload] | None = [] if record else None
        per_event = 1  # events per unit of h: a k x k average stands for k^2 events
        for i, layer in enumerate(layers):
            spec = layer.spec
            if spec.kind == "linear" and h.dim() > 3:
                h = h.reshape(h.shape[0], h.shape[1], -1)
            if ints is not None and chip is not None:
                weight = chip_arith.integer_weight(weights[i], ints[i])
                current = layer.current(h, weight=weight)
                rec_ints, w_rec = ints[i].recurrent, rec_weights[i]
                if rec_ints is not None and w_rec is not None:
                    out = chip_arith.recurrent_neuron_steps(
                        current,
                        chip_arith.integer_weight(w_rec, rec_ints),
                        ints[i],
                        chip,
                        self.surrogate,
                    )
                else:
                    out = chip_arith.neuron_steps(
                        current, ints[i], chip, self.surrogate, spiking=spec.spiking
                    )
                s = out if spec.spiking else None
                if s is not None:
                    spikes.append(s)
                    currents.append(current)
                    out = self._pool(s) if spec.pool > 1 else s
                if chip.delay and i < len(layers) - 1:
                    out = chip_arith.delay_one_step(out)
            elif spec.spiking:
                current = layer.current(h, binary=self._binary(i))
                if layer.recurrent is not None:
                    w_rec = layer.recurrent.effective_weight()
                    s = lif_recurrent(current, w_rec, self.params, self.surrogate)
                else:
                    s = lif_multistep(current, self.params, self.surrogate)
                spikes.append(s)
                currents.append(current)
                out = self._pool(s) if spec.pool > 1 else s
            else:
                s = None
                out = current = layer.current(h, binary=self._binary(i))
            if sums is not None:
                events = h.detach()
                if i == 0 and cfg.encoder == "direct":
                    events = events.ne(0).to(events.dtype)  # each non-zero current is an event
                if per_event > 1:  # the chip receives the sums (Speck: AvgPool becomes SumPool)
                    events = (events * per_event).round()
                n_spikes = float(s.detach().sum()) if s is not None else 0.0
                spike_bins = float(torch.count_nonzero(s.detach())) if s is not None else 0.0
                rec_events = None
                if layer.recurrent is not None and s is not None:
                    rec_events = chip_arith.delay_one_step(s.detach())  # s[t-1] arrives at t
                sops, dense_sops, active = layer.event_counts(events, rec_events)
                sums.append(
                    (
                        float(events.sum()),
                        float(sops),
                        n_spikes,
                        float(dense_sops),
                        float(active),
                        float(torch.count_nonzero(events)),
                        spike_bins,
                    )
                )
            if workload is not None:  # as NeuroBench counts the float network of these weights
                fired = s.detach() if s is not None else None
                workload.append(
                    layer_workload(layer, h.detach(), current.detach(), fired, self.params)
                )
            h = out
            avg = spec.spiking and spec.pool > 1 and cfg.pool_mode == "avg"
            per_event = spec.pool**2 if avg else 1
        if self.specs[-1].spiking:
            logits = h.mean(dim=0)
        elif ints is not None:
            logits = h.mean(dim=0) * ints[-1].unit  # the readout's membrane, in float units
        else:
            logits = leaky_readout(h, cfg.beta)
        return ForwardResult(logits, spikes, sums, h, workload, currents)

    def input_events(
        self, x: torch.Tensor, *, generator: torch.Generator | None = None, exact: bool = False
    ) -> torch.Tensor:
        """What the first layer receives, ``(T, B, ...)``: encoded (rate, direct or event
        frames) and reduced (``input_pool``, ``input_group``). With ``exact``, as the chip
        receives it: events clipped to its limit per channel and step, and the flush steps
        appended (:func:`spikefit_search.snn.chip.flush_steps`); an ``mlp`` gets ``(T, B,
        n_inputs)``."""
        cfg = self.config
        h = encode(cfg.encoder, x, cfg.timesteps, generator=generator)
        if cfg.input_pool > 1 or cfg.input_group > 1:
            h = reduce_input(h, cfg.input_pool, cfg.input_group)
        if cfg.kind == "mlp":
            h = h.reshape(h.shape[0], h.shape[1], -1)
        chip = cfg.chip
        if exact and chip is not None:
            if chip.input_events_per_step is not None:
                h = h.clamp(max=float(chip.input_events_per_step))
            flush = chip_arith.flush_steps(self)
            if flush:
                h = torch.cat([h, torch.zeros_like(h[:1]).expand(flush, *h.shape[1:])])
        return h

    def _binary(self, i: int) -> bool:
        cfg = self.config
        return i == 0 and cfg.encoder == "rate" and cfg.input_pool == cfg.input_group == 1

    def _pool(self, s: torch.Tensor) -> torch.Tensor:
        k = self.config.pool
        steps, batch = s.shape[:2]
        flat = s.reshape(steps * batch, *s.shape[2:])
        if self.config.pool_mode == "max":
            y = F.max_pool2d(flat, k)
        elif self.config.pool_mode == "avg":
            y = F.avg_pool2d(flat, k)
        else:
            y = F.avg_pool2d(flat, k, divisor_override=1)
        return y.reshape(steps, batch, *y.shape[1:])


def build_network(config: NetworkConfig) -> SpikingNetwork:
    """Build a freshly initialised network (uses the global torch RNG for the weights)."""
    return SpikingNetwork(config)
