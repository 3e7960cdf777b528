"""What a chip offers, as frozen dataclasses; every number keeps its source and status.

The interface of the mapping model a profile holds (:class:`BaseMappingModel`) is declared
here too, beside :class:`HardwareProfile`: each names the other, and keeping them in one module
keeps the imports of ``hardware/`` free of cycles. The models themselves live in
:mod:`spikefit_search.hardware.mapping` and in the chip modules
(:mod:`spikefit_search.hardware.chips`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from spikefit_search.snn.config import ChipNeuron

if TYPE_CHECKING:
    from spikefit_search.exceptions import ProfileError
    from spikefit_search.hardware.result import ConstraintUsage
    from spikefit_search.hardware.usage import LayerUsage
    from spikefit_search.snn.config import NetworkConfig

T = TypeVar("T")

Status = Literal["measured", "published", "secondary", "estimated", "unknown"]
STATUSES: tuple[str, ...] = ("measured", "published", "secondary", "estimated")
ENERGY_STATUSES: tuple[str, ...] = (*STATUSES, "unknown")
"""An energy constant may also be ``unknown``: no figure exists, the term is not modelled
(``value: null``), which is not the same as a figure of 0."""
SCOPES: tuple[str, ...] = ("layer", "neuron", "core", "chip")
NEURON_MODELS: tuple[str, ...] = ("IF", "LIF")
LAYER_TYPES: tuple[str, ...] = ("conv", "linear", "recurrent")
"""``recurrent``: a hidden layer may receive its own spikes (``NetworkConfig.recurrent``)."""
NEURON_RULES: tuple[str, ...] = ("resets", "encoders", "min_layers")
"""Keys of a profile's ``neuron`` section that are design rules, not simulation settings."""
LIMIT_NAMES: tuple[str, ...] = (
    "neurons",
    "synapses",
    "fan_in",
    "fan_out",
    "layers",
    "inputs",
    "outputs",
    "input_projection",
    "output_projection",
    "recurrent_synapses",
    "cores",
    "neurons_per_core",
    "destinations",
    "core_input_axons",
    "core_output_axons",
    "core_synapse_bits",
)
"""Keys allowed under ``limits``; a missing key means unlimited."""
CORE_LIMIT_NAMES: tuple[str, ...] = (
    "cores",
    "destinations",
    "core_input_axons",
    "core_output_axons",
    "core_synapse_bits",
)
"""Limits evaluated per core by the mapping model; they need ``limits.neurons_per_core``."""


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A profile value with where it comes from.

    Args:
        value: the value itself.
        source: citation (paper, repository file at a commit, documentation page).
        status: ``"measured"`` (by us or on silicon), ``"published"`` (stated by the primary
            source cited), ``"secondary"`` (the primary source is cited, but the value was read
            where another work quotes it) or ``"estimated"`` (our placeholder or our derivation
            where no public figure exists).
    """

    value: T
    source: str
    status: Status

    @property
    def estimated(self) -> bool:
        return self.status == "estimated"

    @property
    def secondary(self) -> bool:
        return self.status == "secondary"


@dataclass(frozen=True)
class Constant(Sourced[float | None]):
    """An energy constant: a central value with the range a source gives, or unknown.

    Args:
        low, high: the range the sources allow (both None for a single figure).

    ``value`` is None exactly when ``status`` is ``"unknown"``: the term is not modelled.
    """

    low: float | None = None
    high: float | None = None

    @property
    def known(self) -> bool:
        return self.value is not None

    @property
    def central(self) -> float:
        """The value used for the central estimate (0 for an unknown, which is then flagged)."""
        return 0.0 if self.value is None else float(self.value)

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)``: the range, or the value twice (0 twice when unknown)."""
        c = self.central
        return (c if self.low is None else self.low, c if self.high is None else self.high)

    @property
    def ranged(self) -> bool:
        lo, hi = self.bounds
        return lo != hi

    def describe(self) -> str:
        """``"23.6"``, ``"40 (40-43.7)"`` or ``"not modelled"``."""
        if self.value is None:
            return "not modelled"
        lo, hi = self.bounds
        return f"{self.value:g}" + (f" ({lo:g}-{hi:g})" if lo != hi else "")


@dataclass(frozen=True)
class UniqueWeights:
    """How many distinct weight values the chip can hold, and over which scope.

    Args:
        max: distinct values allowed in one scope.
        scope: ``"layer"``, ``"neuron"`` (per output neuron), ``"core"`` (neurons packed
            ``limits.neurons_per_core`` at a time) or ``"chip"``.
        zero_is_free: a zero weight is an absent synapse and does not count as a value.
    """

    max: Sourced[int]
    scope: Sourced[str]
    zero_is_free: Sourced[bool]


