r"""The chip's own neuron, in the chip's integer arithmetic, trainable straight through.

A quantized layer's weights are ``scale * k`` with integer codes ``k`` (CAT, uniform QAT,
k-means). On the chip the layer computes with the integers ``k * 2^S`` and a threshold
``theta_int = round(theta * 2^S / scale)``: dividing the float membrane by ``scale / 2^S``
turns the float network into the integer one, up to the rounding of the threshold, the
chip's decay and synapse, its spike limit and its state width, which :func:`neuron_steps`
simulates exactly. ``S`` is the weight shift: part of it fills the stored weight's spare bits
(``k`` of a ``b``-bit codebook stored at 8 bits is ``k * 2^(8-b)``), the rest is the chip's
per-matrix shift (Xylo's ``weight_shift_*``). The largest ``S`` that keeps
``theta_int <= 2^(state_bits-1) / threshold_headroom`` is taken, so the threshold is resolved
finely and the membrane still holds several thresholds before it saturates.

Xylo (``family="xylo"``; xylosim 0.1.3 ``src/v2/cpp/XyloIAFNeuron.cpp``, ``XyloLayer.cpp``,
``docs/profiles.md``), one step, all values 16-bit saturating integers:

.. math::

    i \leftarrow i + \textstyle\sum w\,x, \quad i \leftarrow i - d(i, \text{dash}_{syn}), \quad
    v \leftarrow v - d(v, \text{dash}_{mem}) + i, \quad
    n = \min(\lfloor v / \theta \rfloor, n_{max}) \text{ if } v \ge \theta, \quad
    v \leftarrow v - n\,\theta

with ``d(v, dash) = v >> dash`` (arithmetic shift), or ``sign(v)`` where that is 0. Input
events are clipped to 15 per channel and step; a hidden neuron emits up to 31 spikes, an
output neuron 1; every population receives the previous one's spikes one step later.

Speck (``family="speck"``; sinabs 3.1 ``layers/functional/lif.py``, ``activation/
spike_generation.py``, ``backend/dynapcnn/discretize.py``): integrate-and-fire straight from
the weights, ``v <- v + sum w x``, ``n = floor(v / theta)`` for ``v > 0``, ``v <- v - n
theta``, then ``v <- max(v, v_min)`` with ``v_min = -2^15``.

Loihi (``family="loihi"``; Lava ``lava-nc/lava@b6822fb src/lava/proc/lif/models.py``
``PyLifModelBitAcc`` and ``AbstractPyLifModelFixed``, ``src/lava/proc/dense/models.py``
``PyDenseModelBitAcc``): the weighted sum is shifted left by 6 (``a_in << 6``), the threshold
too (``vth << 6``), and with ``[p] = sign(p) (|p| >> 12)`` (rounding towards zero)

.. math::

    u \leftarrow [u\,(4096 - du - 1)] + 2^6 \textstyle\sum w\,x \;(\text{wrapped at } 2^{23}),
    \quad v \leftarrow \operatorname{clip}([v\,(4096 - dv)] + u, \pm(2^{23} - 1)), \quad
    s = v > 2^6 v_{th}, \quad v \leftarrow 0 \text{ where } s

(Loihi 1's one-bit ``ds_offset`` adds 1 to ``du``, so ``du = 4095`` empties the current each
step). Input spikes are binary (``num_message_bits = 0``) and every population hears the
previous one a step later (Dense sends the sum of step ``t - 1``).

The backward pass is surrogate-gradient BPTT of the same recurrence with the decays as the
factors they approximate (``1 - 2^-dash``; ``1 - dv/4096`` and ``1 - (du+1)/4096``), the
rounding passed straight through, and a reset to zero gating the membrane's gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from spikefit_search.exceptions import ConfigError
from spikefit_search.snn.config import ChipNeuron
from spikefit_search.snn.surrogates import Surrogate

if TYPE_CHECKING:
    from spikefit_search.snn.network import SpikingNetwork


@dataclass(frozen=True)
class LayerIntegers:
    """One synaptic layer as the chip holds it.

    Attributes:
        codes: the codes ``k`` of the quantizer, int64, weight-shaped (0 where pruned).
        stored_shift: ``k`` is stored as ``k * 2^stored_shift`` (fills the weight's width).
        weight_shift: the chip's left shift of the stored weights (Xylo's ``weight_shift_*``).
        threshold: integer firing threshold (for a non-spiking readout: the largest one).
        dash_mem: membrane decay code, or None (no leak): a bit shift, or on a ``loihi12`` chip
            the 12-bit ``dv``.
        dash_syn: synaptic current decay code, or None (no synaptic current): a bit shift, or
            on a ``loihi12`` chip the 12-bit ``du``.
        max_spikes: spikes per step allowed, or None.
        spiking: the layer's neurons spike (a readout of the membrane does not).
        unit: float value of one integer state unit, ``scale / 2^(stored + weight shift)``.
    """

    codes: torch.Tensor
    stored_shift: int
    weight_shift: int
    threshold: int
    dash_mem: int | None
    dash_syn: int | None
    max_spikes: int | None
    spiking: bool
    unit: float
    recurrent: LayerIntegers | None = None
    """The layer's recurrent weight, on the layer's grid and shifts (its codes only differ)."""

    @property
    def shift(self) -> int:
        return self.stored_shift + self.weight_shift

    @property
    def stored_weights(self) -> torch.Tensor:
        """The integers the chip's weight memory holds, int64."""
        return self.codes << self.stored_shift


