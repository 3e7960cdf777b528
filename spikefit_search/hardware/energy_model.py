"""Energy models, chosen by a profile's ``energy.model``: which constants a profile sets, which
extra constraints they bring and how the static term is priced.

``events`` (here) prices every synaptic operation, neuron update and spike with the profile's
``e_*`` constants and the static power over the time the chip is on. A chip with its own model
registers it in :data:`ENERGY_MODELS` from its chip module (``xylo_cycles``:
:mod:`spikefit_search.hardware.chips.xylo.cycles`); :func:`spikefit_search.hardware.
estimate_energy` computes the four terms for any of them (``docs/energy.md``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from spikefit_search._registry import Registry
from spikefit_search.hardware.profile import Constant, EnergyConstants, HardwareProfile, Sourced
from spikefit_search.hardware.result import ConstraintUsage

if TYPE_CHECKING:
    from spikefit_search.exceptions import ProfileError
    from spikefit_search.hardware.usage import LayerUsage
    from spikefit_search.snn.network import Activity

PER_EVENT = ("e_sop_pj", "e_update_pj", "e_active_update_pj", "e_spike_pj")
"""The per-event constants of the ``events`` model."""


class FieldReader(Protocol):
    """What the profile loader offers an energy model to read its fields with."""

    def error(self, field: str, reason: str) -> ProfileError: ...

    def constant(self, key: str, energy: Mapping[str, Any]) -> Constant: ...

    def amount(self, key: str, energy: Mapping[str, Any], *, positive: bool) -> Sourced[float]: ...

    def sourced(self, key: str, parent: Mapping[str, Any], prefix: str) -> Sourced[Any]: ...


@dataclass(frozen=True)
class Clock:
    """The master clock a clocked core runs one inference at.

    Args:
        cycles: master-clock cycles of one inference.
        required_mhz: the clock the network needs to keep real time.
        mhz: the clock the core is set to (at or above ``required_mhz``).
    """

    cycles: float
    required_mhz: float
    mhz: float


class EnergyModel(ABC):
    """How a profile's ``energy`` block prices one inference."""

    name: ClassVar[str]
    used: ClassVar[tuple[str, ...] | None] = None
    """The constants every estimate uses, or None: those of the ``events`` formula (which
    depend on the chip being clocked and on where its window comes from)."""

    @abstractmethod
    def read(
        self, reader: FieldReader, energy: Mapping[str, Any], clocked: Sourced[bool]
    ) -> dict[str, Any]:
        """The model's own fields of :class:`EnergyConstants`; raise ``reader.error`` on a bad
        or a foreign one."""

    def constraint_names(self, profile: HardwareProfile) -> tuple[str, ...]:
        """Constraints the model adds to every check of ``profile`` (none by default)."""
        return ()

    def constraints(
        self, profile: HardwareProfile, layers: Sequence[LayerUsage]
    ) -> list[ConstraintUsage]:
        """The usages of :meth:`constraint_names`."""
        return []

    def clock(self, profile: HardwareProfile, activity: Activity) -> Clock | None:
        """The clock one inference of ``activity`` runs at, or None (not priced by clock)."""
        return None

    @abstractmethod
    def priced(self, c: EnergyConstants) -> dict[str, Constant | None]:
        """The constant behind each term it prices (``sop``, ``update``, ``spike``,
        ``static``): an unknown one marks its term as not modelled."""

    @abstractmethod
    def static_uj(
        self,
        c: EnergyConstants,
        value: Callable[[Constant | None], float],
        clock: Clock | None,
        on_ms: float,
    ) -> float:
        """The static term in µJ, ``value(constant)`` being each constant at the end of its
        range the estimate is computed at."""


ENERGY_MODELS: Registry[EnergyModel] = Registry("energy model")


class EventsEnergyModel(EnergyModel):
    """``E = N_sop e_sop + N_update e_update + N_spike e_spike + P_static t_on``."""

    name = "events"

    def read(
        self, reader: FieldReader, energy: Mapping[str, Any], clocked: Sourced[bool]
    ) -> dict[str, Any]:
        return {
            key: reader.constant(key, energy)
            for key in (*PER_EVENT, "static_power_mw")
            if key != "e_active_update_pj" or key in energy
        }

    def priced(self, c: EnergyConstants) -> dict[str, Constant | None]:
        return {
            "sop": c.e_sop_pj,
            "update": c.e_update_pj,
            "spike": c.e_spike_pj,
            "static": c.static_power_mw,
        }

    def static_uj(
        self,
        c: EnergyConstants,
        value: Callable[[Constant | None], float],
        clock: Clock | None,
        on_ms: float,
    ) -> float:
        return value(c.static_power_mw) * on_ms  # mW * ms = µJ


ENERGY_MODELS.add(EventsEnergyModel.name, EventsEnergyModel())
