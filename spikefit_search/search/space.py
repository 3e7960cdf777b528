"""Search spaces: YAML files of parameter ranges and choices, narrowed by the target chip."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikefit_search._resources import list_yaml
from spikefit_search._yaml import YamlProblem, read_yaml
from spikefit_search.exceptions import ConfigError, SearchSpaceError, UnknownNameError
from spikefit_search.snn import NetworkConfig

if TYPE_CHECKING:
    import optuna

    from spikefit_search.hardware import HardwareProfile

KNOWN_PARAMS = {
    "n_values": int,
    "bits": int,
    "rho": float,
    "zero_fraction": float,
    "hidden_layers": int,
    "width": int,
    "conv_layers": int,
    "channels": int,
    "timesteps": int,
    "lr": float,
    "input_pool": int,
    "input_group": int,
    "recurrent": bool,
    "quantization": str,
}
"""Parameters a space may search, with their type."""

SEARCHABLE_QUANTIZATION = ("cat", "uniform", "kmeans")
"""Quantization methods a space may search (``none``, float weights, runs on no chip)."""

MAX_TIMESTEPS = 10_000
"""Most simulation steps per sample: beyond it one batch's spike tensors alone exceed memory."""
MAX_WIDTH = 65_536
"""Most neurons (or channels) in one layer; no chip profile holds a layer this wide."""
INPUT_REDUCTION = ("input_pool", "input_group")
"""Input-reduction parameters: sum pooling of the input map, sums of adjacent input channels."""

TRAINING_KEYS = {
    "warmup_epochs": int,
    "finetune_epochs": int,
    "batch_size": int,
    "lr": float,
    "finetune_lr": float,
    "codebook_lr": float,
    "codebook_freeze": float,
}
FRACTION_KEYS = ("codebook_freeze",)
"""Training keys that are fractions in [0, 1] rather than positive numbers."""


@dataclass(frozen=True)
class Param:
    """One searched parameter: ``choices`` or a ``low``..``high`` range (``log`` or ``step``)."""

    name: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    def suggest(
        self, trial: optuna.Trial | optuna.trial.FixedTrial, name: str | None = None
    ) -> Any:
        key = name or self.name
        if self.choices is not None:
            return trial.suggest_categorical(key, list(self.choices))
        assert self.low is not None and self.high is not None
        if KNOWN_PARAMS[self.name] is int:
            step = int(self.step) if self.step else 1
            return trial.suggest_int(key, int(self.low), int(self.high), log=self.log, step=step)
        return trial.suggest_float(key, self.low, self.high, log=self.log, step=self.step)

    def values_at_most(self, limit: float) -> Param | None:
        """The same parameter with every value above ``limit`` removed (None if nothing is left)."""
        if self.choices is not None:
            kept = tuple(c for c in self.choices if c <= limit)
            return replace(self, choices=kept) if kept else None
        assert self.low is not None and self.high is not None
        if self.low > limit:
            return None
        return replace(self, high=min(self.high, limit))

    def describe(self) -> str:
        if self.choices is not None:
            return "{" + ", ".join(str(c) for c in self.choices) + "}"
        scale = " log" if self.log else (f" step {self.step:g}" if self.step else "")
        return f"[{self.low:g}, {self.high:g}]{scale}"


