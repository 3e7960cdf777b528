"""Energy per inference from recorded activity and a profile's constants.

.. math::

    E = N_{sop} e_{sop} + N_{update} e_{update} + N_{spike} e_{spike} + P_{static} T \\Delta t

``N_sop`` counts, for every event (input events included), the non-zero synapses it drives.
A clocked chip updates every neuron every step (``N_update = neurons * T``); an event-driven
chip updates a neuron only when a synaptic event reaches it (``N_update = N_sop``).
``N_spike`` counts the spikes the network's neurons emit (input events are not chip spikes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spikefit_search.hardware.loader import load_profile
from spikefit_search.hardware.profile import HardwareProfile

if TYPE_CHECKING:
    from spikefit_search.snn.network import Activity

PJ_PER_UJ = 1e6


@dataclass(frozen=True)
class EnergyReport:
    """Energy of one inference (one sample) on a chip, with the counts behind it.

    Args:
        profile: profile name.
        sops: synaptic operations per inference.
        updates: neuron updates per inference.
        spikes: spikes emitted per inference.
        timesteps: simulation steps ``T``.
        sop_uj, update_uj, spike_uj, static_uj: the four terms, in µJ.
        clocked: whether updates were counted as every neuron every step.
        estimated: names of the constants that are our estimates, not published figures.
    """

    profile: str
    sops: float
    updates: float
    spikes: float
    timesteps: int
    sop_uj: float
    update_uj: float
    spike_uj: float
    static_uj: float
    clocked: bool
    estimated: tuple[str, ...]

    @property
    def total_uj(self) -> float:
        """Energy per inference, in µJ."""
        return self.sop_uj + self.update_uj + self.spike_uj + self.static_uj

    @property
    def is_estimate(self) -> bool:
        """True when any constant used is an estimate."""
        return bool(self.estimated)

    def to_dict(self) -> dict[str, object]:
        return {
            "profile": self.profile,
            "energy_uj": self.total_uj,
            "sop_uj": self.sop_uj,
            "update_uj": self.update_uj,
            "spike_uj": self.spike_uj,
            "static_uj": self.static_uj,
            "sops": self.sops,
            "updates": self.updates,
            "spikes": self.spikes,
            "timesteps": self.timesteps,
            "clocked": self.clocked,
            "estimated": list(self.estimated),
        }


def estimate_energy(profile: HardwareProfile | str | Path, activity: Activity) -> EnergyReport:
    """Energy per inference of ``activity`` (events per sample) on ``profile``.

    Example:
        >>> from spikefit_search.snn import Activity, LayerActivity
        >>> act = Activity(timesteps=2, samples=1, layers=[LayerActivity(4, 3.0, 12.0, 5.0)])
        >>> round(estimate_energy("truenorth", act).total_uj, 6)
        0.000312
    """
    p = profile if isinstance(profile, HardwareProfile) else load_profile(profile)
    c = p.energy
    clocked = c.clocked.value
    sops = float(activity.total_sops)
    spikes = float(activity.total_spikes)
    updates = float(activity.total_neurons * activity.timesteps) if clocked else sops
    return EnergyReport(
        profile=p.name,
        sops=sops,
        updates=updates,
        spikes=spikes,
        timesteps=activity.timesteps,
        sop_uj=sops * c.e_sop_pj.value / PJ_PER_UJ,
        update_uj=updates * c.e_update_pj.value / PJ_PER_UJ,
        spike_uj=spikes * c.e_spike_pj.value / PJ_PER_UJ,
        # mW * ms = µJ
        static_uj=c.static_power_mw.value * activity.timesteps * c.dt_ms.value,
        clocked=clocked,
        estimated=c.estimated,
    )
