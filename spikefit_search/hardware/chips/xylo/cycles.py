"""Master-clock cycles a Xylo core needs per time step, and the clock that keeps real time.

Our implementation of the cycle counts of SynSense's model for Xylo Audio 2 and Xylo IMU
(synsense/rockpool 3.1.0 ``rockpool/devices/xylo/syns61201/power_cycles_model.py`` and
``syns63300/power_cycles_model.py``, ``cycles_model`` and ``est_clock_freq``). Per step, with
``p_in`` the share of (step, input channel) bins holding at least one event and ``p_hid`` the
share of (step, hidden neuron) bins holding a spike (several events in one bin cost as one):

.. math::

    C = N_{in} (3.5 p_{in} N_{ien} + 1) + N_{hid} (7 F p_{hid} + 3)
        + N_{oen} p_{hid} (1 + 8 N_{out}) + N_{hid} (19 + 3 p_{hid}) + 12 N_{out}

``F`` is the mean number of non-zero recurrent (hidden-to-hidden) weights per hidden neuron;
``N_ien`` and ``N_oen`` are every hidden neuron on Xylo Audio 2 (the input and readout loops
are dense), and only the hidden neurons with input / readout weights on Xylo IMU. Aliases are
not used by our networks, so the alias terms vanish. The clock a network needs runs the worst
case (every bin active) with a margin: ``f = C(1, 1) (1 + margin) / dt``.

A feed-forward network maps onto one Xylo hidden population: every hidden layer's neurons are
hidden neurons, the weights between hidden layers are recurrent weights, the first layer's are
the input weights and the last layer's the readout weights.

The same model is the profile's energy model ``xylo_cycles`` (:class:`XyloCyclesEnergyModel`):
the core runs at the slowest settable clock that keeps real time and costs ``e_clock_pj`` per
elapsed cycle, and every check adds the ``clock`` constraint (the clock the network needs
against the chip's fastest).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spikefit_search.exceptions import ConfigError
from spikefit_search.hardware.energy_model import (
    ENERGY_MODELS,
    PER_EVENT,
    Clock,
    EnergyModel,
    FieldReader,
)
from spikefit_search.hardware.profile import Constant, EnergyConstants, HardwareProfile, Sourced
from spikefit_search.hardware.result import ConstraintUsage

if TYPE_CHECKING:
    from spikefit_search.hardware.usage import LayerUsage
    from spikefit_search.snn.network import Activity

INPUT_LOOP = 3.5
"""Cycles per hidden neuron for every active input channel (``input_loop_cycles``)."""
HIDDEN_UPDATE = 7.0
"""Cycles per recurrent synapse of a spiking hidden neuron (``hidden_update_cycles``)."""
OUTPUT_ISYN = 8.0
"""Cycles per output neuron for every spiking hidden neuron (``output_isyn_update_cycles``)."""
FIXED_HIDDEN = 19.0
"""Cycles per hidden neuron per step (``fixed_hidden_neuron_cycles``)."""
FIXED_OUTPUT = 12.0
"""Cycles per output neuron per step (``fixed_output_neuron_spk_cycles``)."""


@dataclass(frozen=True)
class XyloShape:
    """A network as the cycles model sees it.

    Args:
        n_in: input channels.
        n_hidden: hidden neurons (all hidden layers).
        n_out: output (readout) neurons.
        fanout: mean non-zero recurrent weights per hidden neuron.
        n_ien: hidden neurons an input event is looped over.
        n_oen: hidden neurons whose spikes are looped over the readout.
    """

    n_in: int
    n_hidden: int
    n_out: int
    fanout: float
    n_ien: int
    n_oen: int

    def step_cycles(self, p_in: float = 1.0, p_hid: float = 1.0) -> float:
        """Cycles of one step at bin occupancies ``p_in``, ``p_hid`` (1, 1: the worst case)."""
        return (
            self.n_in * (p_in * self.n_ien * INPUT_LOOP + 1)
            + self.n_hidden * (self.fanout * HIDDEN_UPDATE * p_hid + 3)
            + self.n_oen * p_hid * (1 + self.n_out * OUTPUT_ISYN)
            + self.n_hidden * (FIXED_HIDDEN + 3 * p_hid)
            + FIXED_OUTPUT * self.n_out
        )

    def required_clock_mhz(self, dt_ms: float, margin: float) -> float:
        """The clock (MHz) that runs the worst case in real time at ``dt_ms`` (est_clock_freq)."""
        return self.step_cycles() * (1 + margin) / (dt_ms * 1e3)


def settable_clock_mhz(required_mhz: float, step_mhz: float) -> float:
    """The slowest clock ``step_mhz / n`` (``n = 1, 2, ...``) at or above ``required_mhz``;
    ``required_mhz`` itself when even ``step_mhz`` is too slow (the clock check refuses it)."""
    if required_mhz <= 0:
        return step_mhz
    if required_mhz > step_mhz:
        return required_mhz
    return step_mhz / math.floor(step_mhz / required_mhz + 1e-12)


def shape_from_usage(layers: Sequence[LayerUsage], projections: str) -> XyloShape:
    """The shape of a network from its per-layer usage (static: dense; measured: non-zero)."""
    first, last = layers[0], layers[-1]
    hidden = sum(u.spec.n_neurons for u in layers[:-1])
    # hidden-to-hidden synapses (a recurrent layer's own included), the first layer's own too
    recurrent = sum(u.synapses for u in layers[1:-1]) + sum(u.rec_synapses for u in layers[:1])
    if projections == "connected" and first.weight is not None:
        rows = int((first.weight.reshape(first.weight.shape[0], -1) != 0).any(dim=1).sum())
        n_ien = rows * first.spec.out_size[0] * first.spec.out_size[1]  # a conv's positions
    else:
        n_ien = first.spec.n_neurons if projections == "connected" else hidden
    n_oen = last.inputs_used if projections == "connected" else hidden
    return XyloShape(
        n_in=first.spec.n_inputs,
        n_hidden=hidden,
        n_out=last.spec.n_neurons,
        fanout=recurrent / hidden if hidden else 0.0,
        n_ien=n_ien,
        n_oen=n_oen,
    )


def shape_from_activity(activity: Activity, projections: str) -> XyloShape:
    """The shape of the network an :class:`Activity` was recorded on (its weight counts)."""
    layers = activity.layers
    first, last = layers[0], layers[-1]
    hidden = sum(layer.neurons for layer in layers[:-1])
    recurrent = sum(_count(layer.weights_nonzero, "weights_nonzero") for layer in layers[1:-1])
    recurrent += sum(layer.rec_weights_nonzero for layer in layers[:-1])
    if projections == "connected":
        n_ien = int(_count(first.neurons_used, "neurons_used"))
        n_oen = int(_count(last.inputs_used, "inputs_used"))
    else:
        n_ien = n_oen = hidden
    return XyloShape(
        n_in=int(_count(first.inputs, "inputs")),
        n_hidden=hidden,
        n_out=last.neurons,
        fanout=recurrent / hidden if hidden else 0.0,
        n_ien=n_ien,
        n_oen=n_oen,
    )


def _count(value: float, name: str) -> float:
    if math.isnan(value):
        raise ConfigError(
            f"the Xylo cycles model needs the layers' {name}, but the activity did not record it."
        )
    return value


def occupancy(activity: Activity) -> tuple[float, float]:
    """``(p_in, p_hid)``: the share of input and hidden (step, channel) bins with an event."""
    layers = activity.layers
    steps = activity.timesteps
    first = layers[0]
    n_in = _count(first.inputs, "inputs")
    p_in = _count(first.input_bins, "input_bins") / (steps * n_in) if n_in else 0.0
    hidden = sum(layer.neurons for layer in layers[:-1])
    spikes = sum(_count(layer.spike_bins, "spike_bins") for layer in layers[:-1])
    p_hid = spikes / (steps * hidden) if hidden else 0.0
    return p_in, p_hid


def inference_cycles(activity: Activity, projections: str) -> float:
    """Master-clock cycles of one inference (``T`` steps) at the recorded occupancies."""
    p_in, p_hid = occupancy(activity)
    shape = shape_from_activity(activity, projections)
    return activity.timesteps * shape.step_cycles(p_in, p_hid)


class XyloCyclesEnergyModel(EnergyModel):
    """``energy.model: xylo_cycles``: a Xylo core priced per elapsed master-clock cycle."""

    name = "xylo_cycles"
    used = ("e_clock_pj", "clock_margin", "clock_step_mhz", "clocked", "dt_ms")

    def read(
        self, reader: FieldReader, energy: Mapping[str, Any], clocked: Sourced[bool]
    ) -> dict[str, Any]:
        if not clocked.value:
            raise reader.error("energy.clocked", "must be true with model xylo_cycles.")
        fields: dict[str, Any] = {"e_clock_pj": reader.constant("e_clock_pj", energy)}
        for key in ("max_clock_mhz", "clock_step_mhz"):
            fields[key] = reader.amount(key, energy, positive=True)
        fields["clock_margin"] = reader.amount("clock_margin", energy, positive=False)
        projections = reader.sourced("projections", energy, "energy.")
        if projections.value not in ("all", "connected"):
            raise reader.error(
                "energy.projections",
                f"must be all or connected, but got {projections.value!r}.",
            )
        fields["projections"] = projections
        for key in (*PER_EVENT, "static_power_mw"):
            if key in energy:
                raise reader.error(
                    f"energy.{key}",
                    "must be left out with model xylo_cycles (the core is priced per "
                    "clock cycle, e_clock_pj), but it is set.",
                )
        return fields

    def constraint_names(self, profile: HardwareProfile) -> tuple[str, ...]:
        return ("clock",)

    def constraints(
        self, profile: HardwareProfile, layers: Sequence[LayerUsage]
    ) -> list[ConstraintUsage]:
        """The master clock the network needs to run in real time at the profile's ``dt``
        (Rockpool's ``est_clock_freq``: the worst-case cycles of a step, plus a margin),
        against the chip's fastest clock."""
        e = profile.energy
        assert e.dt_ms is not None and e.clock_margin is not None
        assert e.max_clock_mhz is not None and e.projections is not None
        shape = shape_from_usage(layers, str(e.projections.value))
        required = shape.required_clock_mhz(e.dt_ms.value, e.clock_margin.value)
        usage = ConstraintUsage(
            "clock",
            required,
            e.max_clock_mhz.value,
            "network",
            label="real-time clock",
            note=(
                f"MHz at dt {e.dt_ms.value:g} ms ({shape.step_cycles():,.0f} worst-case cycles "
                f"per step + {e.clock_margin.value:.0%})"
            ),
        )
        return [usage]

    def clock(self, profile: HardwareProfile, activity: Activity) -> Clock:
        c = profile.energy
        assert c.dt_ms is not None and c.clock_margin is not None
        assert c.projections is not None and c.clock_step_mhz is not None
        projections = str(c.projections.value)
        shape = shape_from_activity(activity, projections)
        required = shape.required_clock_mhz(c.dt_ms.value, c.clock_margin.value)
        return Clock(
            cycles=inference_cycles(activity, projections),
            required_mhz=required,
            mhz=settable_clock_mhz(required, c.clock_step_mhz.value),
        )

    def priced(self, c: EnergyConstants) -> dict[str, Constant | None]:
        return {"static": c.e_clock_pj}  # one term: the core per elapsed clock cycle

    def static_uj(
        self,
        c: EnergyConstants,
        value: Callable[[Constant | None], float],
        clock: Clock | None,
        on_ms: float,
    ) -> float:
        assert clock is not None
        return value(c.e_clock_pj) * clock.mhz * on_ms * 1e-3  # pJ * MHz * ms = 1e-3 µJ


ENERGY_MODELS.add(XyloCyclesEnergyModel.name, XyloCyclesEnergyModel())
