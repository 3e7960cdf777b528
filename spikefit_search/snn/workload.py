"""NeuroBench's workload counts of one layer, recorded in the same pass as the chip's events.

NeuroBench 2.3 (``neurobench/metrics/workload/*.py``, see ``docs/reporting.md``) hooks every
``Linear``/``Conv2d`` and every snnTorch neuron of a network that is run one step at a time.
This module counts what those hooks count, from tensors :meth:`SpikingNetwork.run` already
has (the layer's input, its synaptic current and its spikes), so a NeuroBench run of the
exported network reproduces them:

* synaptic operations: every call of a synapse layer adds ``sum(binary(W) @ binary(x))``
  (non-zero weights times non-zero inputs, bias left out) to ``Effective_ACs`` when the input
  holds only -1, 0 and 1, to ``Effective_MACs`` otherwise; ``Dense`` adds the same with all
  weights and inputs set to one. The AC/MAC test is made per sample and step (NeuroBench
  makes it per batch and step: the same at batch size 1);
* membrane updates: on the first step every neuron, then every neuron whose membrane (after
  integration, before the reset, the value snnTorch keeps between steps) differs from the
  previous step's. NeuroBench compares float32 membranes, where inputs whose weights cancel
  can leave a rounding residue that counts as an update; here the membrane is computed in
  float64, where they cancel, so the two agree to within such residues;
* activations: the non-zero outputs of the neurons, and all of them (a non-spiking readout
  counts as a neuron that never fires).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn.functional as F

from spikefit_search.snn.functional import LIFParameters

if TYPE_CHECKING:
    from spikefit_search.snn.network import SynapticLayer


class LayerWorkload(NamedTuple):
    """NeuroBench's counts of one layer, summed over a batch."""

    macs: float
    acs: float
    dense: float
    membrane_updates: float
    activations: float
    """Non-zero neuron outputs."""
    activation_slots: float
    """All neuron outputs (neurons x steps x samples)."""


def fan_out(
    weight: torch.Tensor, kind: str, in_size: tuple[int, int], stride: int, padding: int
) -> torch.Tensor:
    """For every input element, how many entries of ``weight`` it meets in one call of the
    layer: ``(n_inputs,)`` for a linear layer, ``(C, H, W)`` for a convolution (padding
    counted as NeuroBench's convolution counts it: not at all)."""
    if kind != "conv":
        return weight.sum(dim=0)
    out_channels, _, k, _ = weight.shape
    oh = (in_size[0] + 2 * padding - k) // stride + 1
    ow = (in_size[1] + 2 * padding - k) // stride + 1
    extra = [in_size[i] - ((o - 1) * stride - 2 * padding + k) for i, o in enumerate((oh, ow))]
    ones = torch.ones(1, out_channels, oh, ow, dtype=weight.dtype, device=weight.device)
    out = F.conv_transpose2d(ones, weight, None, stride, padding, output_padding=tuple(extra))
    return out[0]


def _operations(x: torch.Tensor, fan: torch.Tensor) -> tuple[float, float]:
    """``(MACs, ACs)`` of input ``x`` (``(T, B, ...)``) into a layer whose input elements meet
    ``fan`` non-zero weights each."""
    rows = x.reshape(-1, fan.numel())
    ops = torch.mv((rows != 0).to(fan.dtype), fan.reshape(-1))
    magnitude = rows.abs()
    graded = ((magnitude != 0) & (magnitude != 1)).any(dim=1)
    macs = float(ops[graded].sum()) if bool(graded.any()) else 0.0
    return macs, float(ops.sum()) - macs


def _current64(layer: SynapticLayer, x: torch.Tensor) -> torch.Tensor:
    """The layer's synaptic current in float64 (exact sums of the float32 weights in practice:
    weights that cancel give exactly zero, not a rounding residue)."""
    spec = layer.spec
    w = layer.effective_weight().to(torch.float64)
    bias = layer.synapse.bias
    b = None if bias is None else bias.to(torch.float64)
    steps, batch = x.shape[:2]
    flat = x.reshape(steps * batch, *x.shape[2:]).to(torch.float64)
    if spec.kind == "conv":
        y = F.conv2d(flat, w, b, spec.stride, spec.padding)
    else:
        y = F.linear(flat.reshape(steps * batch, -1), w, b)
    return y.reshape(steps, batch, *y.shape[1:])


def _membrane_updates(
    current: torch.Tensor, spikes: torch.Tensor | None, p: LIFParameters
) -> float:
    """First step: every neuron; later steps: the neurons whose membrane changed, with the
    membrane recomputed in float64 from the float64 ``current`` and the network's spikes."""
    changed = torch.zeros((), dtype=torch.int64, device=current.device)
    u = torch.zeros_like(current[0])
    v_prev: torch.Tensor | None = None
    for t in range(current.shape[0]):
        v = p.beta * u + current[t]
        if v_prev is not None:
            changed += torch.count_nonzero(v != v_prev)
        if spikes is None:
            u = v
        elif p.reset == "subtract":
            u = v - p.threshold * spikes[t]
        else:
            u = v * (1.0 - spikes[t])
        v_prev = v
    return float(current[0].numel()) + float(changed)


def layer_workload(
    layer: SynapticLayer,
    x: torch.Tensor,
    current: torch.Tensor,
    spikes: torch.Tensor | None,
    params: LIFParameters,
) -> LayerWorkload:
    """NeuroBench's counts for one synaptic layer and its neurons, summed over the batch.

    Args:
        layer: the :class:`~spikefit_search.snn.network.SynapticLayer`.
        x: its input, ``(T, B, ...)`` (encoded input or the previous layer's pooled spikes).
        current: its synaptic current, ``(T, B, ...)``.
        spikes: its neurons' spikes, or None for a non-spiking readout.
        params: the neuron parameters.
    """
    with torch.no_grad():
        spec = layer.spec
        w = layer.effective_weight()
        nonzero = (w != 0).to(torch.float64)
        args = (spec.kind, spec.in_size, spec.stride, spec.padding)
        macs, acs = _operations(x, fan_out(nonzero, *args))
        steps, batch = x.shape[:2]
        dense = float(fan_out(torch.ones_like(nonzero), *args).sum()) * steps * batch
        s64 = None if spikes is None else spikes.to(torch.float64)
        current64 = _current64(layer, x)
        rec = layer.recurrent
        if rec is not None and spikes is not None:  # its own spikes of step t-1, at step t
            x_rec = torch.cat([torch.zeros_like(spikes[:1]), spikes[:-1]])
            rec_nonzero = (rec.effective_weight() != 0).to(torch.float64)
            rec_args = ("linear", (1, 1), 1, 0)
            rec_macs, rec_acs = _operations(x_rec, fan_out(rec_nonzero, *rec_args))
            macs, acs = macs + rec_macs, acs + rec_acs
            dense += float(rec_nonzero.numel()) * steps * batch
            current64 = current64 + _current64(rec, x_rec)
        updates = _membrane_updates(current64, s64, params)
        fired = float(torch.count_nonzero(spikes)) if spikes is not None else 0.0
        return LayerWorkload(macs, acs, dense, updates, fired, float(current.numel()))
