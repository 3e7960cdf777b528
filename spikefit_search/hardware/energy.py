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
counts the spikes the network's neurons emit (input events are not chip spikes). See
``docs/energy.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spikefit_search.exceptions import ConfigError, UnknownNameError
from spikefit_search.hardware.loader import load_profile
from spikefit_search.hardware.profile import HardwareProfile

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
    if objective.name == "latency" and not profile.energy.clocked.value:
        raise ConfigError(
            f"--objective latency needs a clocked chip, but {profile.name} is event-driven: "
            "its latency is the inference window, the same for every candidate."
        )
    return objective


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
        >>> round(estimate_energy("truenorth", act).total_uj, 6)
        0.000312
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
        update_pj = updates * c.e_update_pj.value
        if c.e_active_update_pj is not None:
            update_pj += active * c.e_active_update_pj.value
            used.append("e_active_update_pj")
        assert c.dt_ms is not None  # the loader requires it on clocked chips
        on_ms = latency_ms = steps * c.dt_ms.value
        source = "steps"
        used.append("dt_ms")
    else:
        updates = active = sops
        update_pj = updates * c.e_update_pj.value
        on_ms, source = inference_window(p, option_ms=window_ms, data_ms=data_window_ms)
        latency_ms = on_ms
        if source == "profile":
            used.append("window_ms")
    entries = dict(c.items())
    estimated = tuple(n for n in used if entries[n].estimated)
    secondary = tuple(n for n in used if entries[n].secondary)
    term_constants = {
        "sop": ("e_sop_pj",),
        "update": ("e_update_pj", "e_active_update_pj"),
        "spike": ("e_spike_pj",),
        "static": ("static_power_mw", "dt_ms", "window_ms"),
    }
    estimated_terms = tuple(t for t in TERMS if any(n in estimated for n in term_constants[t]))
    return EnergyReport(
        profile=p.name,
        sops=sops,
        updates=updates,
        active_updates=active,
        spikes=spikes,
        timesteps=steps,
        sop_uj=sops * c.e_sop_pj.value / PJ_PER_UJ,
        update_uj=update_pj / PJ_PER_UJ,
        spike_uj=spikes * c.e_spike_pj.value / PJ_PER_UJ,
        static_uj=c.static_power_mw.value * on_ms,  # mW * ms = µJ
        latency_ms=latency_ms,
        on_ms=on_ms,
        window_source=source,
        clocked=clocked,
        zero_is_free=zero_free,
        estimated=estimated,
        secondary=secondary,
        estimated_terms=estimated_terms,
    )