def is_chip_exact(model: SpikingNetwork) -> bool:
    """Whether ``model`` computes in its chip's arithmetic: its config names a chip neuron and
    every synaptic layer is quantized to integer codes."""
    from spikefit_search.compression._base import BaseQuantizer

    return model.config.chip is not None and all(
        isinstance(layer.weight_transform, BaseQuantizer) for layer in model.weight_layers
    )


def _threshold_cap(chip: ChipNeuron) -> int:
    largest = 2 ** (chip.threshold_bits - 1) - 1
    state = 2 ** (chip.state_bits - 1 - chip.state_shift)
    return max(1, min(largest, state // chip.threshold_headroom))


def _total_shift(scale: float, theta: float, cap: int, most: int) -> int:
    """The largest shift in ``[0, most]`` whose threshold ``theta * 2^S / scale`` rounds to at
    most ``cap`` (0 when even that is above)."""
    for shift in range(most, -1, -1):
        if round(theta * 2.0**shift / scale) <= cap:
            return shift
    return 0


def layer_integers(
    model: SpikingNetwork,
    weights: Sequence[torch.Tensor] | None = None,
    rec_weights: Sequence[torch.Tensor | None] | None = None,
) -> list[LayerIntegers]:
    """The integer form of every synaptic layer of a chip-exact ``model``, input first.

    ``weights``: the layers' effective weights (``scale * k`` exactly, 0 where pruned), as the
    forward pass computes them; by default those of evaluation mode.

    Raises:
        ConfigError: the model has no chip neuron, a layer is not quantized, or its codes do not
            fit the chip's weight width.
    """
    from spikefit_search._modes import eval_mode
    from spikefit_search.compression._base import BaseQuantizer

    chip = model.config.chip
    if chip is None:
        raise ConfigError("layer_integers needs a network with a chip neuron, but got chip=None.")
    cfg = model.config
    if cfg.kind == "conv" and cfg.pool > 1 and cfg.pool_mode != "sum":
        raise ConfigError(
            "a chip-exact network pools by sum (Speck runs AvgPool as SumPool), but got "
            f"pool_mode={cfg.pool_mode!r}."
        )
    cap = _threshold_cap(chip)
    theta = float(cfg.threshold)
    layers = model.synaptic_layers
    if weights is None:
        with eval_mode(model), torch.no_grad():
            weights = [layer.effective_weight() for layer in layers]
            rec_weights = [
                None if layer.recurrent is None else layer.recurrent.effective_weight()
                for layer in layers
            ]
    if rec_weights is None:
        rec_weights = [None] * len(layers)
    plans: list[tuple[torch.Tensor, float, int, int]] = []
    for layer, weight in zip(layers, weights):
        quantizer = layer.weight_transform
        if not isinstance(quantizer, BaseQuantizer):
            raise ConfigError(
                f"a chip-exact layer must be quantized, but layer {layer.spec.index} has "
                f"weight_transform={type(quantizer).__name__}."
            )
        if quantizer.bits > chip.weight_bits:
            raise ConfigError(
                f"weights must fit the chip's {chip.weight_bits} bits, but layer "
                f"{layer.spec.index} has {quantizer.bits}-bit codes."
            )
        spare = chip.weight_bits - quantizer.bits
        scale = float(quantizer.scale)
        codes = torch.round(weight.detach() / scale).to(torch.int64)  # exact: w = scale * k
        total = _total_shift(scale, theta, cap, spare + chip.shift_max)
        stored = min(total, spare)
        plans.append((codes, scale, stored, total - stored))
    if cfg.recurrent and chip.delay:
        # Xylo: a recurrent block of the first layer sits in weights_rec beside the
        # hidden-to-hidden ones, with the first layer's unit: one shift for all hidden layers
        inner = range(0, len(plans) - 1)
        common = min(plans[i][3] for i in inner)
        for i in inner:
            codes, scale, stored, _ = plans[i]
            plans[i] = (codes, scale, stored, common)
    elif chip.delay and len(plans) > 3:
        # Xylo: the hidden-to-hidden layers share one matrix, so one hardware shift
        inner = range(1, len(plans) - 1)
        common = min(plans[i][3] for i in inner)
        for i in inner:
            codes, scale, stored, _ = plans[i]
            plans[i] = (codes, scale, stored, common)
    dash_mem = chip.dash_for(cfg.beta)
    out: list[LayerIntegers] = []
    for layer, (codes, scale, stored, hw), w_rec in zip(layers, plans, rec_weights):
        shift = stored + hw
        spiking = layer.spec.spiking
        is_out = layer is layers[-1]
        top = 2 ** (chip.threshold_bits - 1) - 1
        threshold = min(top, max(1, round(theta * 2.0**shift / scale))) if spiking else top
        out.append(
            LayerIntegers(
                codes=codes,
                stored_shift=stored,
                weight_shift=hw,
                threshold=threshold,
                dash_mem=dash_mem,
                dash_syn=chip.du if chip.decay == "loihi12" else chip.dash_syn,
                max_spikes=chip.readout_spikes_per_step if is_out else chip.spikes_per_step,
                spiking=spiking,
                unit=scale / 2.0**shift,
                recurrent=_recurrent_integers(layer, w_rec, scale, stored, hw, chip),
            )
        )
    return out


def _recurrent_integers(
    layer: Any, w_rec: torch.Tensor | None, scale: float, stored: int, hw: int, chip: ChipNeuron
) -> LayerIntegers | None:
    """The recurrent weight of ``layer`` as integers on the layer's grid step ``scale``."""
    from spikefit_search.compression._base import BaseQuantizer

    rec = layer.recurrent
    if rec is None:
        return None
    quantizer = rec.weight_transform
    if not isinstance(quantizer, BaseQuantizer) or float(quantizer.scale) != scale:
        raise ConfigError(
            "a chip-exact recurrent weight must be quantized on its layer's grid step, but "
            f"layer {layer.spec.index} has weight_transform={type(quantizer).__name__}."
        )
    if quantizer.bits > chip.weight_bits:
        raise ConfigError(
            f"weights must fit the chip's {chip.weight_bits} bits, but layer "
            f"{layer.spec.index}'s recurrent weight has {quantizer.bits}-bit codes."
        )
    if w_rec is None:
        w_rec = rec.effective_weight()
    codes = torch.round(w_rec.detach() / scale).to(torch.int64)
    shift = stored + hw
    return LayerIntegers(
        codes=codes,
        stored_shift=stored,
        weight_shift=hw,
        threshold=0,
        dash_mem=None,
        dash_syn=None,
        max_spikes=None,
        spiking=True,
        unit=scale / 2.0**shift,
    )


def integer_weight(weight: torch.Tensor, ints: LayerIntegers) -> torch.Tensor:
    """``weight`` (the layer's effective float weight) in integer units, ``k * 2^S`` exactly,
    with the gradient of ``weight / unit``."""
    w = weight / ints.unit
    exact = (ints.codes << ints.shift).to(w.dtype)
    return w + (exact - w).detach()


def _bounds(chip: ChipNeuron) -> tuple[float, float] | None:
    if not chip.saturate:
        return None
    half = float(2 ** (chip.state_bits - 1))
    return (-half, half - 1.0)


def _decay(v: torch.Tensor, dash: int) -> torch.Tensor:
    """Xylo's bit-shift decay ``v >> dash``, at least one unit towards zero."""
    dv = torch.floor(v * 2.0**-dash)
    return torch.where((dv == 0) & (v > 0), torch.ones_like(v), dv)


def _fires(ints: LayerIntegers, spiking: bool) -> bool:
    """Whether the neurons spike (and reset): spiking ones, and a readout that the chip still
    lets spike (Xylo's output neurons)."""
    return spiking or ints.max_spikes is not None


def _forward_loihi(
    current: torch.Tensor, ints: LayerIntegers, chip: ChipNeuron, *, spiking: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lava's ``PyLifModelBitAcc`` step for step, in int64. Returns what :func:`_forward`
    returns, in threshold-mantissa units (the state divided by ``2^state_shift``)."""
    half = 2 ** (chip.state_bits - 1)
    align = 2**chip.state_shift
    theta = int(ints.threshold) * align
    keep_u = 4096 - (4095 if ints.dash_syn is None else int(ints.dash_syn)) - 1
    keep_v = 4096 - (0 if ints.dash_mem is None else int(ints.dash_mem))
    x_all = current.detach().round().to(torch.int64) * align
    u = torch.zeros_like(x_all[0])
    v = torch.zeros_like(x_all[0])
    fires = _fires(ints, spiking)
    out = torch.empty_like(current)
    v_pre = torch.empty_like(current)
    for t in range(current.shape[0]):
        u = torch.div(u * keep_u, 4096, rounding_mode="trunc") + x_all[t]
        u = torch.where(u > half, u - 2 * half, u)  # Lava wraps the current at 24 bits
        u = torch.where(u <= -half, u + 2 * half, u)
        v = torch.div(v * keep_v, 4096, rounding_mode="trunc") + u
        v = v.clamp(-half + 1, half - 1)
        v_pre[t] = v.to(current.dtype) / align
        s = v > theta if fires else torch.zeros_like(v, dtype=torch.bool)
        v = torch.where(s, 0, v) if chip.reset_to_zero else v - s.to(v.dtype) * theta
        out[t] = s.to(current.dtype) if spiking else v.to(current.dtype) / align
    return out, v_pre


def _forward(
    current: torch.Tensor,
    ints: LayerIntegers,
    chip: ChipNeuron,
    *,
    spiking: bool,
    w_rec: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The integer recurrence over ``T`` steps. Returns (spike counts or the membrane after
    reset when not spiking, the membrane before reset). ``w_rec``: the population's recurrent
    weight in integer units (Xylo: its spike counts of step ``t - 1`` arrive at step ``t``,
    with the input's)."""
    if chip.family == "loihi":
        return _forward_loihi(current, ints, chip, spiking=spiking)
    bounds = _bounds(chip)
    theta = float(ints.threshold)
    v = torch.zeros_like(current[0])
    i = torch.zeros_like(current[0]) if ints.dash_syn is not None else None
    out = torch.empty_like(current)
    v_pre = torch.empty_like(current)
    v_min = None if chip.v_min is None else float(chip.v_min)
    for t in range(current.shape[0]):
        x = current[t]
        if w_rec is not None and t > 0:
            x = x + out[t - 1] @ w_rec.t()
        if i is not None:
            i = i + x
            if bounds is not None:
                i.clamp_(*bounds)
            i = i - _decay(i, int(ints.dash_syn))  # type: ignore[arg-type]
            x = i
        dv = x if ints.dash_mem is None else x - _decay(v, ints.dash_mem)
        if bounds is not None:
            dv = dv.clamp(*bounds)
        v = v + dv
        if bounds is not None:
            v.clamp_(*bounds)
        v_pre[t] = v
        n = torch.div(v, theta, rounding_mode="floor").clamp_(min=0.0)
        if ints.max_spikes is not None:
            n.clamp_(max=float(ints.max_spikes))
        if not _fires(ints, spiking):
            n.zero_()
        v = v - n * theta
        if v_min is not None:
            v.clamp_(min=v_min)
        out[t] = n if spiking else v
    return out, v_pre


def _backward_loihi(
    local: torch.Tensor, ints: LayerIntegers, chip: ChipNeuron, v_pre: torch.Tensor, fires: bool
) -> torch.Tensor:
    """BPTT of ``u[t] = bu u[t-1] + x[t]``, ``v[t] = bv v[t-1] keep[t-1] + u[t]`` with
    ``bv = 1 - dv/4096``, ``bu = 1 - (du+1)/4096`` and ``keep = 1`` except after a spike when
    the reset is to zero (the detached subtractive reset passes the gradient unchanged)."""
    beta_v = 1.0 - (0 if ints.dash_mem is None else int(ints.dash_mem)) / 4096.0
    beta_u = 1.0 - ((4095 if ints.dash_syn is None else int(ints.dash_syn)) + 1) / 4096.0
    steps = local.shape[0]
    if chip.reset_to_zero and fires:
        keep = torch.empty_like(local[0])
        theta = float(ints.threshold)
        for t in range(steps - 2, -1, -1):
            torch.le(v_pre[t], theta, out=keep)
            local[t].addcmul_(keep, local[t + 1], value=beta_v)
    else:
        for t in range(steps - 2, -1, -1):
            local[t].add_(local[t + 1], alpha=beta_v)
    if beta_u != 0.0:
        for t in range(steps - 2, -1, -1):
            local[t].add_(local[t + 1], alpha=beta_u)
    return local


def _backward(local: torch.Tensor, ints: LayerIntegers) -> torch.Tensor:
    """BPTT through membrane (and synaptic current) with the decays as linear factors; the
    reset is detached. Overwrites and returns ``local`` as the gradient of the input current."""
    beta_mem = 1.0 if ints.dash_mem is None else 1.0 - 2.0**-ints.dash_mem
    for t in range(local.shape[0] - 2, -1, -1):
        local[t].add_(local[t + 1], alpha=beta_mem)
    if ints.dash_syn is not None:
        beta_syn = 1.0 - 2.0**-ints.dash_syn
        for t in range(local.shape[0] - 2, -1, -1):
            local[t].add_(local[t + 1], alpha=beta_syn)
        local.mul_(beta_syn)
    return local


class _ChipNeuron(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        current: torch.Tensor,
        ints: LayerIntegers,
        chip: ChipNeuron,
        surrogate: Surrogate,
        spiking: bool,
    ) -> torch.Tensor:
        out, v_pre = _forward(current, ints, chip, spiking=spiking)
        ctx.save_for_backward(v_pre)
        ctx.ints, ctx.chip, ctx.surrogate, ctx.spiking = ints, chip, surrogate, spiking
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (v_pre,) = ctx.saved_tensors
        ints: LayerIntegers = ctx.ints
        if ctx.spiking:
            theta = float(ints.threshold)
            local = grad * ctx.surrogate.derivative(v_pre / theta - 1.0) / theta
        else:
            local = grad.clone()
        chip: ChipNeuron = ctx.chip
        if chip.family == "loihi":
            fires = _fires(ints, ctx.spiking)
            grad_x = _backward_loihi(local.contiguous(), ints, chip, v_pre, fires)
        else:
            grad_x = _backward(local.contiguous(), ints)
        return grad_x, None, None, None, None


class _ChipRecurrent(torch.autograd.Function):
    """A recurrent population of the chip's neurons; backward is :func:`_backward`'s BPTT
    with the recurrent path added: the gradient of the counts ``n[t]`` also comes back from
    the next step's input, ``g_x[t+1] W_rec``, and ``dL/dW_rec = sum_t g_x[t+1]^T n[t]``."""

    @staticmethod
    def forward(
        ctx: Any,
        current: torch.Tensor,
        w_rec: torch.Tensor,
        ints: LayerIntegers,
        chip: ChipNeuron,
        surrogate: Surrogate,
    ) -> torch.Tensor:
        out, v_pre = _forward(current, ints, chip, spiking=True, w_rec=w_rec.detach())
        ctx.save_for_backward(out, v_pre, w_rec)
        ctx.ints, ctx.surrogate = ints, surrogate
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        out, v_pre, w_rec = ctx.saved_tensors
        ints: LayerIntegers = ctx.ints
        theta = float(ints.threshold)
        slope = ctx.surrogate.derivative(v_pre / theta - 1.0) / theta
        beta_mem = 1.0 if ints.dash_mem is None else 1.0 - 2.0**-ints.dash_mem
        beta_syn = None if ints.dash_syn is None else 1.0 - 2.0**-ints.dash_syn
        w = w_rec.detach()
        grad_x = torch.empty_like(grad)
        g_v = torch.zeros_like(grad[0])
        g_i = torch.zeros_like(grad[0])
        for t in range(grad.shape[0] - 1, -1, -1):
            g_n = grad[t] if t == grad.shape[0] - 1 else grad[t] + grad_x[t + 1] @ w
            g_v = g_n * slope[t] + beta_mem * g_v
            if beta_syn is None:
                grad_x[t] = g_v
            else:
                g_i = g_v + beta_syn * g_i
                grad_x[t] = beta_syn * g_i
        grad_w = None
        if ctx.needs_input_grad[1]:
            n = w.shape[0]
            grad_w = grad_x[1:].reshape(-1, n).t() @ out[:-1].reshape(-1, n)
        return grad_x, grad_w, None, None, None


def recurrent_neuron_steps(
    current: torch.Tensor,
    w_rec: torch.Tensor,
    ints: LayerIntegers,
    chip: ChipNeuron,
    surrogate: Surrogate,
) -> torch.Tensor:
    """:func:`neuron_steps` of a recurrent hidden population: ``w_rec`` (``(n, n)``, integer
    units ``k * 2^S``, row = receiving neuron) carries the population's spike counts of step
    ``t - 1`` into step ``t``, beside ``current[t]`` (Xylo's ``weights_rec``: XyloSim
    delivers the recurrent spikes of the last step with the input's, xylosim 0.1.3
    ``src/v2/cpp/XyloLayer.cpp`` ``evolve``).

    Raises:
        ConfigError: the chip's neuron is Loihi's (its recurrence is not simulated here).
    """
    if chip.family != "xylo":
        raise ConfigError(
            "a chip-exact recurrent layer is simulated for Xylo, but got "
            f"chip family {chip.family!r}."
        )
    current = current.contiguous()
    if not (torch.is_grad_enabled() and (current.requires_grad or w_rec.requires_grad)):
        return _forward(current, ints, chip, spiking=True, w_rec=w_rec.detach())[0]
    out: torch.Tensor = _ChipRecurrent.apply(current, w_rec, ints, chip, surrogate)
    return out


def neuron_steps(
    current: torch.Tensor,
    ints: LayerIntegers,
    chip: ChipNeuron,
    surrogate: Surrogate,
    *,
    spiking: bool = True,
) -> torch.Tensor:
    """Simulate one population of the chip's neurons from rest for ``T`` steps.

    Shape:
        current: ``(T, ...)`` integer synaptic input per step (the weighted sum of the events
        that arrive); returns spike counts of the same shape, or, with ``spiking=False``, the
        membrane after each step (a readout).
    """
    current = current.contiguous()
    if not (torch.is_grad_enabled() and current.requires_grad):
        return _forward(current, ints, chip, spiking=spiking)[0]
    out: torch.Tensor = _ChipNeuron.apply(current, ints, chip, surrogate, spiking)
    return out


def delay_one_step(x: torch.Tensor) -> torch.Tensor:
    """``x`` one step later: a zero step first, the last step dropped (``(T, ...)``)."""
    return torch.cat([torch.zeros_like(x[:1]), x[:-1]], dim=0)


def flush_steps(model: SpikingNetwork) -> int:
    """Empty steps after a sample that let its last spikes reach the output: one per hidden
    layer on a chip whose populations pass spikes on one step later (Xylo), else 0."""
    chip = model.config.chip
    if chip is None or not chip.delay:
        return 0
    return len(model.synaptic_layers) - 1
