"""Fit a search space to its data on a chip: event frames and input reduction.

Event data come binned into ``T`` frames, so the space's ``T`` is the binning's and the network
takes the frames as they are (encoder ``events``, no rate coding). A chip that takes fewer input
channels than the data has (Xylo's 16, DYNAP-SE2's fan-in of 64) gets an input-reduction
parameter searched: ``input_group`` (sums of adjacent channels: 700 cochlea channels into 16) for
channel data, ``input_pool`` (sum pooling of the map) for camera frames, in fully connected
spaces. Its choices start at the smallest reduction that meets the limit; stronger ones trade
accuracy for fewer synapses. A space that already sets or searches a reduction is left as it is.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from spikefit_search.exceptions import ConfigError, SpikefitError
from spikefit_search.hardware import HardwareProfile, fan_in_cap, static_check
from spikefit_search.search.space import INPUT_REDUCTION, Param, SearchSpace

if TYPE_CHECKING:
    from spikefit_search.data import Dataset
    from spikefit_search.hardware.result import CheckResult

REDUCTION_STEPS = (1, 2, 4)
"""Choices of a searched reduction, as multiples of the smallest one that meets the limit."""


def input_limit(profile: HardwareProfile, kind: str) -> int | None:
    """How many inputs the chip's first layer may take: ``limits.inputs``, and for a fully
    connected first layer also ``limits.fan_in``; None when the profile sets neither."""
    limits = [profile.limit("inputs")]
    if kind == "mlp":
        limits.append(profile.limit("fan_in"))
    found = [int(v) for v in limits if v is not None]
    return min(found) if found else None


def reduction_choices(
    shape: tuple[int, int, int], limit: int
) -> tuple[str, tuple[int, ...]] | None:
    """The reduction parameter and its choices that bring ``shape`` (C, H, W) within ``limit``
    inputs: ``input_group`` for channel data (H = W = 1), ``input_pool`` for maps. None when the
    input already fits or no pooling alone can make it fit."""
    c, h, w = shape
    if c * h * w <= limit:
        return None
    if h * w == 1:
        first = math.ceil(c / limit)
        sizes = {g * first: math.ceil(c / (g * first)) for g in REDUCTION_STEPS}
        kept = [g for g, n in sizes.items() if n >= 2 or g == first]
        return "input_group", _distinct(kept, sizes)
    side = max(h, w)
    pools = {p: c * math.ceil(h / p) * math.ceil(w / p) for p in range(2, side + 1)}
    fitting = [p for p, n in pools.items() if n <= limit]
    if not fitting:
        return None
    first = fitting[0]
    kept = [g * first for g in REDUCTION_STEPS if g * first <= side]
    return "input_pool", _distinct(kept, {p: pools[p] for p in kept})


def _distinct(factors: list[int], sizes: dict[int, int]) -> tuple[int, ...]:
    """Keep the smallest factor of every resulting input size."""
    seen: set[int] = set()
    out = []
    for f in factors:
        if sizes[f] not in seen:
            seen.add(sizes[f])
            out.append(f)
    return tuple(out)


def fit_to_data(space: SearchSpace, profile: HardwareProfile, data: Dataset) -> SearchSpace:
    """The (device-narrowed) ``space`` adapted to ``data``: event frames fix ``T`` and use the
    ``events`` encoder; an input wider than the chip's input limit gets a reduction searched.
    What changed is added to the space's notes."""
    network = dict(space.network)
    params = dict(space.params)
    notes = list(space.notes)
    if data.timesteps is None and network.get("encoder") == "events":
        raise ConfigError(
            f"space {space.name} with encoder 'events' needs event data, but {data.name} holds "
            "static samples; use encoder rate or direct."
        )
    if data.timesteps is not None:
        if network.get("timesteps") != data.timesteps or "timesteps" in params:
            notes.append(f"timesteps fixed to {data.timesteps} by the binning of the event data")
        params.pop("timesteps", None)
        network["timesteps"] = data.timesteps
        network["encoder"] = "events"
    limit = input_limit(profile, space.kind)
    searched = any(k in params or network.get(k, 1) != 1 for k in INPUT_REDUCTION)
    # the chips with an input-channel limit (Xylo, DYNAP-SE2) run fully connected layers only;
    # a conv space keeps its map (pooling it would collapse the conv geometry)
    if limit is not None and not searched and space.kind == "mlp":
        found = reduction_choices(data.input_shape, limit)
        if found is not None:
            name, choices = found
            params[name] = Param(name, choices=choices)
            c, h, w = data.input_shape
            what = f"{c} channels" if h * w == 1 else f"a {c}x{h}x{w} input"
            notes.append(
                f"{name} searched over {{{', '.join(map(str, choices))}}}: {profile.name} takes "
                f"at most {limit} inputs, the data has {what}"
            )
    return replace(space, network=network, params=params, notes=tuple(notes))


def smallest_check(
    space: SearchSpace, profile: HardwareProfile, data: Dataset, *, cap_fan_in: bool = False
) -> CheckResult:
    """The static check of the cheapest candidate of ``space`` on ``data``.

    Args:
        cap_fan_in: check it with the fan-in cap the search would prune it to (as trials are).
    """
    smallest = space.smallest(input_shape=data.input_shape, n_classes=data.n_classes)
    unique = profile.unique_weights
    return static_check(
        profile,
        smallest.pruned_network(),
        n_values=smallest.n_values,
        bits=smallest.bits,
        scope="neuron" if unique.scope.value == "neuron" else "layer",
        zero_code=bool(unique.zero_is_free.value),
        fan_in_cap=fan_in_cap(profile, smallest.pruned_network()) if cap_fan_in else None,
    )


def spaces_that_fit(profile: HardwareProfile, data: Dataset, *, exclude: str = "") -> list[str]:
    """Shipped spaces whose cheapest candidate fits the chip on ``data``."""
    from spikefit_search.search.space import list_search_spaces, load_search_space

    fitting = []
    for name in list_search_spaces():
        if name == exclude:
            continue
        try:
            other = fit_to_data(load_search_space(name).narrow(profile), profile, data)
            if smallest_check(other, profile, data).fits:
                fitting.append(name)
        except (ConfigError, SpikefitError):
            continue
    return fitting


def refusal_hint(profile: HardwareProfile, data: Dataset, space: SearchSpace) -> str:
    """What to try instead when nothing of ``space`` fits: the shipped spaces that would."""
    others = spaces_that_fit(profile, data, exclude=space.name)
    if not others:
        return f"no shipped search space fits {profile.name} on this data either"
    names = " or ".join(f"--space {n}" for n in others)
    return f"use {names}, whose smallest candidate fits"
