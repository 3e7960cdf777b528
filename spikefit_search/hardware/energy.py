"""Energy per inference from recorded activity and a profile's constants.

.. math::

    E = N_{sop} e_{sop} + N_{update} e_{update} + N_{spike} e_{spike} + P_{static} t_{on}

``N_sop`` counts, for every event (input events included), the synapses it drives that cost
energy: the non-zero ones where the profile's ``unique_weights.zero_is_free`` says a zero weight
is an absent synapse, all of the layer's synapses otherwise. A clocked chip updates every neuron
every step (``N_update = neurons * T``, plus ``e_active_update`` for each neuron-step that
received input) and is on for ``t_on = T * dt``, its latency. An event-driven chip updates a
neuron only when a synaptic event reaches it (``N_update = N_sop``) and is on for the inference
window, set by the data (an event recording's duration), by the user or by the profile's
default, whatever ``T``: there ``T`` is only how the simulation bins the input. ``N_spike``
counts the spikes the network's neurons emit (input events are not chip spikes).

A profile with ``energy.model: xylo_cycles`` is priced from Rockpool's cycles model of a Xylo
core instead (:mod:`spikefit_search.hardware.chips.xylo.cycles`): the core runs at the slowest clock
that keeps the network in real time, and costs ``e_clock_pj`` per elapsed clock cycle, which
is the static term.

Each term is computed three times: with every constant's central value, its low end and its
high end (``energy.<name>.low`` / ``high`` in the profile). A constant whose status is
``unknown`` is not modelled: its term contributes nothing and is named in
:attr:`EnergyReport.not_modelled`, so a total is never mistaken for the chip's whole energy.
See ``docs/energy.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spikefit_search.exceptions import ConfigError, UnknownNameError
from spikefit_search.hardware.chips import energy_model
from spikefit_search.hardware.loader import load_profile
from spikefit_search.hardware.profile import Constant, HardwareProfile

if TYPE_CHECKING:
    from spikefit_search.snn.network import Activity

PJ_PER_UJ = 1e6
TERMS = ("sop", "update", "spike", "static")
"""The four terms of the model, in formula order (``<term>_uj`` in reports and tables)."""
WINDOW_SOURCES = ("steps", "option", "data", "profile")
"""Where the time a chip is on comes from: ``T*dt`` (clocked chips), ``--window-ms``, the
data's recordings, or the profile's default window."""


@dataclass(frozen=True)
class Objective:
    """A second objective of the search (the first is validation accuracy, maximised).

    Args:
        name: what ``--objective`` takes.
        key: the :class:`EnergyReport` field (and trial attribute) it minimises.
        label: the plot's axis label.
    """

    name: str
    key: str
    label: str


OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective("energy", "energy_uj", "Energy per inference (µJ)"),
        Objective("dynamic", "dynamic_uj", "Dynamic energy per inference (µJ, static excluded)"),
        Objective("sops", "sops", "Synaptic operations per inference"),
        Objective("latency", "latency_ms", "Latency per inference (ms)"),
    )
}
DEFAULT_OBJECTIVE = "energy"


def get_objective(name: str) -> Objective:
    """The objective called ``name``.

    Raises:
        UnknownNameError: ``name`` is not one of :data:`OBJECTIVES`.
    """
    if name not in OBJECTIVES:
        raise UnknownNameError("--objective", name, OBJECTIVES)
    return OBJECTIVES[name]


def objective_for_key(key: str) -> Objective:
    """The objective whose metric is ``key`` (``energy_uj`` for unknown keys: older runs)."""
    for o in OBJECTIVES.values():
        if o.key == key:
            return o
    return OBJECTIVES[DEFAULT_OBJECTIVE]


def check_objective(profile: HardwareProfile, name: str) -> Objective:
    """The objective ``name``, refused where it cannot rank candidates on ``profile``.

    Raises:
        UnknownNameError: unknown name.
        ConfigError: ``latency`` on an event-driven chip, whose latency is the inference
            window, the same for every candidate.
    """
    objective = get_objective(name)
    energy = profile.energy
    if objective.name == "latency" and not energy.clocked.value:
        raise ConfigError(
            f"--objective latency needs a clocked chip, but {profile.name} is event-driven: "
            "its latency is the inference window, the same for every candidate."
        )
    if objective.name == "energy" and not energy.ranks_candidates:
        raise ConfigError(
            f"--objective energy needs an energy figure that differs between candidates, but "
            f"{profile.name} has none ({_unmodelled(profile)} not modelled): use --objective sops."
        )
    if objective.name == "dynamic" and not energy.dynamic_modelled:
        raise ConfigError(
            f"--objective dynamic needs a per-event energy figure, but {profile.name} has none "
            f"({_unmodelled(profile)} not modelled): use --objective "
            f"{'energy' if energy.ranks_candidates else 'sops'}."
        )
    return objective


def _unmodelled(profile: HardwareProfile) -> str:
    names = profile.energy.unknown
    return ", ".join(names) if names else "per-event energy"


def default_objective(profile: HardwareProfile) -> str:
    """``energy`` where the profile's energy can rank candidates, else ``sops``."""
    return DEFAULT_OBJECTIVE if profile.energy.ranks_candidates else "sops"