@dataclass(frozen=True)
class EnergyConstants:
    """Constants of the profile's energy model (``docs/energy.md``).

    ``model: events``: ``E = N_sop*e_sop + N_update*e_update + N_spike*e_spike +
    P_static*t_on``. A clocked chip is on for ``t_on = T*dt`` (its latency); an event-driven
    chip is on for the inference window, whatever ``T``.

    ``model: xylo_cycles``: Rockpool's cycles model of a Xylo core gives the master-clock
    cycles each step needs; the chip runs at the slowest clock it can be set to that keeps
    real time (``max_clock_mhz`` refuses a network that needs more), and the core costs
    ``e_clock_pj`` per elapsed clock cycle.

    Args:
        e_sop_pj: energy per synaptic operation, in pJ (``e_sop_pj``, ``e_update_pj``,
            ``e_spike_pj`` and ``static_power_mw`` are None with ``model: xylo_cycles``).
        e_update_pj: energy per neuron update, in pJ (on a clocked chip, every neuron every
            step).
        e_spike_pj: energy per emitted spike (routing included), in pJ.
        static_power_mw: static (resting) power, in mW.
        dt_ms: wall-clock duration of one time step, in ms; required on clocked chips.
        clocked: True when every neuron is updated every step (Loihi, Xylo), False when only
            neurons receiving input are (event-driven chips such as Speck).
        window_ms: default inference window in ms of an event-driven chip (used when neither
            the data nor the user sets one); required when ``clocked`` is false.
        e_active_update_pj: extra energy in pJ for a neuron update on a step where the neuron
            received input, on top of ``e_update_pj`` (Loihi: active vs idle update); 0 if
            absent.
        model: ``"events"`` or ``"xylo_cycles"``.
        e_clock_pj: energy of the core per elapsed master-clock cycle (``xylo_cycles``).
        max_clock_mhz: fastest master clock (``xylo_cycles``).
        clock_step_mhz: the settable clocks are ``clock_step_mhz / n``, ``n = 1, 2, ...``.
        clock_margin: head-room Rockpool's ``est_clock_freq`` adds to the worst case.
        projections: ``"all"`` (every input event loops over every hidden neuron and every
            hidden spike over the readout, Xylo Audio 2) or ``"connected"`` (only the hidden
            neurons with input / readout weights, Xylo IMU).
    """

    e_sop_pj: Constant | None
    e_update_pj: Constant | None
    e_spike_pj: Constant | None
    static_power_mw: Constant | None
    dt_ms: Sourced[float] | None
    clocked: Sourced[bool]
    window_ms: Sourced[float] | None = None
    e_active_update_pj: Constant | None = None
    model: str = "events"
    e_clock_pj: Constant | None = None
    max_clock_mhz: Sourced[float] | None = None
    clock_step_mhz: Sourced[float] | None = None
    clock_margin: Sourced[float] | None = None
    projections: Sourced[str] | None = None

    def items(self) -> list[tuple[str, Sourced[Any]]]:
        """``(name, value)`` for every constant the profile sets, in formula order."""
        entries: list[tuple[str, Sourced[Any] | None]] = [
            ("e_sop_pj", self.e_sop_pj),
            ("e_update_pj", self.e_update_pj),
            ("e_active_update_pj", self.e_active_update_pj),
            ("e_spike_pj", self.e_spike_pj),
            ("static_power_mw", self.static_power_mw),
            ("e_clock_pj", self.e_clock_pj),
            ("max_clock_mhz", self.max_clock_mhz),
            ("clock_step_mhz", self.clock_step_mhz),
            ("clock_margin", self.clock_margin),
            ("projections", self.projections),
            ("dt_ms", self.dt_ms),
            ("window_ms", self.window_ms),
            ("clocked", self.clocked),
        ]
        return [(name, v) for name, v in entries if v is not None]

    @property
    def estimated(self) -> tuple[str, ...]:
        """Names of the constants that are our estimates rather than published figures."""
        return tuple(name for name, v in self.items() if v.estimated)

    @property
    def unknown(self) -> tuple[str, ...]:
        """Names of the constants no source gives: their terms are not modelled."""
        return tuple(name for name, v in self.items() if v.status == "unknown")

    @property
    def dynamic_modelled(self) -> bool:
        """True when some per-event constant is known (the dynamic energy is modelled)."""
        per_event = (self.e_sop_pj, self.e_update_pj, self.e_spike_pj, self.e_active_update_pj)
        return any(c is not None and c.known and c.central > 0 for c in per_event)

    @property
    def ranks_candidates(self) -> bool:
        """True when the modelled energy can differ between candidates: a known per-event
        constant, or the Xylo clock (set by each network's cycles)."""
        clock = self.e_clock_pj is not None and self.e_clock_pj.known
        return clock or self.dynamic_modelled

    @property
    def modelled(self) -> bool:
        """False when no energy constant is known (a limits-only profile)."""
        constants = [v for _, v in self.items() if isinstance(v, Constant)]
        return any(c.known for c in constants)


