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

import os
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F

from spikefit_search.snn.surrogates import FastSigmoid, Surrogate, spike


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


def _forward_loop(
    x: torch.Tensor, beta: float, threshold: float, reset_zero: bool, v_all: torch.Tensor | None
) -> torch.Tensor:
    """The membrane recurrence without a graph: three or four in-place kernels per step into
    preallocated buffers, no per-step allocation. Returns the spikes.

    Arithmetic is the reference's, operation for operation (``beta*u`` rounded, then ``+ x``;
    ``u = v - threshold*s`` or ``v*(1 - s)``), so the membrane is bit-identical to
    :func:`lif_step`. With ``v_all`` given, ``v[t]`` is written there (for the backward pass);
    otherwise one step-sized buffer is reused.
    """
    steps = x.shape[0]
    spikes = torch.empty_like(x)
    u = torch.empty_like(x[0])
    scratch = torch.empty_like(x[0]) if v_all is None else None
    keep = torch.empty_like(x[0]) if reset_zero else None
    for t in range(steps):
        v = v_all[t] if v_all is not None else scratch
        assert v is not None
        if t == 0:
            v.copy_(x[0])  # beta * 0 + x[0]
        else:
            torch.mul(u, beta, out=v)
            v.add_(x[t])
        torch.ge(v, threshold, out=spikes[t])
        if keep is not None:
            torch.lt(v, threshold, out=keep)
            torch.mul(v, keep, out=u)
        else:
            torch.sub(v, spikes[t], alpha=threshold, out=u)  # threshold*s is exact: same as ref
    return spikes


def _surrogate_grad(
    grad_s: torch.Tensor, v_all: torch.Tensor, threshold: float, surrogate: Surrogate
) -> torch.Tensor:
    """``grad_s * surrogate'(v - threshold)`` in a fresh tensor, with in-place kernels and no
    ``pow``/``reciprocal`` for the built-in fast sigmoid (a few ulp from the reference)."""
    if isinstance(surrogate, FastSigmoid):
        a = v_all - threshold
        a.abs_().mul_(surrogate.slope).add_(1.0)
        a.mul_(a)
        return torch.div(grad_s, a, out=a)
    return grad_s * surrogate.derivative(v_all - threshold)


def _backward_loop(
    local: torch.Tensor, v_all: torch.Tensor, beta: float, threshold: float, reset_zero: bool
) -> torch.Tensor:
    """Surrogate BPTT through the membrane: ``g[t] = local[t] + beta * keep[t] * g[t + 1]``
    with ``keep[t] = (v[t] < threshold)`` for the zero reset and 1 for the subtract reset (the
    detached reset passes the gradient unchanged). Overwrites and returns ``local``: no second
    ``(T, ...)`` buffer, which keeps the backward peak below snnTorch's (a ``(T x T) @ local``
    product instead of the loop was barely faster on the 2-core CPU and costs one more buffer).
    """
    steps = local.shape[0]
    if not reset_zero:
        for t in range(steps - 2, -1, -1):
            local[t].add_(local[t + 1], alpha=beta)
        return local
    keep = torch.empty_like(local[0])
    for t in range(steps - 2, -1, -1):
        torch.lt(v_all[t], threshold, out=keep)
        local[t].addcmul_(keep, local[t + 1], value=beta)
    return local


