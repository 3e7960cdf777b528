r"""Pure functions of the leaky integrate-and-fire neuron.

Dynamics (``v`` membrane before reset, ``u`` after reset, ``x`` synaptic input):

.. math::

    v[t] = \beta\,u[t-1] + x[t], \qquad s[t] = H(v[t] - \theta), \qquad
    u[t] = v[t] - \theta s[t] \;\text{(subtract)} \;\text{or}\; v[t](1 - s[t]) \;\text{(zero)}

``beta = 1`` is integrate-and-fire. The reset is detached from the graph (as in snnTorch), so
the gradient flows through the membrane and the surrogate only.

Two implementations give identical outputs and gradients:

* :func:`lif_step`, one step at a time with ordinary autograd (the reference);
* :func:`lif_multistep`, all ``T`` steps at once with one hand-written autograd function: the
  forward loop builds no graph and the backward loop computes the surrogate-gradient BPTT
  directly. This is the fast path every model uses.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from spikefit_search.snn.surrogates import Surrogate, spike


class LIFParameters(NamedTuple):
    """Neuron parameters.

    Attributes:
        beta: membrane decay per step, in (0, 1]; 1 is integrate-and-fire.
        threshold: firing threshold (same unit as the synaptic input).
        reset: ``"subtract"`` or ``"zero"``.
    """

    beta: float = 0.9
    threshold: float = 1.0
    reset: str = "subtract"


class LIFState(NamedTuple):
    """Membrane potential after reset, ``u[t]``."""

    u: torch.Tensor


def lif_step(
    x: torch.Tensor, state: LIFState | None, params: LIFParameters, surrogate: Surrogate
) -> tuple[torch.Tensor, LIFState]:
    """Advance one step: returns the spikes and the new state (reference implementation)."""
    u_prev = torch.zeros_like(x) if state is None else state.u
    v = params.beta * u_prev + x
    s = spike(v - params.threshold, surrogate)
    if params.reset == "subtract":
        u = v - params.threshold * s.detach()
    else:
        u = v * (1.0 - s.detach())
    return s, LIFState(u)


class _LIFMultiStep(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        beta: float,
        threshold: float,
        reset_zero: bool,
        surrogate: Surrogate,
    ) -> torch.Tensor:
        v_all = torch.empty_like(x)
        u = torch.zeros_like(x[0])
        for t in range(x.shape[0]):
            v = torch.add(x[t], u, alpha=beta, out=v_all[t])
            fired = v >= threshold
            u = torch.where(fired, 0.0, v) if reset_zero else v - threshold * fired.to(v.dtype)
        spikes = (v_all >= threshold).to(x.dtype)
        ctx.save_for_backward(v_all)
        ctx.beta = beta
        ctx.threshold = threshold
        ctx.reset_zero = reset_zero
        ctx.surrogate = surrogate
        return spikes

    @staticmethod
    def backward(ctx: Any, grad_s: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (v_all,) = ctx.saved_tensors
        beta = ctx.beta
        local = grad_s * ctx.surrogate.derivative(v_all - ctx.threshold)
        grad_x = torch.empty_like(local)
        steps = local.shape[0]
        grad_x[steps - 1] = local[steps - 1]
        if ctx.reset_zero:
            keep = (v_all < ctx.threshold).to(local.dtype).mul_(beta)
            for t in range(steps - 2, -1, -1):
                torch.addcmul(local[t], keep[t], grad_x[t + 1], out=grad_x[t])
        else:
            for t in range(steps - 2, -1, -1):
                torch.add(local[t], grad_x[t + 1], alpha=beta, out=grad_x[t])
        return grad_x, None, None, None, None


def lif_multistep(
    x: torch.Tensor, params: LIFParameters, surrogate: Surrogate
) -> torch.Tensor:
    """Simulate ``T`` steps of LIF neurons from rest.

    Shape:
        x: ``(T, ...)`` synaptic input; returns spikes of the same shape.
    """
    out: torch.Tensor = _LIFMultiStep.apply(
        x.contiguous(), float(params.beta), float(params.threshold), params.reset == "zero", surrogate
    )
    return out


def readout_weights(steps: int, beta: float, *, device: torch.device | None = None,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Coefficients ``c[t]`` with ``mean_t u[t] = sum_t c[t] x[t]`` for a non-spiking leaky
    integrator ``u[t] = beta*u[t-1] + x[t]`` started at rest."""
    remaining = torch.arange(steps, 0, -1, device=device, dtype=torch.float64)
    if beta == 1.0:
        coeff = remaining
    else:
        coeff = (1.0 - beta**remaining) / (1.0 - beta)
    return (coeff / steps).to(dtype)


def leaky_readout(x: torch.Tensor, beta: float) -> torch.Tensor:
    """Mean membrane over time of a non-spiking leaky layer driven by ``x`` of shape ``(T, B, N)``."""
    c = readout_weights(x.shape[0], beta, device=x.device, dtype=x.dtype)
    return torch.tensordot(c, x, dims=([0], [0]))


def leaky_readout_stepwise(x: torch.Tensor, beta: float) -> torch.Tensor:
    """Reference for :func:`leaky_readout`: the same integrator one step at a time."""
    u = torch.zeros_like(x[0])
    total = torch.zeros_like(x[0])
    for t in range(x.shape[0]):
        u = beta * u + x[t]
        total = total + u
    return total / x.shape[0]