ErrorFactory = Callable[[str, str], "ProfileError"]
"""``error(field, reason)`` builds the one-line profile error naming the file."""


class BaseMappingModel(ABC):
    """Checks the resources a chip's layout needs beyond the profile's plain limits.

    A model is built from the profile's ``mapping`` block (:meth:`from_params`) and always
    reports the same :meth:`constraint_names`, whatever the network. Models are registered in
    :data:`spikefit_search.hardware.mapping.MAPPING_MODELS` under the name ``mapping.model``
    takes.
    """

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_params(cls, params: Mapping[str, Any], error: ErrorFactory) -> BaseMappingModel:
        """Validate the model's parameters; raise ``error(field, reason)`` on a bad one."""

    @abstractmethod
    def constraint_names(self, profile: HardwareProfile) -> tuple[str, ...]:
        """Names of the constraints :meth:`evaluate` reports for ``profile``."""

    @abstractmethod
    def evaluate(
        self,
        profile: HardwareProfile,
        layers: Sequence[LayerUsage],
        network: NetworkConfig,
    ) -> tuple[list[ConstraintUsage], dict[str, object]]:
        """Every model-specific constraint usage, plus details (e.g. a core placement)."""

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """The parameters, for ``spikefit-search devices NAME``."""


MappingModel = BaseMappingModel


@dataclass(frozen=True)
class HardwareProfile:
    """One chip: its limits, its mapping model and its energy constants.

    Build one with :func:`spikefit_search.hardware.load_profile`.
    """

    name: str
    title: str
    path: str
    description: str
    neuron_models: Sourced[tuple[str, ...]]
    layer_types: Sourced[tuple[str, ...]]
    weight_bits: Sourced[int]
    signed: Sourced[bool]
    unique_weights: UniqueWeights
    limits: dict[str, Sourced[int]]
    mapping: MappingModel
    mapping_source: Sourced[str]
    energy: EnergyConstants
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    neuron: dict[str, Sourced[Any]] = field(default_factory=dict, compare=False)
    """The chip's integer neuron (``neuron`` section): :class:`~spikefit_search.snn.config.
    ChipNeuron` fields, plus the rules ``resets``, ``encoders`` and ``min_layers`` (neuron
    layers, readout included); empty for a profile without one (the network stays float)."""
    weight_symmetric: Sourced[bool] | None = None
    """True when the chip's signed grid is symmetric (``-(2^(b-1)-1) .. 2^(b-1)-1``, e.g.
    SpiNNaker 2's [-15, 15] at 5 bits) rather than two's complement; None when not stated."""
    family: str = "generic"
    """The chip family (:mod:`spikefit_search.hardware.chips`): what the package knows of the
    chip besides this data."""

    @property
    def symmetric_grid(self) -> bool:
        """True only when the profile states a symmetric signed grid (``weights.symmetric``)."""
        return self.weight_symmetric is not None and bool(self.weight_symmetric.value)

    @property
    def chip_neuron(self) -> ChipNeuron | None:
        """The neuron the chip-exact network simulates, or None (float)."""
        fields = ChipNeuron.__dataclass_fields__
        values = {k: v.value for k, v in self.neuron.items() if k in fields}
        return ChipNeuron(**values) if values else None

    def neuron_rule(self, name: str) -> Any:
        """A rule of the ``neuron`` section (``resets``, ``encoders``, ``min_layers``) or None."""
        entry = self.neuron.get(name)
        return None if entry is None else entry.value

    def symmetric_at(self, bits: int | None) -> bool:
        """True when a ``bits``-bit grid must leave out ``-2^(bits-1)`` on this chip: its grid
        is symmetric and ``bits`` is its full width (a narrower grid's lowest code, e.g. -128 at
        8 bits on TrueNorth's [-255, 255], is inside the chip's range)."""
        return self.symmetric_grid and bits is not None and bits >= self.weight_bits.value

    def limit(self, name: str) -> int | None:
        """The limit ``name`` or None when the chip sets none."""
        entry = self.limits.get(name)
        return None if entry is None else entry.value
