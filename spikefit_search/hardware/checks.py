"""The static check (from a config) and the measured check (from a trained model).

Both return a :class:`CheckResult` with every constraint the profile defines, never raise for
"does not fit", and share all constraint code, so they agree wherever a config determines the
network (dense layers, declared bit-width and codebook size reached).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spikefit_search._modes import eval_mode
from spikefit_search.hardware.chips import energy_model
from spikefit_search.hardware.loader import load_profile
from spikefit_search.hardware.profile import CORE_LIMIT_NAMES, LIMIT_NAMES, HardwareProfile
from spikefit_search.hardware.result import CheckKind, CheckResult, ConstraintUsage
from spikefit_search.hardware.unique_weights import measured_unique_usage, static_unique_usage
from spikefit_search.hardware.usage import LayerUsage, measured_layer_usage, static_layer_usage

if TYPE_CHECKING:
    from spikefit_search.snn.config import LayerSpec, NetworkConfig
    from spikefit_search.snn.network import SpikingNetwork

ProfileLike = HardwareProfile | str | Path

LIMIT_CONSTRAINTS = tuple(
    n for n in LIMIT_NAMES if n not in CORE_LIMIT_NAMES and n != "neurons_per_core"
)
"""Limits checked for every profile that sets them (per-core ones belong to the mapping)."""


def _profile(profile: ProfileLike) -> HardwareProfile:
    return profile if isinstance(profile, HardwareProfile) else load_profile(profile)


def constraint_names(profile: ProfileLike) -> tuple[str, ...]:
    """Every constraint name ``profile`` evaluates, in report order (same for any network)."""
    p = _profile(profile)
    names = ["neuron_model", "layer_type", "weight_bits", "unique_weights"]
    if not p.signed.value:
        names.append("weight_sign")
    names += [n for n in LIMIT_CONSTRAINTS if p.limit(n) is not None]
    names += [n for n in NEURON_CONSTRAINTS if _neuron_rule_applies(p, n)]
    names += energy_model(p).constraint_names(p)
    names += [n for n in p.mapping.constraint_names(p) if n not in names]
    return tuple(names)


def fan_in_cap(profile: ProfileLike, network: NetworkConfig) -> int | None:
    """The per-neuron synapse cap a candidate needs on ``profile``: the chip's ``fan_in`` limit
    when some layer of ``network`` is denser than that, else None.

    The search prunes such candidates with the Fisher synapse score down to the cap instead
    of rejecting them.

    Example:
        >>> from spikefit_search.snn import NetworkConfig
        >>> fan_in_cap("dynap-se2", NetworkConfig(input_shape=(1, 8, 8), hidden=(100,)))
        64
        >>> fan_in_cap("dynap-se2", NetworkConfig(input_shape=(1, 8, 8), hidden=(32,))) is None
        True
    """
    limit = _profile(profile).limit("fan_in")
    if limit is None or all(s.fan_in <= limit for s in network.layer_specs()):
        return None
    return limit


def _common(
    p: HardwareProfile,
    network: NetworkConfig,
    layers: Sequence[LayerUsage],
    unique: list[ConstraintUsage],
    negative_layers: Sequence[bool],
) -> list[ConstraintUsage]:
    out: list[ConstraintUsage] = []
    model = network.neuron_model
    supported = p.neuron_models.value
    out.append(
        ConstraintUsage(
            "neuron_model",
            int(model not in supported),
            0,
            "network",
            label="neuron model",
            note=f"{model} neurons (beta={network.beta:g}), chip runs {'/'.join(supported)} only",
        )
    )
    allowed = p.layer_types.value
    bad: list[tuple[LayerSpec, str]] = [
        (u.spec, u.spec.kind) for u in layers if u.spec.kind not in allowed
    ]
    bad += [
        (u.spec, "recurrent") for u in layers if u.spec.recurrent and "recurrent" not in allowed
    ]
    out.append(
        ConstraintUsage(
            "layer_type",
            len(bad),
            0,
            "network",
            label="layer type",
            note=(
                f"{', '.join(f'layer {s.index} is {kind}' for s, kind in bad)}; chip runs "
                f"{'/'.join(allowed)} only"
            ),
        )
    )
    for u in layers:
        out.append(
            ConstraintUsage(
                "weight_bits",
                u.bits,
                p.weight_bits.value,
                f"layer {u.spec.index}",
                label="weight bits",
                note=u.bits_note,
            )
        )
    out += unique
    if not p.signed.value:
        for u, neg in zip(layers, negative_layers):
            out.append(
                ConstraintUsage(
                    "weight_sign",
                    int(neg),
                    0,
                    f"layer {u.spec.index}",
                    note="negative weights on a chip with unsigned weights",
                )
            )
    limit = p.limit
    if (n := limit("neurons")) is not None:
        counted = layers[:-1] if limit("outputs") is not None else layers
        what = "hidden neurons" if limit("outputs") is not None else "neurons"
        usage = sum(u.spec.n_neurons for u in counted)
        out.append(ConstraintUsage("neurons", usage, n, "network", label=what))
    if (n := limit("synapses")) is not None:
        out.append(ConstraintUsage("synapses", sum(u.synapses for u in layers), n, "network"))
    if (n := limit("fan_in")) is not None:
        for u in layers:
            out.append(ConstraintUsage("fan_in", u.fan_in, n, f"layer {u.spec.index}"))
    if (n := limit("fan_out")) is not None:
        # outgoing synapses of the chip's own neurons (network inputs are not chip neurons),
        # a recurrent neuron's to its peers included
        for prev, u in itertools.pairwise(layers):
            out.append(ConstraintUsage("fan_out", _fan_out(prev, u), n, f"layer {u.spec.index}"))
    if (n := limit("layers")) is not None:
        out.append(ConstraintUsage("layers", len(layers), n, "network"))
    if (n := limit("inputs")) is not None:
        out.append(ConstraintUsage("inputs", layers[0].spec.n_inputs, n, "network"))
    if (n := limit("outputs")) is not None:
        out.append(ConstraintUsage("outputs", layers[-1].spec.n_neurons, n, "network"))
    if (n := limit("input_projection")) is not None and len(layers) > 1:
        # hidden neurons the input weights reach (XyloIMU: the first 128)
        first = layers[0]
        positions = first.spec.out_size[0] * first.spec.out_size[1]
        reached = (
            first.spec.n_neurons if first.weight is None else _rows_used(first.weight) * positions
        )
        out.append(
            ConstraintUsage(
                "input_projection",
                reached,
                n,
                "layer 0",
                label="input projection",
                note="hidden neurons with input weights",
            )
        )
    if (n := limit("output_projection")) is not None and len(layers) > 1:
        # hidden neurons the output weights read (XyloIMU: the last 128)
        out.append(
            ConstraintUsage(
                "output_projection",
                layers[-1].inputs_used,
                n,
                f"layer {layers[-1].spec.index}",
                label="output projection",
                note="hidden neurons with output weights",
            )
        )
    if (n := limit("recurrent_synapses")) is not None:
        # what Xylo's recurrent weight memory holds: the synapses between hidden neurons (the
        # blocks between hidden layers and every recurrent layer's own)
        held = sum(u.synapses for u in layers[1:-1]) + sum(u.rec_synapses for u in layers[:1])
        out.append(
            ConstraintUsage(
                "recurrent_synapses",
                held if len(layers) > 1 else 0,
                n,
                "network",
                label="recurrent synapses",
                note="non-zero weights between hidden neurons",
            )
        )
    out += energy_model(p).constraints(p, layers)
    return out


def _fan_out(prev: LayerUsage, u: LayerUsage) -> int:
    """Most synapses out of one neuron of ``prev``: into layer ``u`` and, when ``prev`` is
    recurrent, back into ``prev`` (per neuron when both weights are measured)."""
    if not prev.spec.recurrent:
        return u.fan_out
    if u.weight is not None and prev.rec_weight is not None and u.spec.kind == "linear":
        per = (u.weight != 0).sum(dim=0) + (prev.rec_weight != 0).sum(dim=0)
        return int(per.max()) if per.numel() else 0
    return u.fan_out + prev.rec_fan_out


NEURON_CONSTRAINTS = ("reset", "encoder", "neuron_layers", "input_events")
"""Design rules of a profile's ``neuron`` section, as constraints."""


