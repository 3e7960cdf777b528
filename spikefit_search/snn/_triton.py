"""Fused Triton kernels for the LIF membrane recurrence on CUDA.

One program owns ``BLOCK`` neurons and walks all ``T`` steps with the membrane in registers:
the forward kernel reads ``x[t]`` once and writes ``s[t]`` (and ``v[t]`` when a backward pass
will need it); the backward kernel walks ``t = T-1 .. 0`` computing
``g[t] = grad_s[t] * surrogate'(v[t] - threshold) + beta * keep[t] * g[t+1]`` and writes
``grad_x[t] = g[t]``. That is one launch per direction instead of several per step.

The arithmetic follows :func:`spikefit_search.snn.functional.lif_step` operation for operation
(``beta*u`` rounded, then ``+ x``; floating-point contraction into FMA is switched off), so the
spikes are identical to the torch path; gradients agree to float rounding.

Used only when the input lives on CUDA, Triton imports and the surrogate is a built-in one
(fast sigmoid or arctan); everything else takes the torch path. Nothing here is imported on a
CPU-only machine: the kernels are built on first use. ``ENABLED = False`` forces the torch
path (``bench/gpu_check.py`` uses it to compare both on the same GPU).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from spikefit_search.snn.surrogates import ArcTan, FastSigmoid, Surrogate

ENABLED = True
"""Set to ``False`` to force the torch path on CUDA."""

_FAST_SIGMOID, _ARCTAN = 0, 1
_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


try:  # optional: only CUDA machines with Triton take the fused path
    import triton
    import triton.language as tl

    _HAVE_TRITON = True
except Exception:  # pragma: no cover - depends on the machine
    _HAVE_TRITON = False

if _HAVE_TRITON:

    @triton.jit
    def _lif_fwd(  # type: ignore[no-untyped-def]
        x_ptr,
        s_ptr,
        v_ptr,
        n,
        steps,
        beta,
        threshold,
        RESET_ZERO: tl.constexpr,
        SAVE_V: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        pid = tl.program_id(0)
        offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        u = tl.zeros([BLOCK], dtype=tl.float32)
        xp = x_ptr + offs
        sp = s_ptr + offs
        vp = v_ptr + offs
        for _ in range(steps):
            x = tl.load(xp, mask=mask, other=0.0).to(tl.float32)
            v = u * beta + x  # no FMA: fp fusion is disabled at launch
            fired = v >= threshold
            s = fired.to(tl.float32)
            tl.store(sp, s.to(s_ptr.dtype.element_ty), mask=mask)
            if SAVE_V:
                tl.store(vp, v, mask=mask)
            if RESET_ZERO:
                u = tl.where(fired, 0.0, v)
            else:
                u = v - s * threshold
            xp += n
            sp += n
            vp += n

    @triton.jit
    def _lif_bwd(  # type: ignore[no-untyped-def]
        gs_ptr,
        v_ptr,
        gx_ptr,
        n,
        steps,
        last,
        beta,
        threshold,
        param,
        SURROGATE: tl.constexpr,
        RESET_ZERO: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        pid = tl.program_id(0)
        offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        gsp = gs_ptr + last + offs
        vp = v_ptr + last + offs
        gxp = gx_ptr + last + offs
        g = tl.zeros([BLOCK], dtype=tl.float32)
        for _ in range(steps):
            v = tl.load(vp, mask=mask, other=0.0)
            gs = tl.load(gsp, mask=mask, other=0.0).to(tl.float32)
            d = v - threshold
            if SURROGATE == 0:  # fast sigmoid: 1 / (slope*|d| + 1)^2, param = slope
                a = param * tl.abs(d) + 1.0
                sg = 1.0 / (a * a)
            else:  # arctan: (alpha/2) / (1 + (pi/2*alpha*d)^2), param = pi/2*alpha
                z = param * d
                sg = (param / 3.141592653589793) / (1.0 + z * z)
            if RESET_ZERO:
                carry = tl.where(v >= threshold, 0.0, beta * g)
            else:
                carry = beta * g
            g = gs * sg + carry
            tl.store(gxp, g.to(gx_ptr.dtype.element_ty), mask=mask)
            gsp -= n
            vp -= n
            gxp -= n


def _kernels() -> dict[str, Any] | None:
    """The compiled-on-first-launch kernels, or ``None`` where Triton is missing."""
    if not _HAVE_TRITON:
        return None
    return {"fwd": _lif_fwd, "bwd": _lif_bwd, "cdiv": triton.cdiv}


def _surrogate_code(surrogate: Surrogate) -> tuple[int, float] | None:
    if isinstance(surrogate, FastSigmoid):
        return _FAST_SIGMOID, float(surrogate.slope)
    if isinstance(surrogate, ArcTan):
        return _ARCTAN, math.pi / 2.0 * float(surrogate.alpha)
    return None


def available() -> bool:
    """Whether the fused kernels can run (Triton imports and a CUDA device is present)."""
    return ENABLED and torch.cuda.is_available() and _kernels() is not None


def supports(x: torch.Tensor, surrogate: Surrogate) -> bool:
    """Whether :func:`lif_multistep_triton` handles this input and surrogate."""
    return (
        x.is_cuda
        and x.dtype in _DTYPES
        and x.dim() >= 1
        and x.numel() > 0
        and _surrogate_code(surrogate) is not None
        and available()
    )


def _launch_config(n: int) -> tuple[int, int]:
    """(BLOCK, num_warps): small blocks while there are few neurons, so every SM gets work."""
    if n <= 128 * 1024:
        return 128, 4
    return 512, 4


def _forward(
    x: torch.Tensor, beta: float, threshold: float, reset_zero: bool, save_v: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    k = _kernels()
    assert k is not None
    steps = x.shape[0]
    n = x.numel() // steps
    spikes = torch.empty_like(x)
    v_all = torch.empty(x.shape, device=x.device, dtype=torch.float32) if save_v else spikes
    block, warps = _launch_config(n)
    grid = (k["cdiv"](n, block),)
    k["fwd"][grid](
        x,
        spikes,
        v_all,
        n,
        steps,
        beta,
        threshold,
        RESET_ZERO=reset_zero,
        SAVE_V=save_v,
        BLOCK=block,
        num_warps=warps,
        enable_fp_fusion=False,
    )
    return spikes, (v_all if save_v else None)


def _backward(
    grad_s: torch.Tensor,
    v_all: torch.Tensor,
    beta: float,
    threshold: float,
    reset_zero: bool,
    code: tuple[int, float],
    dtype: torch.dtype,
) -> torch.Tensor:
    k = _kernels()
    assert k is not None
    steps = v_all.shape[0]
    n = v_all.numel() // steps
    grad_s = grad_s.contiguous()
    grad_x = torch.empty(v_all.shape, device=v_all.device, dtype=dtype)
    block, warps = _launch_config(n)
    grid = (k["cdiv"](n, block),)
    k["bwd"][grid](
        grad_s,
        v_all,
        grad_x,
        n,
        steps,
        (steps - 1) * n,
        beta,
        threshold,
        code[1],
        SURROGATE=code[0],
        RESET_ZERO=reset_zero,
        BLOCK=block,
        num_warps=warps,
        enable_fp_fusion=False,
    )
    return grad_x


class _LIFTriton(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        beta: float,
        threshold: float,
        reset_zero: bool,
        code: tuple[int, float],
    ) -> torch.Tensor:
        spikes, v_all = _forward(x, beta, threshold, reset_zero, save_v=True)
        ctx.save_for_backward(v_all)
        ctx.args = (beta, threshold, reset_zero, code, x.dtype)
        return spikes

    @staticmethod
    def backward(ctx: Any, grad_s: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (v_all,) = ctx.saved_tensors
        beta, threshold, reset_zero, code, dtype = ctx.args
        grad_x = _backward(grad_s, v_all, beta, threshold, reset_zero, code, dtype)
        return grad_x, None, None, None, None


def lif_multistep_triton(
    x: torch.Tensor, beta: float, threshold: float, reset_zero: bool, surrogate: Surrogate
) -> torch.Tensor:
    """:func:`~spikefit_search.snn.functional.lif_multistep` on CUDA with the fused kernels.

    Call only where :func:`supports` is true; ``x`` must be contiguous, shape ``(T, ...)``.
    """
    code = _surrogate_code(surrogate)
    assert code is not None
    if not (torch.is_grad_enabled() and x.requires_grad):
        return _forward(x, beta, threshold, reset_zero, save_v=False)[0]
    out: torch.Tensor = _LIFTriton.apply(x, beta, threshold, reset_zero, code)
    return out