@dataclass(frozen=True)
class SearchSpace:
    """Fixed network settings, searched parameters and training settings of a search."""

    name: str
    path: str
    description: str
    network: dict[str, Any]
    params: dict[str, Param]
    training: dict[str, Any]
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def kind(self) -> str:
        return str(self.network.get("kind", "mlp"))

    def narrow(self, profile: HardwareProfile) -> SearchSpace:
        """Restrict the space to what ``profile``'s chip can run.

        Bits above the chip's weight width and codebooks larger than its unique-weight limit are
        removed; chips that run only integrate-and-fire neurons get ``beta = 1`` and a spiking
        readout (a non-spiking leaky readout is not an IF neuron).

        Raises:
            SearchSpaceError: nothing of a parameter is left on this chip.
        """
        params = dict(self.params)
        notes = list(self.notes)
        limits = {
            "bits": profile.weight_bits.value,
            "n_values": profile.unique_weights.max.value,
        }
        for key, limit in limits.items():
            if key not in params:
                continue
            narrowed = params[key].values_at_most(limit)
            if narrowed is None:
                raise SearchSpaceError(
                    self.path,
                    f"params.{key}",
                    f"must offer a value of at most {limit} for device {profile.name}, "
                    f"but offers {params[key].describe()}.",
                )
            if narrowed != params[key]:
                notes.append(
                    f"{key} narrowed to {narrowed.describe()} ({profile.name} allows {limit})"
                )
            params[key] = narrowed
        if "zero_fraction" in params and not profile.unique_weights.zero_is_free.value:
            del params["zero_fraction"]  # a zero weight costs a synapse there: nothing to win
            notes.append(f"zero_fraction not searched: zero weights are not free on {profile.name}")
        if "quantization" in params:
            params["quantization"] = self._narrow_quantization(params, profile, notes)
        network = dict(self.network)
        if "recurrent" not in profile.layer_types.value:  # e.g. Speck: feed-forward only
            rec = params.get("recurrent")
            if (rec is not None and True in (rec.choices or ())) or network.get("recurrent"):
                notes.append(f"recurrent = false: {profile.name} runs feed-forward layers only")
            if rec is not None:
                params["recurrent"] = replace(rec, choices=(False,))
            if "recurrent" in network:
                network["recurrent"] = False
        models = profile.neuron_models.value
        if "LIF" not in models:
            if network.get("beta", 0.9) != 1.0 or network.get("readout", "membrane") != "spikes":
                runs = ", ".join(models)
                notes.append(f"beta = 1 and spiking readout: {profile.name} runs only {runs}")
            network["beta"] = 1.0
            network["readout"] = "spikes"
        chip = profile.chip_neuron
        if chip is not None:  # candidates train and score in the chip's own arithmetic
            beta = float(network.get("beta", 0.9))
            snapped = chip.beta_for(beta)
            if snapped != beta:
                notes.append(
                    f"beta {beta:g} snapped to {snapped:g} ({chip.decay_note(beta)} on "
                    f"{profile.name})"
                )
            network["beta"] = snapped
            if network.get("pool_mode", "sum") != "sum":
                notes.append(f"pool_mode sum: {profile.name} sums what it pools")
                network["pool_mode"] = "sum"
            if chip.reset_to_zero:  # the float network beside the chip-exact one resets alike
                if network.get("reset", "subtract") != "zero":
                    notes.append(f"reset zero: the {chip.family} neuron resets to zero")
                network["reset"] = "zero"
            network["chip"] = chip.to_dict()
            notes.append(f"trained and scored chip-exact ({chip.family} integer neuron)")
        return replace(self, network=network, params=params, notes=tuple(notes))

    def _narrow_quantization(
        self, params: dict[str, Param], profile: HardwareProfile, notes: list[str]
    ) -> Param:
        """The quantization methods ``profile``'s chip can run: ``uniform`` where some offered
        bit-width's full grid fits its unique-weight limit, ``kmeans`` where candidates are not
        chip-exact (k-means clusters after a float fine-tune; a chip-exact candidate fine-tunes
        in the chip's integers)."""
        from spikefit_search.compression import grid_levels

        param = params["quantization"]
        kept = list(param.choices or ())
        limit = profile.unique_weights.max.value
        zero_free = bool(profile.unique_weights.zero_is_free.value)
        if "uniform" in kept:
            bits = params.get("bits", Param("bits", choices=(4,)))
            offered = bits.choices or tuple(range(int(bits.low or 2), int(bits.high or 8) + 1))
            levels = {
                b: grid_levels(
                    int(b), symmetric=profile.symmetric_at(int(b)), zero_is_free=zero_free
                )
                for b in offered
            }
            if min(levels.values()) > limit:
                kept.remove("uniform")
                b = min(levels)
                notes.append(
                    f"quantization uniform not searched: a {b}-bit grid holds {levels[b]} "
                    f"values, {profile.name} allows {limit}"
                )
        if "kmeans" in kept and profile.chip_neuron is not None:
            kept.remove("kmeans")
            notes.append(
                f"quantization kmeans not searched: {profile.name} candidates fine-tune "
                "chip-exact, k-means clusters after a float fine-tune"
            )
        if not kept:
            raise SearchSpaceError(
                self.path,
                "params.quantization",
                f"must offer a method that device {profile.name} can run, but offers "
                f"{param.describe()}.",
            )
        return replace(param, choices=tuple(kept))

    def fixed(self, key: str, default: Any) -> Any:
        return self.network.get(key, default)

    def sample(
        self,
        trial: optuna.Trial | optuna.trial.FixedTrial,
        *,
        input_shape: tuple[int, int, int],
        n_classes: int,
    ) -> Candidate:
        """Draw one candidate from the space through ``trial``."""
        p = self.params

        def get(key: str, default: Any) -> Any:
            return p[key].suggest(trial) if key in p else default

        quantization = str(get("quantization", "cat"))
        n_values = int(get("n_values", 4))
        bits = int(get("bits", 4))
        rho = float(get("rho", 0.0))
        zero_fraction = float(get("zero_fraction", 0.0))
        timesteps = int(get("timesteps", self.network.get("timesteps", 8)))
        lr = float(get("lr", self.training.get("lr", 3e-3)))
        reduction = {k: int(get(k, self.network.get(k, 1))) for k in INPUT_REDUCTION}
        recurrent = bool(get("recurrent", self.network.get("recurrent", False)))
        # every per-layer width is drawn, also those a shallower candidate leaves unused, so
        # that every trial has the same parameters: a sampler that models only the parameters
        # all trials share (GPSampler's intersection search space) models the widths too

        def per_layer(name: str, depth: str, default: int) -> list[int]:
            n = int(get(depth, 1))
            if name not in p:
                return [default] * n
            drawn = [int(p[name].suggest(trial, f"{name}_{i}")) for i in range(self.deepest(depth))]
            return drawn[:n]

        hidden: list[int] = []
        channels: list[int] = []
        if self.kind == "conv":
            channels = per_layer("channels", "conv_layers", 8)
            hidden.append(int(p["width"].suggest(trial, "width_0")) if "width" in p else 64)
        else:
            hidden = per_layer("width", "hidden_layers", 128)
        base = {k: v for k, v in self.network.items() if k not in ("hidden", "channels")}
        base.update(
            input_shape=input_shape,
            n_classes=n_classes,
            timesteps=timesteps,
            hidden=tuple(hidden),
            channels=tuple(channels),
            **reduction,
        )
        if recurrent:  # a feed-forward candidate's config stays as it always was
            base["recurrent"] = True
        else:
            base.pop("recurrent", None)
        network = NetworkConfig.from_dict(base)
        return Candidate(
            network=network,
            n_values=n_values,
            bits=bits,
            rho=rho,
            lr=lr,
            zero_fraction=zero_fraction,
            quantization=quantization,
        )

    def deepest(self, key: str) -> int:
        """Most layers the space's ``hidden_layers`` or ``conv_layers`` offers (1 if not
        searched)."""
        if key not in self.params:
            return 1
        p = self.params[key]
        return int(max(p.choices) if p.choices is not None else p.high)  # type: ignore[arg-type]

    def smallest(self, *, input_shape: tuple[int, int, int], n_classes: int) -> Candidate:
        """The cheapest candidate of the space: fewest and narrowest layers, fewest values and
        bits, most pruning, most input reduction. If it does not fit a chip, nothing in the
        space does."""

        def low(key: str, default: Any) -> Any:
            if key not in self.params:
                return default
            p = self.params[key]
            return min(p.choices) if p.choices is not None else p.low

        def high(key: str, default: Any) -> Any:
            if key not in self.params:
                return default
            p = self.params[key]
            return max(p.choices) if p.choices is not None else p.high

        params = {
            "n_values": low("n_values", 4),
            "bits": low("bits", 4),
            "rho": high("rho", 0.0),
            "zero_fraction": high("zero_fraction", 0.0),
            "timesteps": low("timesteps", self.network.get("timesteps", 8)),
            "lr": low("lr", self.training.get("lr", 3e-3)),
            "hidden_layers": low("hidden_layers", 1),
            "conv_layers": low("conv_layers", 1),
            "recurrent": low("recurrent", False),
            **{k: high(k, self.network.get(k, 1)) for k in INPUT_REDUCTION},
        }
        if "quantization" in self.params:  # a codebook of M values counts fewest values
            offered = self.params["quantization"].choices or ("cat",)
            params["quantization"] = "cat" if "cat" in offered else offered[0]
        for i in range(4):
            params[f"width_{i}"] = low("width", 128)
            params[f"channels_{i}"] = low("channels", 8)
        import optuna

        trial = optuna.trial.FixedTrial(params)
        return self.sample(trial, input_shape=input_shape, n_classes=n_classes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "network": self.network,
            "params": {k: v.describe() for k, v in self.params.items()},
            "training": self.training,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Candidate:
    """One sampled configuration, before pruning (``network`` holds the unpruned widths)."""

    network: NetworkConfig
    n_values: int
    bits: int
    rho: float
    lr: float
    zero_fraction: float = 0.0
    """Least share of every scope's synapses sent to the free zero code (chips where zero
    weights are free only)."""
    quantization: str = "cat"
    """``cat``, ``uniform`` or ``kmeans`` (:data:`SEARCHABLE_QUANTIZATION`)."""

    def pruned_network(self) -> NetworkConfig:
        """The architecture after removing ``round(rho * n)`` units of every hidden layer."""
        widths = [n - round(self.rho * n) for n in self.network.hidden_sizes]
        return self.network.with_widths([max(w, 1) for w in widths])


def list_search_spaces() -> list[str]:
    return sorted(list_yaml("search_spaces"))


def load_search_space(name_or_path: str | Path) -> SearchSpace:
    """Load a shipped space by name (``mlp``, ``conv``) or a user's YAML file by path.

    Raises:
        UnknownNameError: not a shipped name and not an existing file.
        SearchSpaceError: the file is malformed (the message names the file and the key).
    """
    text = str(name_or_path)
    path = Path(text)
    if not (path.suffix in (".yaml", ".yml") or path.exists()):
        shipped = list_yaml("search_spaces")
        if text not in shipped:
            raise UnknownNameError("search space (a shipped name or a YAML path)", text, shipped)
        path = shipped[text]
    if not path.is_file():
        raise SearchSpaceError(path, "", "must be an existing YAML file, but it was not found.")
    try:
        raw = read_yaml(path)
    except YamlProblem as exc:
        raise SearchSpaceError(path, "", str(exc)) from None
    if not isinstance(raw, dict):
        raise SearchSpaceError(path, "", f"must be a mapping, but got {type(raw).__name__}.")
    return _parse(path, raw)


def _parse(path: Path, raw: dict[str, Any]) -> SearchSpace:
    allowed = {"name", "description", "network", "params", "training"}
    for key in raw:
        if key not in allowed:
            raise SearchSpaceError(
                path, key, f"is unknown; allowed keys are {', '.join(sorted(allowed))}."
            )
    network = raw.get("network") or {}
    if not isinstance(network, dict):
        raise SearchSpaceError(path, "network", "must be a mapping of NetworkConfig fields.")
    known_net = {f for f in NetworkConfig.__dataclass_fields__ if f != "extra"}
    for key in network:
        if key not in known_net:
            raise SearchSpaceError(
                path,
                f"network.{key}",
                f"is not a network setting; allowed: {', '.join(sorted(known_net))}.",
            )
    try:
        NetworkConfig.from_dict(
            {**network, "hidden": (8,), "channels": (4,) if network.get("kind") == "conv" else ()}
        )
    except (ConfigError, ValueError, TypeError) as exc:  # from_dict lets int("ten") through
        raise SearchSpaceError(path, "network", f"must hold valid settings, but {exc}") from None
    if "timesteps" in network:
        _check_values(path, "network.timesteps", "timesteps", (network["timesteps"],))
    params_raw = raw.get("params")
    if not isinstance(params_raw, dict) or not params_raw:
        raise SearchSpaceError(path, "params", "must be a non-empty mapping of parameters.")
    params = {name: _parse_param(path, name, spec) for name, spec in params_raw.items()}
    kind = network.get("kind", "mlp")
    if kind == "conv" and "hidden_layers" in params:
        raise SearchSpaceError(
            path, "params.hidden_layers", "applies to kind mlp; conv spaces use conv_layers."
        )
    if kind == "mlp" and ("conv_layers" in params or "channels" in params):
        raise SearchSpaceError(path, "params.conv_layers", "applies to kind conv only.")
    if kind != "mlp" and "recurrent" in params:
        raise SearchSpaceError(path, "params.recurrent", "applies to kind mlp only.")
    training = raw.get("training") or {}
    if not isinstance(training, dict):
        raise SearchSpaceError(path, "training", "must be a mapping.")
    for key, value in training.items():
        if key not in TRAINING_KEYS:
            raise SearchSpaceError(
                path, f"training.{key}", f"is unknown; allowed: {', '.join(TRAINING_KEYS)}."
            )
        typ = TRAINING_KEYS[key]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if key in FRACTION_KEYS:
            wanted, ok = "a fraction in [0, 1]", number and 0 <= value <= 1
        else:
            wanted = f"a positive {typ.__name__}"
            ok = number and (typ is not int or isinstance(value, int)) and value > 0
        if not ok:
            raise SearchSpaceError(path, f"training.{key}", f"must be {wanted}, but got {value!r}.")
    return SearchSpace(
        name=str(raw.get("name", path.stem)),
        path=str(path),
        description=str(raw.get("description", "")),
        network=dict(network),
        params=params,
        training=dict(training),
    )


def _parse_param(path: Path, name: str, spec: Any) -> Param:
    key = f"params.{name}"
    if name not in KNOWN_PARAMS:
        raise SearchSpaceError(
            path, key, f"is not a searchable parameter; known: {', '.join(KNOWN_PARAMS)}."
        )
    if not isinstance(spec, dict):
        raise SearchSpaceError(path, key, "must be a mapping with choices, or low and high.")
    typ = KNOWN_PARAMS[name]
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) - {"choices"}:
            raise SearchSpaceError(path, key, "takes either choices or low/high, not both.")
        if not isinstance(choices, list) or not choices:
            raise SearchSpaceError(
                path, key, f"choices must be a non-empty list, but got {choices!r}."
            )
        for c in choices:
            if typ is str:
                if c not in SEARCHABLE_QUANTIZATION:
                    raise SearchSpaceError(
                        path,
                        key,
                        f"choices must be among {', '.join(SEARCHABLE_QUANTIZATION)}, "
                        f"but got {c!r}.",
                    )
                continue
            if typ is bool:
                if not isinstance(c, bool):
                    raise SearchSpaceError(
                        path, key, f"choices must be true or false, but got {c!r}."
                    )
            elif (
                isinstance(c, bool)
                or not isinstance(c, (int, float))
                or (typ is int and not float(c).is_integer())
            ):
                raise SearchSpaceError(
                    path, key, f"choices must be {typ.__name__}s, but got {c!r}."
                )
        values = tuple(typ(c) for c in choices)
        param = Param(name, choices=values)
    elif typ is bool:
        raise SearchSpaceError(path, key, "must give choices (true, false or both).")
    elif typ is str:
        raise SearchSpaceError(path, key, f"takes choices, but got {spec!r}.")
    else:
        extra = set(spec) - {"low", "high", "log", "step"}
        if extra or "low" not in spec or "high" not in spec:
            raise SearchSpaceError(
                path, key, "must give choices, or low and high (with optional log or step)."
            )
        low, high = spec["low"], spec["high"]
        for v in (low, high):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise SearchSpaceError(path, key, f"low and high must be numbers, but got {v!r}.")
        if low > high:
            raise SearchSpaceError(
                path, key, f"low must not exceed high, but got low={low}, high={high}."
            )
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise SearchSpaceError(path, key, f"log must be true or false, but got {log!r}.")
        step = spec.get("step")
        if step is not None and (
            isinstance(step, bool)
            or not isinstance(step, (int, float))
            or step <= 0
            or (typ is int and not float(step).is_integer())
        ):
            raise SearchSpaceError(
                path, key, f"step must be a positive {typ.__name__}, but got {step!r}."
            )
        if log and (low <= 0 or step is not None):
            raise SearchSpaceError(path, key, "log ranges need low > 0 and no step.")
        param = Param(
            name,
            low=float(low),
            high=float(high),
            log=log,
            step=None if step is None else float(step),
        )
        values = (low, high)
    if typ is not str:  # method names were checked against the known ones above
        _check_values(path, key, name, values)
    return param


