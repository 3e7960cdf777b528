"""One config object describes a spiking network; search trials, exports and retrains share it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from spikefit_search.exceptions import ConfigError, UnknownNameError

Kind = Literal["mlp", "conv"]
Reset = Literal["subtract", "zero"]
Encoder = Literal["rate", "direct", "events"]
Readout = Literal["membrane", "spikes"]
PoolMode = Literal["sum", "max", "avg"]

KINDS = ("mlp", "conv")
RESETS = ("subtract", "zero")
ENCODERS = ("rate", "direct", "events")
READOUTS = ("membrane", "spikes")
POOL_MODES = ("sum", "max", "avg")
SURROGATE_NAMES = ("arctan", "fast_sigmoid")
"""Names in :data:`spikefit_search.snn.SURROGATES` (kept here so configs load without torch)."""
CHIP_FAMILIES = ("xylo", "speck", "loihi")
"""Integer neuron arithmetics :mod:`spikefit_search.snn.chip` simulates."""
CHIP_DECAYS = ("bitshift", "loihi12")
"""How a chip represents leak: a bit shift ``v >> dash``, or a 12-bit factor ``(4096 - d) / 4096``
(Loihi)."""


@dataclass(frozen=True)
class ChipNeuron:
    """The integer neuron a chip runs, as :mod:`spikefit_search.snn.chip` simulates it.

    A quantized network whose config carries one computes in the chip's arithmetic: integer
    weights ``k * 2^shift``, an integer threshold, the chip's decay, synapse, spike limit and
    state saturation. The values come from the hardware profile's ``neuron`` section
    (``docs/profiles.md``).

    Args:
        family: ``"xylo"`` (SynSense Xylo: current-based synapse and membrane with bit-shift
            decays, several spikes per step, saturating 16-bit states, every population one
            step behind the one before it), ``"speck"`` (integrate-and-fire straight from the
            weights, several spikes per step, a floor under the membrane) or ``"loihi"`` (Intel
            Loihi's CUBA neuron: current and voltage decayed by 12-bit factors, a 24-bit
            membrane, one spike per step above the threshold, reset to zero).
        weight_bits: width of a stored weight (signed).
        shift_max: largest left shift of a weight matrix in hardware (0: none).
        threshold_bits: width of a threshold (signed; the threshold is positive).
        state_bits: width of the membrane and synaptic states.
        saturate: states saturate at their width (else only ``v_min`` bounds the membrane).
        v_min: floor of the membrane after reset, or None.
        dash_max: largest bit-shift decay ``dash`` (``beta = 1 - 2^-dash``); None: no leak.
        dash_syn: the synaptic current's bit-shift decay; None: no synaptic current.
        spikes_per_step: most spikes a hidden neuron emits in one step (None: no limit).
        readout_spikes_per_step: the same for an output neuron.
        input_events_per_step: most events one input channel delivers in one step.
        delay: every population receives the previous one's spikes one step later (Xylo);
            the output then lags the input by the number of hidden layers.
        threshold_headroom: the integer threshold is kept at most
            ``2^(state_bits-1-state_shift) / threshold_headroom``, so the membrane holds that
            many thresholds before it saturates (our choice of the weight shift, not a chip
            rule).
        decay: ``"bitshift"`` (``dash_max``, ``dash_syn``) or ``"loihi12"``: the membrane
            decays by ``(4096 - dv) / 4096`` with ``dv = round(4096 (1 - beta))`` in 0..4095.
        du: the current's 12-bit decay code with ``decay="loihi12"`` (the current keeps
            ``(4095 - du) / 4096`` of itself each step; 4095 keeps nothing); None: not used.
        state_shift: left shift that aligns the synaptic input and the threshold with the
            wider state (Loihi: 6, ``vth << 6``, ``a_in << 6``).
        reset_to_zero: a spike sets the membrane to 0 (Loihi) instead of subtracting the
            threshold.
    """

    family: str = "xylo"
    weight_bits: int = 8
    shift_max: int = 0
    threshold_bits: int = 16
    state_bits: int = 16
    saturate: bool = True
    v_min: int | None = None
    dash_max: int | None = 15
    dash_syn: int | None = 1
    spikes_per_step: int | None = 31
    readout_spikes_per_step: int | None = 1
    input_events_per_step: int | None = 15
    delay: bool = True
    threshold_headroom: int = 16
    decay: str = "bitshift"
    du: int | None = None
    state_shift: int = 0
    reset_to_zero: bool = False

    def __post_init__(self) -> None:
        _one_of("chip family", self.family, CHIP_FAMILIES)
        _one_of("chip decay", self.decay, CHIP_DECAYS)
        if self.du is not None and not 0 <= self.du <= 4095:
            raise ConfigError(f"chip du must be a 12-bit code 0..4095, but got {self.du}.")
        if self.state_shift < 0:
            raise ConfigError(f"chip state_shift must be non-negative, but got {self.state_shift}.")
        for name in ("weight_bits", "threshold_bits", "state_bits", "threshold_headroom"):
            if int(getattr(self, name)) < 2:
                raise ConfigError(f"chip {name} must be at least 2, but got {getattr(self, name)}.")
        if self.shift_max < 0:
            raise ConfigError(f"chip shift_max must be non-negative, but got {self.shift_max}.")

    def dash_for(self, beta: float) -> int | None:
        """The decay code that represents ``beta``: the bit shift ``dash`` (``None`` on a chip
        without leak), or with ``decay="loihi12"`` the 12-bit ``dv = round(4096 (1 - beta))``."""
        if self.decay == "loihi12":
            return max(0, min(4095, round(4096.0 * (1.0 - beta))))
        if self.dash_max is None:
            return None
        if beta >= 1.0:
            return self.dash_max
        return max(0, min(self.dash_max, round(-math.log2(1.0 - beta))))

    def beta_for(self, beta: float) -> float:
        """``beta`` as the chip represents it: ``1 - 2^-dash`` (exactly 1 without leak), or
        ``1 - dv / 4096`` with ``decay="loihi12"``."""
        dash = self.dash_for(beta)
        if self.decay == "loihi12":
            return 1.0 - int(dash or 0) / 4096.0
        return 1.0 if dash is None else 1.0 - 2.0**-dash

    def decay_note(self, beta: float) -> str:
        """How the chip writes ``beta``, for the search's note."""
        code = self.dash_for(beta)
        if self.decay == "loihi12":
            return f"1 - {code}/4096: a 12-bit decay"
        return f"1 - 2^-{code}: a bit-shift decay"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChipNeuron:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"chip keys must be among {', '.join(sorted(known))}, but got {unknown}."
            )
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"chip neuron config is malformed: {exc}") from None


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture and neuron settings of a spiking network.

    Args:
        kind: ``"mlp"`` (fully connected hidden layers) or ``"conv"`` (conv front end, then
            fully connected ``hidden`` layers).
        input_shape: ``(channels, height, width)`` of one static sample.
        n_classes: output neurons.
        hidden: widths of the fully connected hidden layers.
        channels: output channels of each conv layer (``kind="conv"`` only).
        kernel, stride, padding: conv geometry, shared by all conv layers.
        pool: pooling window after each conv layer (1 = none); ``pool_mode`` is Speck's ``sum``
            by default.
        beta: membrane leak per step (1.0 = integrate-and-fire).
        threshold: firing threshold.
        reset: ``"subtract"`` (reset by subtraction) or ``"zero"``.
        surrogate: name in :data:`spikefit_search.snn.SURROGATES`.
        timesteps: simulation steps ``T`` per sample.
        encoder: ``"rate"`` (Bernoulli events) or ``"direct"`` (the value as input current) for
            static samples ``(B, C, H, W)``; ``"events"`` for binned event frames
            ``(B, T, C, H, W)``, which pass as they are.
        readout: ``"membrane"`` (mean membrane of a non-spiking leaky output layer) or
            ``"spikes"`` (spike counts of a spiking output layer).
        bias: whether synaptic layers have a bias.
        input_pool, input_group: input reduction before the first layer (what a chip with few
            input channels receives): sum pooling of the map over ``input_pool`` blocks and
            sums of ``input_group`` adjacent channels. 1 = none.
        chip: the chip's integer neuron; once every synaptic layer is quantized the network
            computes in that arithmetic (:mod:`spikefit_search.snn.chip`). None: float.
        recurrent: every fully connected hidden layer also receives its own spikes of the
            step before through a recurrent weight ``W_rec`` (``n x n``):
            ``v[t] = beta u[t-1] + W x[t] + W_rec s[t-1]`` (``kind="mlp"`` only).
    """

    kind: Kind = "mlp"
    input_shape: tuple[int, int, int] = (1, 8, 8)
    n_classes: int = 10
    hidden: tuple[int, ...] = (128,)
    channels: tuple[int, ...] = ()
    kernel: int = 3
    stride: int = 1
    padding: int = 1
    pool: int = 1
    pool_mode: PoolMode = "sum"
    beta: float = 0.9
    threshold: float = 1.0
    reset: Reset = "subtract"
    surrogate: str = "fast_sigmoid"
    timesteps: int = 10
    encoder: Encoder = "rate"
    readout: Readout = "membrane"
    bias: bool = False
    input_pool: int = 1
    input_group: int = 1
    chip: ChipNeuron | None = None
    recurrent: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(int(v) for v in self.input_shape))
        object.__setattr__(self, "hidden", tuple(int(v) for v in self.hidden))
        object.__setattr__(self, "channels", tuple(int(v) for v in self.channels))
        if isinstance(self.chip, dict):
            object.__setattr__(self, "chip", ChipNeuron.from_dict(self.chip))
        _one_of("kind", self.kind, KINDS)
        _one_of("reset", self.reset, RESETS)
        _one_of("encoder", self.encoder, ENCODERS)
        _one_of("readout", self.readout, READOUTS)
        _one_of("pool_mode", self.pool_mode, POOL_MODES)
        if len(self.input_shape) != 3 or min(self.input_shape) < 1:
            raise ConfigError(
                "input_shape must be three positive integers (channels, height, width), "
                f"but got input_shape={self.input_shape}."
            )
        if self.n_classes < 2:
            raise ConfigError(f"n_classes must be at least 2, but got n_classes={self.n_classes}.")
        if any(w < 1 for w in self.hidden):
            raise ConfigError(f"hidden widths must be positive, but got hidden={self.hidden}.")
        if self.kind == "mlp" and self.channels:
            raise ConfigError(f"channels apply to kind='conv' only, but got {self.channels}.")
        if self.kind == "conv" and not self.channels:
            raise ConfigError("kind='conv' needs at least one conv layer in channels, but got ().")
        if any(c < 1 for c in self.channels):
            raise ConfigError(f"channels must be positive, but got channels={self.channels}.")
        for name in ("kernel", "stride", "pool", "timesteps", "input_pool", "input_group"):
            value = getattr(self, name)
            if int(value) < 1:
                raise ConfigError(f"{name} must be at least 1, but got {name}={value}.")
        if self.padding < 0:
            raise ConfigError(f"padding must be non-negative, but got padding={self.padding}.")
        if not 0.0 < self.beta <= 1.0:
            raise ConfigError(f"beta must be in (0, 1], but got beta={self.beta}.")
        if not self.threshold > 0.0:
            raise ConfigError(f"threshold must be positive, but got threshold={self.threshold}.")
        if self.surrogate not in SURROGATE_NAMES:
            raise UnknownNameError("surrogate", self.surrogate, SURROGATE_NAMES)
        if not isinstance(self.recurrent, bool):
            raise ConfigError(f"recurrent must be true or false, but got {self.recurrent!r}.")
        if self.recurrent and self.kind != "mlp":
            raise ConfigError(
                f"recurrent hidden layers apply to kind='mlp' only, but got kind={self.kind!r}."
            )
        if self.kind == "conv":
            self.layer_specs()  # raises when the geometry collapses to nothing

    @property
    def neuron_model(self) -> str:
        """``"IF"`` when ``beta == 1`` else ``"LIF"``: the name profiles list."""
        return "IF" if self.beta == 1.0 else "LIF"

    @property
    def reduced_input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` the first layer sees: ``input_shape`` after the input reduction."""
        c, h, w = self.input_shape
        g, p = self.input_group, self.input_pool
        return (math.ceil(c / g), math.ceil(h / p), math.ceil(w / p))

    def layer_specs(self) -> list[LayerSpec]:
        """Describe every synaptic layer (what a hardware checker needs), input to output."""
        specs: list[LayerSpec] = []
        c, h, w = self.reduced_input_shape
        for i, out_c in enumerate(self.channels):
            oh = (h + 2 * self.padding - self.kernel) // self.stride + 1
            ow = (w + 2 * self.padding - self.kernel) // self.stride + 1
            if oh < 1 or ow < 1:
                raise ConfigError(
                    f"conv layer {i} must keep a positive output size, but got {oh}x{ow} "
                    f"from a {h}x{w} input."
                )
            ph, pw = oh // self.pool, ow // self.pool
            if ph < 1 or pw < 1:
                raise ConfigError(
                    f"pool={self.pool} after conv layer {i} must fit its {oh}x{ow} output."
                )
            specs.append(
                LayerSpec(
                    index=len(specs),
                    kind="conv",
                    in_channels=c,
                    out_channels=out_c,
                    in_size=(h, w),
                    out_size=(oh, ow),
                    kernel=(self.kernel, self.kernel),
                    stride=self.stride,
                    padding=self.padding,
                    pool=self.pool,
                    spiking=True,
                )
            )
            c, h, w = out_c, ph, pw
        widths = [*self.hidden, self.n_classes]
        for j, out_n in enumerate(widths):
            is_out = j == len(widths) - 1
            specs.append(
                LayerSpec(
                    index=len(specs),
                    kind="linear",
                    in_channels=c,
                    out_channels=out_n,
                    in_size=(h, w),
                    out_size=(1, 1),
                    kernel=(h, w),
                    stride=1,
                    padding=0,
                    pool=1,
                    spiking=not is_out or self.readout == "spikes",
                    recurrent=self.recurrent and not is_out,
                )
            )
            c, h, w = out_n, 1, 1
        return specs

    def with_widths(self, widths: list[int] | tuple[int, ...]) -> NetworkConfig:
        """The same network with new hidden sizes, conv channels first then fc widths."""
        n_conv = len(self.channels)
        widths = tuple(int(v) for v in widths)
        return replace(self, channels=widths[:n_conv], hidden=widths[n_conv:])

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        """Conv channels followed by fc widths: the prunable units of each hidden layer."""
        return (*self.channels, *self.hidden)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        if self.chip is None:
            out.pop("chip")
        if not self.recurrent:  # a feed-forward config reads (and hashes) as before
            out.pop("recurrent")
        for key in ("input_shape", "hidden", "channels"):
            out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkConfig:
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"network keys must be among {', '.join(sorted(known))}, but got {unknown}."
            )
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:  # ValueError: int("ten") in the checks
            raise ConfigError(f"network config is malformed: {exc}") from None