def _neuron_rule_applies(p: HardwareProfile, name: str) -> bool:
    rule = {"reset": "resets", "encoder": "encoders", "neuron_layers": "min_layers"}.get(name)
    if rule is not None:
        return p.neuron_rule(rule) is not None
    chip = p.chip_neuron
    return chip is not None and chip.input_events_per_step is not None


def _neuron_rules(p: HardwareProfile, network: NetworkConfig) -> list[ConstraintUsage]:
    """The chip neuron's design rules (Xylo: subtractive reset, integer events in, at most 15
    events per input channel and step, hidden and readout layers)."""
    out: list[ConstraintUsage] = []
    resets = p.neuron_rule("resets")
    if resets is not None:
        forbidden = float(network.reset not in resets)
        note = f"reset {network.reset!r}; the chip resets by {', '.join(resets)} only"
        out.append(ConstraintUsage("reset", forbidden, 0, "network", label="reset", note=note))
    encoders = p.neuron_rule("encoders")
    if encoders is not None:
        forbidden = float(network.encoder not in encoders)
        note = f"encoder {network.encoder!r}; the chip takes {', '.join(encoders)} input"
        out.append(ConstraintUsage("encoder", forbidden, 0, "network", label="encoder", note=note))
    least = p.neuron_rule("min_layers")
    if least is not None:
        layers = len(network.hidden_sizes) + 1
        out.append(
            ConstraintUsage(
                "neuron_layers",
                float(max(0, int(least) - layers)),
                0,
                "network",
                label="missing neuron layers",
                note=f"{layers} neuron layer(s); the chip needs at least {least}",
            )
        )
    chip = p.chip_neuron
    if chip is not None and chip.input_events_per_step is not None and network.encoder == "rate":
        # a rate-coded pixel sends at most one event a step; a reduced input sums its block
        events = network.input_pool**2 * network.input_group
        out.append(
            ConstraintUsage(
                "input_events",
                float(events),
                float(chip.input_events_per_step),
                "layer 0",
                label="input events per channel and step",
                note=f"input_pool={network.input_pool}, input_group={network.input_group}",
            )
        )
    return out