def _check_values(path: Path, key: str, name: str, values: tuple[Any, ...]) -> None:
    rules = {
        "n_values": (lambda v: v >= 2, "at least 2"),
        "bits": (lambda v: 2 <= v <= 8, "within 2..8"),
        "rho": (lambda v: 0 <= v < 1, "within [0, 1)"),
        "zero_fraction": (lambda v: 0 <= v < 1, "within [0, 1)"),
        "hidden_layers": (lambda v: 1 <= v <= 4, "within 1..4"),
        "conv_layers": (lambda v: 1 <= v <= 4, "within 1..4"),
        "width": (lambda v: 1 <= v <= MAX_WIDTH, f"within 1..{MAX_WIDTH}"),
        "channels": (lambda v: 1 <= v <= MAX_WIDTH, f"within 1..{MAX_WIDTH}"),
        "timesteps": (lambda v: 1 <= v <= MAX_TIMESTEPS, f"within 1..{MAX_TIMESTEPS}"),
        "lr": (lambda v: 0 < v < 1 and math.isfinite(v), "within (0, 1)"),
        "input_pool": (lambda v: v >= 1, "at least 1"),
        "input_group": (lambda v: v >= 1, "at least 1"),
        "recurrent": (lambda v: v in (True, False), "true or false"),
    }
    check, rule = rules[name]
    bad = [v for v in values if not check(v)]
    if bad:
        raise SearchSpaceError(path, key, f"values must be {rule}, but got {bad[0]!r}.")
