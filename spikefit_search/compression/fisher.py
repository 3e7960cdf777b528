r"""Fisher estimates on calibration data: per hidden neuron (FSC) and per synapse.

Fisher Spike Contribution of hidden neuron (or conv channel) ``k``:

.. math::

    \mathrm{FSC}_k = \frac{1}{2N} \sum_n \Big( \sum_t \sum_i s_{n,t,k,i}\,
        \frac{\partial L_n}{\partial s_{n,t,k,i}} \Big)^2

with ``i`` running over the spatial positions of a channel, gradients from surrogate-gradient
BPTT and ``L_n`` the cross-entropy of sample ``n``. It is the second-order estimate of the loss
increase when the neuron's spikes are removed. In a recurrent layer a spike also reaches the
layer itself one step later, so ``dL/ds[t]`` is the total derivative: the next layers' part
plus ``g[t+1] W_rec``, with ``g[t+1] = dL/dv[t+1]`` the gradient of the layer's own input at
the next step.
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
        recs = [layer.recurrent for layer in model.synaptic_layers[:n_hidden]]
        assert out.currents is not None
        drives = [c for c, r in zip(out.currents, recs) if r is not None]
        loss = F.cross_entropy(out.logits, yb, reduction="sum")
        grads = list(torch.autograd.grad(loss, [*hidden, *drives], allow_unused=True))
        drive_grads = iter(grads[n_hidden:])
        for k, (s, g) in enumerate(zip(hidden, grads[:n_hidden])):
            if g is None:
                g = torch.zeros_like(s)
            rec = recs[k]
            if rec is not None:  # the part through the layer's own next step
                gv = next(drive_grads)
                if gv is not None:
                    w_rec = rec.effective_weight().detach()
                    g = g.clone()
                    g[:-1] += (gv[1:] @ w_rec).reshape(g[:-1].shape)
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
    """Synapse-level Fisher score ``(w * dL/dw)^2`` of every weight matrix
    (:attr:`SpikingNetwork.weight_layers`: a recurrent one after its layer), weight-shaped.

    Squared per-batch products are summed over the calibration batches and divided by ``2N``.
    """
    gen = torch.Generator(device=x.device).manual_seed(seed)
    layers = model.weight_layers
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