@dataclass(frozen=True)
class LayerSpec:
    """Geometry of one synaptic layer as a chip sees it.

    A linear layer is described as a convolution over its full input map (``kernel == in_size``),
    which is how Speck maps it.
    """

    index: int
    kind: Literal["conv", "linear"]
    in_channels: int
    out_channels: int
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    kernel: tuple[int, int]
    stride: int
    padding: int
    pool: int
    spiking: bool
    recurrent: bool = False
    """The layer's neurons also receive their own spikes of the step before (``W_rec``)."""

    @property
    def n_rec_weights(self) -> int:
        """Stored recurrent weights (``n x n``; 0 for a feed-forward layer)."""
        return self.out_channels**2 if self.recurrent else 0

    @property
    def n_inputs(self) -> int:
        return self.in_channels * self.in_size[0] * self.in_size[1]

    @property
    def n_neurons(self) -> int:
        return self.out_channels * self.out_size[0] * self.out_size[1]

    @property
    def fan_in(self) -> int:
        """Synapses into one neuron (dense), its recurrent ones included."""
        rec = self.out_channels if self.recurrent else 0
        return self.in_channels * self.kernel[0] * self.kernel[1] + rec

    @property
    def n_weights(self) -> int:
        """Stored weights (conv kernels are shared across positions), recurrent included."""
        return self.out_channels * self.fan_in

    @property
    def n_synapses(self) -> int:
        """Connections (dense): every neuron times its fan-in, ignoring padding."""
        if self.kind == "linear":
            return self.n_weights
        return self.n_neurons * self.fan_in

    @property
    def fan_out(self) -> int:
        """Largest number of neurons one input drives (dense)."""
        if self.kind == "linear":
            return self.out_channels
        per_axis = [math.ceil(k / self.stride) for k in self.kernel]
        return self.out_channels * per_axis[0] * per_axis[1]


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, but got {value!r}.")
