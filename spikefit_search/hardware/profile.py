"""What a chip offers, as frozen dataclasses; every number keeps its source and status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from spikefit_search.hardware.mapping._base import MappingModel

T = TypeVar("T")

Status = Literal["measured", "published", "secondary", "estimated"]
STATUSES: tuple[str, ...] = ("measured", "published", "secondary", "estimated")
SCOPES: tuple[str, ...] = ("layer", "neuron", "core", "chip")
NEURON_MODELS: tuple[str, ...] = ("IF", "LIF")
LAYER_TYPES: tuple[str, ...] = ("conv", "linear")
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
    """Constants of ``E = N_sop*e_sop + N_update*e_update + N_spike*e_spike + P_static*t_on``.

    See ``docs/energy.md``. A clocked chip is on for ``t_on = T*dt`` (its latency); an
    event-driven chip is on for the inference window, whatever ``T``.

    Args:
        e_sop_pj: energy per synaptic operation, in pJ.
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
    """

    e_sop_pj: Sourced[float]
    e_update_pj: Sourced[float]
    e_spike_pj: Sourced[float]
    static_power_mw: Sourced[float]
    dt_ms: Sourced[float] | None
    clocked: Sourced[bool]
    window_ms: Sourced[float] | None = None
    e_active_update_pj: Sourced[float] | None = None

    def items(self) -> list[tuple[str, Sourced[float] | Sourced[bool]]]:
        """``(name, value)`` for every constant the profile sets, in formula order."""
        entries: list[tuple[str, Sourced[float] | Sourced[bool] | None]] = [
            ("e_sop_pj", self.e_sop_pj),
            ("e_update_pj", self.e_update_pj),
            ("e_active_update_pj", self.e_active_update_pj),
            ("e_spike_pj", self.e_spike_pj),
            ("static_power_mw", self.static_power_mw),
            ("dt_ms", self.dt_ms),
            ("window_ms", self.window_ms),
            ("clocked", self.clocked),
        ]
        return [(name, v) for name, v in entries if v is not None]

    @property
    def estimated(self) -> tuple[str, ...]:
        """Names of the constants that are our estimates rather than published figures."""
        return tuple(name for name, v in self.items() if v.estimated)


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
    weight_symmetric: Sourced[bool] | None = None
    """True when the chip's signed grid is symmetric (``-(2^(b-1)-1) .. 2^(b-1)-1``, e.g.
    SpiNNaker 2's [-15, 15] at 5 bits) rather than two's complement; None when not stated."""

    @property
    def symmetric_grid(self) -> bool:
        """True only when the profile states a symmetric signed grid (``weights.symmetric``)."""
        return self.weight_symmetric is not None and bool(self.weight_symmetric.value)

    def symmetric_at(self, bits: int | None) -> bool:
        """True when a ``bits``-bit grid must leave out ``-2^(bits-1)`` on this chip: its grid
        is symmetric and ``bits`` is its full width (a narrower grid's lowest code, e.g. -128 at
        8 bits on TrueNorth's [-255, 255], is inside the chip's range)."""
        return self.symmetric_grid and bits is not None and bits >= self.weight_bits.value

    def limit(self, name: str) -> int | None:
        """The limit ``name`` or None when the chip sets none."""
        entry = self.limits.get(name)
        return None if entry is None else entry.value