def check_window(window_ms: float | None) -> float | None:
    """``window_ms`` if it is a positive finite number of ms (or None).

    Raises:
        ConfigError: zero, negative or not finite.
    """
    if window_ms is not None and not (math.isfinite(window_ms) and window_ms > 0):
        raise ConfigError(f"--window-ms must be a positive number of ms, but got {window_ms}.")
    return window_ms


@dataclass(frozen=True)
class EnergyReport:
    """Energy of one inference (one sample) on a chip, with the counts behind it.

    Args:
        profile: profile name.
        sops: synaptic operations per inference that cost energy (zero weights included unless
            the profile's ``zero_is_free``).
        updates: neuron updates per inference.
        active_updates: neuron updates on a step where the neuron received input (clocked
            chips; equals ``updates`` on event-driven ones).
        spikes: spikes emitted per inference.
        timesteps: simulation steps ``T``.
        sop_uj, update_uj, spike_uj, static_uj: the four terms, in µJ.
        latency_ms: time from the start of the input to the result: ``T*dt`` on a clocked
            chip, the inference window on an event-driven one.
        on_ms: time the chip is powered for one inference (what the static term charges).
        window_source: where ``on_ms`` comes from (one of :data:`WINDOW_SOURCES`).
        clocked: whether updates were counted as every neuron every step.
        zero_is_free: whether zero weights were left out of ``sops``.
        estimated: names of the constants used that are our estimates, not published figures.
        secondary: names of the constants used that were read from a secondary source.
        estimated_terms: the terms (of :data:`TERMS`) that use an estimated constant.
        low_uj, high_uj: the energy with every constant at the low / high end of its range.
        dynamic_low_uj, dynamic_high_uj: the same for the dynamic energy (static left out).
        not_modelled: the terms (of :data:`TERMS`) whose constant is unknown; they add 0.
        model: the profile's energy model (``events`` or ``xylo_cycles``).
        cycles: master-clock cycles per inference (``xylo_cycles``; NaN otherwise).
        clock_mhz: the clock the network runs at in real time (``xylo_cycles``; NaN otherwise).
        required_clock_mhz: the clock Rockpool's ``est_clock_freq`` asks for.
    """

    profile: str
    sops: float
    updates: float
    active_updates: float
    spikes: float
    timesteps: int
    sop_uj: float
    update_uj: float
    spike_uj: float
    static_uj: float
    latency_ms: float
    on_ms: float
    window_source: str
    clocked: bool
    zero_is_free: bool
    estimated: tuple[str, ...]
    secondary: tuple[str, ...] = ()
    estimated_terms: tuple[str, ...] = ()
    low_uj: float = math.nan
    high_uj: float = math.nan
    dynamic_low_uj: float = math.nan
    dynamic_high_uj: float = math.nan
    not_modelled: tuple[str, ...] = ()
    model: str = "events"
    cycles: float = math.nan
    clock_mhz: float = math.nan
    required_clock_mhz: float = math.nan

    @property
    def total_uj(self) -> float:
        """Energy per inference, in µJ."""
        return self.sop_uj + self.update_uj + self.spike_uj + self.static_uj

    @property
    def energy_uj(self) -> float:
        """Same as :attr:`total_uj` (the name the objective and the tables use)."""
        return self.total_uj

    @property
    def dynamic_uj(self) -> float:
        """Energy the network's activity costs: every term but the static one, in µJ."""
        return self.sop_uj + self.update_uj + self.spike_uj

    @property
    def is_estimate(self) -> bool:
        """True when any constant used is an estimate."""
        return bool(self.estimated)

    def objective_value(self, name: str) -> float:
        """The value the search minimises for objective ``name``."""
        return float(getattr(self, get_objective(name).key))

    def to_dict(self) -> dict[str, object]:
        return {
            "profile": self.profile,
            "energy_uj": self.total_uj,
            "dynamic_uj": self.dynamic_uj,
            "sop_uj": self.sop_uj,
            "update_uj": self.update_uj,
            "spike_uj": self.spike_uj,
            "static_uj": self.static_uj,
            "latency_ms": self.latency_ms,
            "on_ms": self.on_ms,
            "window_source": self.window_source,
            "sops": self.sops,
            "updates": self.updates,
            "active_updates": self.active_updates,
            "spikes": self.spikes,
            "timesteps": self.timesteps,
            "clocked": self.clocked,
            "zero_is_free": self.zero_is_free,
            "estimated": list(self.estimated),
            "secondary": list(self.secondary),
            "estimated_terms": list(self.estimated_terms),
            "energy_low_uj": self.low_uj,
            "energy_high_uj": self.high_uj,
            "dynamic_low_uj": self.dynamic_low_uj,
            "dynamic_high_uj": self.dynamic_high_uj,
            "not_modelled": list(self.not_modelled),
            "model": self.model,
            "cycles": self.cycles,
            "clock_mhz": self.clock_mhz,
            "required_clock_mhz": self.required_clock_mhz,
        }