def _rows_used(weight: object) -> int:
    """Output neurons (rows) with at least one non-zero weight."""
    import torch

    assert isinstance(weight, torch.Tensor)
    return int((weight.reshape(weight.shape[0], -1) != 0).any(dim=1).sum())


def _result(
    p: HardwareProfile,
    kind: CheckKind,
    network: NetworkConfig,
    layers: Sequence[LayerUsage],
    unique: list[ConstraintUsage],
    negative_layers: Sequence[bool],
) -> CheckResult:
    usages = _common(p, network, layers, unique, negative_layers)
    usages += _neuron_rules(p, network)
    mapped, details = p.mapping.evaluate(p, layers, network)
    usages += mapped
    return CheckResult(p.name, kind, constraint_names(p), tuple(usages), details)


def static_check(
    profile: ProfileLike,
    network: NetworkConfig,
    *,
    n_values: int | None = None,
    bits: int | None = None,
    scope: str = "layer",
    zero_code: bool = False,
    fan_in_cap: int | None = None,
) -> CheckResult:
    """Check a candidate from its config alone, before any training (typically < 1 ms).

    Every usage is an upper bound of what the measured check can find on a network trained
    from this config (property-tested with the real quantizer), so a candidate the static
    check accepts is never refused after training.

    Args:
        profile: a profile, a device name or a profile path.
        network: the architecture after pruning.
        n_values: codebook size ``M`` (non-zero values per codebook scope); None = float.
        bits: weight bits ``b``; None = 32-bit float.
        scope: the codebook scope, ``"layer"`` or ``"neuron"``.
        zero_code: the codebook also holds an exact zero (pruned synapses).
        fan_in_cap: synapses kept into one neuron by Fisher synapse pruning, or None.

    Returns:
        Every constraint of the profile with its usage, limit and margin.

    Example:
        >>> from spikefit_search.snn import NetworkConfig
        >>> static_check("loihi", NetworkConfig(), n_values=16, bits=8).fits
        True
    """
    p = _profile(profile)
    layers = static_layer_usage(
        network,
        bits,
        fan_in_cap=fan_in_cap,
        n_values=n_values,
        scope=scope,
        symmetric=p.symmetric_at(bits),
    )
    capped = any(u.fan_in < u.spec.fan_in for u in layers)  # capping leaves exact zeros
    unique = static_unique_usage(
        p, network, n_values=n_values, bits=bits, scope=scope, zero_code=zero_code or capped
    )
    return _result(p, "static", network, layers, unique, [True] * len(layers))


def measured_check(profile: ProfileLike, model: SpikingNetwork) -> CheckResult:
    """Check a trained model on what its weights really are.

    Counts non-zero synapses (``effective_weight() != 0``), distinct values per the profile's
    scope, and the bit-width declared by each layer's ``weight_transform`` (``bits``,
    ``scale``), verified by checking that every weight is ``scale * k`` with ``k`` a ``bits``-bit
    signed integer (without ``-2^(b-1)`` where the profile's grid is symmetric,
    ``weights.symmetric``); a layer without it counts as 32-bit float. The weights are the
    evaluation-mode ones, whatever mode ``model`` is in.
    """
    import torch

    p = _profile(profile)
    with eval_mode(model), torch.no_grad():
        layers = measured_layer_usage(model, symmetric=p.symmetric_at)
        unique = measured_unique_usage(p, model)
        negative = [
            bool((layer.effective_weight() < 0).any())
            or (
                layer.recurrent is not None and bool((layer.recurrent.effective_weight() < 0).any())
            )
            for layer in model.synaptic_layers
        ]
    return _result(p, "measured", model.config, layers, unique, negative)