class _LIFMultiStep(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        beta: float,
        threshold: float,
        reset_zero: bool,
        surrogate: Surrogate,
    ) -> torch.Tensor:
        v_all = torch.empty_like(x)
        spikes = _forward_loop(x, beta, threshold, reset_zero, v_all)
        ctx.save_for_backward(v_all)
        ctx.reset_zero = reset_zero
        ctx.beta = beta
        ctx.threshold = threshold
        ctx.surrogate = surrogate
        return spikes

    @staticmethod
    def backward(ctx: Any, grad_s: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (v_all,) = ctx.saved_tensors
        local = _surrogate_grad(grad_s.contiguous(), v_all, ctx.threshold, ctx.surrogate)
        grad_x = _backward_loop(local, v_all, ctx.beta, ctx.threshold, ctx.reset_zero)
        return grad_x, None, None, None, None


def lif_multistep(x: torch.Tensor, params: LIFParameters, surrogate: Surrogate) -> torch.Tensor:
    """Simulate ``T`` steps of LIF neurons from rest.

    Shape:
        x: ``(T, ...)`` synaptic input; returns spikes of the same shape.

    Paths (same outputs, gradients within float rounding):

    * CUDA with Triton importable: one fused kernel for the forward recurrence and one for the
      backward (:mod:`spikefit_search.snn._triton`);
    * no gradient needed (inference, ``torch.no_grad``): the forward loop only, nothing saved;
    * otherwise a hand-written autograd function: forward loop without a graph, backward BPTT.
    """
    x = x.contiguous()
    beta, threshold = float(params.beta), float(params.threshold)
    reset_zero = params.reset == "zero"
    if x.is_cuda:
        from spikefit_search.snn import _triton

        if _triton.supports(x, surrogate):
            return _triton.lif_multistep_triton(x, beta, threshold, reset_zero, surrogate)
    if not (torch.is_grad_enabled() and x.requires_grad):
        return _forward_loop(x, beta, threshold, reset_zero, None)
    out: torch.Tensor = _LIFMultiStep.apply(x, beta, threshold, reset_zero, surrogate)
    return out


def readout_weights(
    steps: int,
    beta: float,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Coefficients ``c[t]`` with ``mean_t u[t] = sum_t c[t] x[t]`` for a non-spiking leaky
    integrator ``u[t] = beta*u[t-1] + x[t]`` started at rest."""
    remaining = torch.arange(steps, 0, -1, device=device, dtype=torch.float64)
    if beta == 1.0:
        coeff = remaining
    else:
        coeff = (1.0 - beta**remaining) / (1.0 - beta)
    return (coeff / steps).to(dtype)


def leaky_readout(x: torch.Tensor, beta: float) -> torch.Tensor:
    """Mean membrane over time of a non-spiking leaky layer driven by ``x`` (``(T, B, N)``)."""
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


class _EventLinear(torch.autograd.Function):
    """``F.linear`` of a binary event tensor: each row's output is the sum of the weight columns
    of its events (``embedding_bag``), ``events x n_out`` additions instead of
    ``n_in x n_out`` products. The weight gradient is ``grad^T @ x``, the dense path's own."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        rows, n_in = x.shape
        flat = torch.nonzero(x.reshape(-1)).squeeze(1)
        row = torch.div(flat, n_in, rounding_mode="floor")
        col = flat - row * n_in
        offsets = torch.searchsorted(row, torch.arange(rows, device=x.device))
        out = F.embedding_bag(col, weight.t().contiguous(), offsets, mode="sum")
        if bias is not None:
            out += bias
        ctx.save_for_backward(x)
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (x,) = ctx.saved_tensors
        grad_w = grad.t().mm(x) if ctx.needs_input_grad[1] else None
        grad_b = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return None, grad_w, grad_b


EVENT_MIN_INPUTS = 256
"""Inputs below which the dense product is always used (the digits' 64 are)."""
EVENT_MAX_DENSITY = 0.25
"""Fraction of non-zero inputs above which the dense product is used."""
EVENT_ENV = "SPIKEFIT_EVENT_LAYER"
"""Set to 1 to let wide, sparse binary inputs take :func:`event_linear`. Off by default: on the
2-core CPU of docs/benchmarks.md the index extraction (``nonzero``) alone cost more than torch's
dense product, and the event layer was about 4x slower than it (784 inputs, 10-30 % events,
forward and weight gradient; ``docs/decisions.md``)."""


def event_linear_pays(x: torch.Tensor) -> bool:
    """Whether :func:`event_linear` is used for this binary input ``(rows, n_in)``: only when
    ``SPIKEFIT_EVENT_LAYER=1``, on the CPU, for wide and sparse inputs without gradient."""
    if os.environ.get(EVENT_ENV) != "1":
        return False
    if x.is_cuda or x.requires_grad or x.dim() != 2 or x.shape[1] < EVENT_MIN_INPUTS:
        return False
    return bool(torch.count_nonzero(x) <= EVENT_MAX_DENSITY * x.numel())


def event_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` for a binary ``x`` (``(rows, n_in)``, no gradient), event
    by event. Same result up to the order of the float additions; the weight and bias
    gradients are the dense path's."""
    if x.requires_grad:
        raise ValueError("event_linear needs an input without gradient (encoded spikes).")
    out: torch.Tensor = _EventLinear.apply(x, weight, bias)
    return out


def lif_recurrent_stepwise(
    x: torch.Tensor,
    w_rec: torch.Tensor,
    params: LIFParameters,
    surrogate: Surrogate,
) -> torch.Tensor:
    """Reference for :func:`lif_recurrent`: :func:`lif_step` one step at a time, the recurrent
    input ``F.linear(s[t-1], w_rec)`` added to ``x[t]``, ordinary autograd throughout."""
    state: LIFState | None = None
    s_prev = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        drive = x[t] + F.linear(s_prev, w_rec)
        s_prev, state = lif_step(drive, state, params, surrogate)
        out.append(s_prev)
    return torch.stack(out)


def _recurrent_forward(
    x: torch.Tensor, w_rec: torch.Tensor, beta: float, threshold: float, reset_zero: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward loop of :func:`lif_recurrent` without a graph: ``(spikes, v)``, ``v[t]`` the
    membrane before reset. Operation for operation the reference's arithmetic
    (``drive = x[t] + F.linear(s[t-1], w_rec)``, then ``beta*u + drive``), so the spikes are
    bit-identical."""
    steps = x.shape[0]
    spikes = torch.empty_like(x)
    v_all = torch.empty_like(x)
    u = torch.zeros_like(x[0])
    decayed = torch.empty_like(x[0])
    for t in range(steps):
        v = v_all[t]
        if t == 0:
            v.copy_(x[0])  # beta * 0 + (x[0] + 0)
        else:
            torch.add(x[t], F.linear(spikes[t - 1], w_rec), out=v)
            v.add_(torch.mul(u, beta, out=decayed))
        torch.ge(v, threshold, out=spikes[t])
        if reset_zero:
            torch.mul(v, torch.lt(v, threshold).to(v.dtype), out=u)
        else:
            torch.sub(v, spikes[t], alpha=threshold, out=u)
    return spikes, v_all


class _LIFRecurrent(torch.autograd.Function):
    """All ``T`` steps of a recurrent LIF population; backward is the BPTT of
    ``v[t] = beta u[t-1] + x[t] + W s[t-1]``: with ``g[t] = dL/dv[t]``,
    ``g[t] = surr'(v[t]) (dL/ds[t] + g[t+1] W) + beta keep[t] g[t+1]`` and
    ``dL/dW = sum_t g[t+1]^T s[t]``."""

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        w_rec: torch.Tensor,
        beta: float,
        threshold: float,
        reset_zero: bool,
        surrogate: Surrogate,
    ) -> torch.Tensor:
        spikes, v_all = _recurrent_forward(x, w_rec, beta, threshold, reset_zero)
        ctx.save_for_backward(spikes, v_all, w_rec)
        ctx.beta, ctx.threshold, ctx.reset_zero, ctx.surrogate = (
            beta,
            threshold,
            reset_zero,
            surrogate,
        )
        return spikes

    @staticmethod
    def backward(ctx: Any, grad_s: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        spikes, v_all, w_rec = ctx.saved_tensors
        beta, threshold = ctx.beta, ctx.threshold
        steps = v_all.shape[0]
        grad_s = grad_s.contiguous()
        slope = _surrogate_grad(torch.ones_like(v_all), v_all, threshold, ctx.surrogate)
        keep = torch.lt(v_all, threshold).to(v_all.dtype) if ctx.reset_zero else None
        grad_v = torch.empty_like(v_all)
        torch.mul(grad_s[-1], slope[-1], out=grad_v[-1])
        for t in range(steps - 2, -1, -1):
            nxt, g = grad_v[t + 1], grad_v[t]
            torch.addmm(grad_s[t], nxt, w_rec, out=g)  # dL/ds[t]: its own and through W_rec
            g.mul_(slope[t])
            if keep is not None:
                g.addcmul_(keep[t], nxt, value=beta)
            else:
                g.add_(nxt, alpha=beta)
        grad_w = None
        if ctx.needs_input_grad[1]:
            n = w_rec.shape[0]
            if steps > 1:
                grad_w = grad_v[1:].reshape(-1, n).t().mm(spikes[:-1].reshape(-1, n))
            else:
                grad_w = torch.zeros_like(w_rec)
        return grad_v, grad_w, None, None, None, None


def lif_recurrent(
    x: torch.Tensor, w_rec: torch.Tensor, params: LIFParameters, surrogate: Surrogate
) -> torch.Tensor:
    """Simulate ``T`` steps of a recurrent LIF population from rest: each neuron receives
    ``x[t]`` and the population's own spikes of step ``t - 1`` through ``w_rec``
    (``(n, n)``, row = receiving neuron), ``v[t] = beta u[t-1] + x[t] + w_rec s[t-1]``.

    Surrogate-gradient BPTT through the membrane and the recurrent spikes (the reset is
    detached, as in :func:`lif_multistep`); plain torch operations, so it runs wherever the
    tensors live (CPU or CUDA). Spikes identical to :func:`lif_recurrent_stepwise`,
    gradients within float rounding.

    Shape:
        x: ``(T, B, n)`` feed-forward input current; returns spikes of the same shape.
    """
    x = x.contiguous()
    beta, threshold = float(params.beta), float(params.threshold)
    reset_zero = params.reset == "zero"
    if not (torch.is_grad_enabled() and (x.requires_grad or w_rec.requires_grad)):
        return _recurrent_forward(x, w_rec, beta, threshold, reset_zero)[0]
    out: torch.Tensor = _LIFRecurrent.apply(x, w_rec, beta, threshold, reset_zero, surrogate)
    return out