def inference_window(
    profile: HardwareProfile,
    *,
    option_ms: float | None = None,
    data_ms: float | None = None,
) -> tuple[float, str]:
    """The window an event-driven chip is on for one inference, and where it comes from.

    The user's ``--window-ms`` wins, then the data's mean recording duration, then the
    profile's default ``energy.window_ms``.

    Raises:
        ConfigError: the profile is clocked (its time on is ``T*dt``) or has no window.
    """
    if profile.energy.clocked.value:
        raise ConfigError(
            f"an inference window applies to event-driven chips, but {profile.name} is clocked."
        )
    if option_ms is not None:
        return float(check_window(option_ms) or 0.0), "option"
    if data_ms is not None:
        return float(data_ms), "data"
    window = profile.energy.window_ms
    if window is None:
        raise ConfigError(f"{profile.name} must set energy.window_ms, but it is missing.")
    return float(window.value), "profile"


def estimate_energy(
    profile: HardwareProfile | str | Path,
    activity: Activity,
    *,
    window_ms: float | None = None,
    data_window_ms: float | None = None,
) -> EnergyReport:
    """Energy per inference of ``activity`` (events per sample) on ``profile``.

    Args:
        profile: the chip.
        activity: what the network did, per sample.
        window_ms: the user's inference window (``--window-ms``), event-driven chips only.
        data_window_ms: the data's mean recording duration (``Dataset.window_ms``).

    Example:
        >>> from spikefit_search.snn import Activity, LayerActivity
        >>> act = Activity(timesteps=2, samples=1, layers=[LayerActivity(4, 3.0, 12.0, 5.0)])
        >>> e = estimate_energy("loihi", act)
        >>> round(e.sop_uj, 7), e.not_modelled
        (0.0002832, ('static',))
    """
    p = profile if isinstance(profile, HardwareProfile) else load_profile(profile)
    c = p.energy
    clocked = bool(c.clocked.value)
    zero_free = bool(p.unique_weights.zero_is_free.value)
    sops = float(activity.total_sops if zero_free else activity.total_dense_sops)
    spikes = float(activity.total_spikes)
    steps = activity.timesteps
    used = ["e_sop_pj", "e_update_pj", "e_spike_pj", "static_power_mw", "clocked"]
    if clocked:
        updates = float(activity.total_neurons * steps)
        active = float(activity.total_active_updates)
        if math.isnan(active):
            active = updates  # not recorded: charge every update as active (an upper bound)
        if c.e_active_update_pj is not None:
            used.append("e_active_update_pj")
        assert c.dt_ms is not None  # the loader requires it on clocked chips
        on_ms = latency_ms = steps * c.dt_ms.value
        source = "steps"
        used.append("dt_ms")
    else:
        updates = active = sops
        on_ms, source = inference_window(p, option_ms=window_ms, data_ms=data_window_ms)
        latency_ms = on_ms
        if source == "profile":
            used.append("window_ms")
    model = energy_model(p)
    clock = model.clock(p, activity)
    if model.used is not None:
        used = list(model.used)

    def terms(end: int) -> tuple[float, float, float, float]:
        """The four terms in µJ with every constant at ``end`` (0 low, 1 central, 2 high)."""

        def k(constant: Constant | None) -> float:
            if constant is None:
                return 0.0
            lo, hi = constant.bounds
            return (lo, constant.central, hi)[end]

        update = updates * k(c.e_update_pj)
        if clocked:
            update += active * k(c.e_active_update_pj)
        static = model.static_uj(c, k, clock, on_ms)
        return (
            sops * k(c.e_sop_pj) / PJ_PER_UJ,
            update / PJ_PER_UJ,
            spikes * k(c.e_spike_pj) / PJ_PER_UJ,
            static,
        )

    entries = dict(c.items())
    estimated = tuple(n for n in used if entries[n].estimated)
    secondary = tuple(n for n in used if entries[n].secondary)
    term_constants = {
        "sop": ("e_sop_pj",),
        "update": ("e_update_pj", "e_active_update_pj"),
        "spike": ("e_spike_pj",),
        "static": ("static_power_mw", "e_clock_pj", "dt_ms", "window_ms"),
    }
    estimated_terms = tuple(t for t in TERMS if any(n in estimated for n in term_constants[t]))
    price = model.priced(c)
    not_modelled = tuple(t for t, k in price.items() if k is not None and not k.known)
    low, central, high = (terms(end) for end in (0, 1, 2))
    sop_uj, update_uj, spike_uj, static_uj = central
    return EnergyReport(
        profile=p.name,
        sops=sops,
        updates=updates,
        active_updates=active,
        spikes=spikes,
        timesteps=steps,
        sop_uj=sop_uj,
        update_uj=update_uj,
        spike_uj=spike_uj,
        static_uj=static_uj,
        latency_ms=latency_ms,
        on_ms=on_ms,
        window_source=source,
        clocked=clocked,
        zero_is_free=zero_free,
        estimated=estimated,
        secondary=secondary,
        estimated_terms=estimated_terms,
        low_uj=sum(low),
        high_uj=sum(high),
        dynamic_low_uj=sum(low[:3]),
        dynamic_high_uj=sum(high[:3]),
        not_modelled=not_modelled,
        model=c.model,
        cycles=math.nan if clock is None else clock.cycles,
        clock_mhz=math.nan if clock is None else clock.mhz,
        required_clock_mhz=math.nan if clock is None else clock.required_mhz,
    )
