r"""Fisher estimates on calibration data: per hidden neuron (FSC) and per synapse.

Fisher Spike Contribution of hidden neuron (or conv channel) ``k``:

.. math::

    \mathrm{FSC}_k = \frac{1}{2N} \sum_n \Big( \sum_t \sum_i s_{n,t,k,i}\,
        \frac{\partial L_n}{\partial s_{n,t,k,i}} \Big)^2

with ``i`` running over the spatial positions of a channel, gradients from surrogate-gradient
BPTT and ``L_n`` the cross-entropy of sample ``n``. It is the second-order estimate of the loss
increase when the neuron's spikes are removed.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from spikefit_search.snn import SpikingNetwork


def _batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for start in range(0, len(y), batch_size):
        yield x[start : start + batch_size], y[start : start + batch_size]


def fisher_spike_contribution(
    model: SpikingNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 256,
    seed: int = 0,
) -> list[torch.Tensor]:
    """FSC score of every hidden neuron, one ``(n_k,)`` float64 tensor per hidden layer.

    Args:
        model: the network to score (not modified; no parameter gradients are kept).
        x, y: calibration samples and labels (held out from training and validation).
        batch_size: samples per backward pass.
        seed: seeds the rate coding of the calibration samples.
    """
    n_hidden = len(model.config.hidden_sizes)
    gen = torch.Generator(device=x.device).manual_seed(seed)
    totals: list[torch.Tensor] = []
    for xb, yb in _batches(x, y, batch_size):
        out = model.run(xb, generator=gen)
        hidden = out.spikes[:n_hidden]
        loss = F.cross_entropy(out.logits, yb, reduction="sum")
        grads = torch.autograd.grad(loss, hidden, allow_unused=True)
        for k, (s, g) in enumerate(zip(hidden, grads)):
            if g is None:
                g = torch.zeros_like(s)
            contrib = (s.detach() * g).sum(dim=0)  # over time: (B, C, ...)
            per_sample = contrib.reshape(contrib.shape[0], contrib.shape[1], -1).sum(dim=2)
            part = (per_sample.double() ** 2).sum(dim=0)
            if len(totals) <= k:
                totals.append(part)
            else:
                totals[k] += part
    n = max(len(y), 1)
    return [t / (2 * n) for t in totals]


def synapse_fisher(
    model: SpikingNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 256,
    seed: int = 0,
) -> list[torch.Tensor]:
    """Synapse-level Fisher score ``(w * dL/dw)^2`` of every synaptic layer, weight-shaped.

    Squared per-batch products are summed over the calibration batches and divided by ``2N``.
    """
    gen = torch.Generator(device=x.device).manual_seed(seed)
    layers = model.synaptic_layers
    weights = [layer.latent_weight for layer in layers]
    totals = [torch.zeros_like(w, dtype=torch.float64) for w in weights]
    for xb, yb in _batches(x, y, batch_size):
        out = model.run(xb, generator=gen)
        loss = F.cross_entropy(out.logits, yb, reduction="sum")
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
        for total, w, g in zip(totals, weights, grads):
            if g is not None:
                total += (w.detach() * g).double() ** 2
    n = max(len(y), 1)
    return [t / (2 * n) for t in totals]
