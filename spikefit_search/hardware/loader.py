"""Read hardware profiles from YAML and validate every field on load.

A profile is named by a shipped file's stem (``speck``) or given as a path to the user's own
YAML file (anything ending in ``.yaml``/``.yml`` or containing a path separator).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from spikefit_search._resources import list_yaml
from spikefit_search._yaml import YamlProblem, decode_utf8, parse_yaml
from spikefit_search.exceptions import ConfigError, ProfileError, UnknownNameError
from spikefit_search.hardware.chips import CHIPS, ChipFamily
from spikefit_search.hardware.energy_model import ENERGY_MODELS
from spikefit_search.hardware.mapping import MAPPING_MODELS
from spikefit_search.hardware.profile import (
    CORE_LIMIT_NAMES,
    LAYER_TYPES,
    LIMIT_NAMES,
    NEURON_MODELS,
    NEURON_RULES,
    SCOPES,
    STATUSES,
    Constant,
    EnergyConstants,
    HardwareProfile,
    Sourced,
    UniqueWeights,
)
from spikefit_search.snn.config import CHIP_FAMILIES, ChipNeuron

PROFILE_DIR = "hardware_profiles"
_TEMPLATE = "generic"


def list_profiles() -> list[str]:
    """Names of the shipped chip profiles (the ``generic`` template is not a chip)."""
    return [name for name in list_yaml(PROFILE_DIR) if name != _TEMPLATE]


def resolve_profile_path(name_or_path: str | Path) -> Path:
    """The file behind a device name or a user's profile path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text:
        path = Path(text)
        if not path.is_file():
            raise ProfileError(path, "", "must be an existing YAML file, but it does not exist.")
        return path
    shipped = list_yaml(PROFILE_DIR)
    if text not in shipped:
        raise UnknownNameError("device", text, [n for n in shipped if n != _TEMPLATE])
    return shipped[text]


def load_profile(name_or_path: str | Path) -> HardwareProfile:
    """Load and validate a profile by device name or by path.

    Args:
        name_or_path: a shipped device name (see :func:`list_profiles`) or a YAML file path.

    Returns:
        The validated, frozen profile.

    Raises:
        UnknownNameError: the name is not a shipped device.
        ProfileError: the file is missing, not YAML, or a field breaks a rule (the message
            names the file, the field and the rule).

    Example:
        >>> load_profile("speck").weight_bits.value
        8
    """
    path = resolve_profile_path(name_or_path)
    return _load_cached(str(path.resolve()), path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _load_cached(path: str, _mtime: int) -> HardwareProfile:
    try:
        text = decode_utf8(Path(path).read_bytes())
    except YamlProblem as exc:
        raise ProfileError(path, "", str(exc)) from None
    return parse_profile(text, path)


def parse_profile(text: str, path: str | Path) -> HardwareProfile:
    """Validate YAML ``text`` (read from ``path``, used in error messages) into a profile.

    Every number anywhere in the file must be finite and no string may hold a NUL (checked by
    the YAML reader, so fields added later get the same rule).
    """
    try:
        data = parse_yaml(text)
    except YamlProblem as exc:
        raise ProfileError(path, "", str(exc)) from None
    return _Parser(path, data).profile()


class _Parser:
    """Walks the YAML tree, raising one-line :class:`ProfileError` on the first bad field."""

    def __init__(self, path: str | Path, data: Any) -> None:
        self.path = path
        if not isinstance(data, dict):
            raise ProfileError(path, "", f"must be a YAML mapping, but got {type(data).__name__}.")
        self.data = data
        sources = data.get("sources", {})
        if not isinstance(sources, dict):
            raise ProfileError(path, "sources", "must map short keys to citations.")
        self.sources: dict[str, str] = {str(k): str(v) for k, v in sources.items()}

    def cite(self, source: str) -> str:
        """Expand a leading key of the ``sources`` table into its citation."""
        key, _, rest = source.partition(" ")
        bare = key.rstrip(":,")
        if bare in self.sources:
            return f"{self.sources[bare]}{key[len(bare) :]} {rest}".strip()
        return source

    def error(self, field: str, reason: str) -> ProfileError:
        return ProfileError(self.path, field, reason)

    def section(self, key: str, parent: Mapping[str, Any] | None = None, prefix: str = "") -> Any:
        container = self.data if parent is None else parent
        name = f"{prefix}{key}"
        if key not in container:
            raise self.error(name, "is required, but it is missing.")
        return container[key]

    def mapping(self, key: str, parent: Mapping[str, Any] | None = None, prefix: str = "") -> dict:
        value = self.section(key, parent, prefix)
        if not isinstance(value, dict):
            raise self.error(f"{prefix}{key}", f"must be a mapping, but got {value!r}.")
        return value

    def sourced(self, key: str, parent: Mapping[str, Any], prefix: str) -> Sourced[Any]:
        field = f"{prefix}{key}"
        raw = self.section(key, parent, prefix)
        if not isinstance(raw, dict) or "value" not in raw:
            raise self.error(
                field, f"must be a mapping with value, source and status, but got {raw!r}."
            )
        for part in ("source", "status"):
            if part not in raw:
                raise self.error(f"{field}.{part}", "is required, but it is missing.")
        source = str(raw["source"]).strip()
        if not source:
            raise self.error(f"{field}.source", "must name where the value comes from.")
        if raw["status"] not in STATUSES:
            raise self.error(
                f"{field}.status",
                f"must be one of {', '.join(STATUSES)}, but got {raw['status']!r}.",
            )
        return Sourced(raw["value"], self.cite(source), raw["status"])

    def number(
        self, key: str, parent: Mapping[str, Any], prefix: str, *, integer: bool, positive: bool
    ) -> Sourced[Any]:
        entry = self.sourced(key, parent, prefix)
        value = entry.value
        ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            kind = "an integer" if integer else "a number"
            raise self.error(f"{prefix}{key}", f"must be {kind}, but got {value!r}.")
        if value < 0 or (positive and value == 0):
            rule = "positive" if positive else "non-negative"
            raise self.error(f"{prefix}{key}", f"must be {rule}, but got {value!r}.")
        return Sourced(int(value) if integer else float(value), entry.source, entry.status)

    def flag(self, key: str, parent: Mapping[str, Any], prefix: str) -> Sourced[bool]:
        entry = self.sourced(key, parent, prefix)
        if not isinstance(entry.value, bool):
            raise self.error(f"{prefix}{key}", f"must be true or false, but got {entry.value!r}.")
        return Sourced(entry.value, entry.source, entry.status)

    def names(
        self, key: str, parent: Mapping[str, Any], prefix: str, allowed: tuple[str, ...]
    ) -> Sourced[tuple[str, ...]]:
        entry = self.sourced(key, parent, prefix)
        value = entry.value
        if not isinstance(value, list) or not value or any(v not in allowed for v in value):
            raise self.error(
                f"{prefix}{key}",
                f"must be a non-empty list drawn from {', '.join(allowed)}, but got {value!r}.",
            )
        return Sourced(tuple(value), entry.source, entry.status)

    def profile(self) -> HardwareProfile:
        d = self.data
        name = self.section("name")
        if not isinstance(name, str) or not name:
            raise self.error("name", f"must be a non-empty string, but got {name!r}.")
        title = str(d.get("title", name))
        weights = self.mapping("weights")
        unique = self.mapping("unique_weights")
        scope = self.sourced("scope", unique, "unique_weights.")
        if not isinstance(scope.value, str) or scope.value not in SCOPES:
            raise self.error(
                "unique_weights.scope",
                f"must be one of {', '.join(SCOPES)}, but got {scope.value!r}.",
            )
        limits_raw = self.mapping("limits")
        limits: dict[str, Sourced[int]] = {}
        for key in limits_raw:
            if key not in LIMIT_NAMES:
                raise self.error(
                    f"limits.{key}",
                    f"must be one of {', '.join(LIMIT_NAMES)}, but got {key!r}.",
                )
            limits[key] = self.number(key, limits_raw, "limits.", integer=True, positive=True)
        per_core = [k for k in CORE_LIMIT_NAMES if k in limits and k != "cores"]
        if per_core and "neurons_per_core" not in limits:
            raise self.error(
                "limits.neurons_per_core",
                f"is required with limits.{per_core[0]}, but it is missing.",
            )
        if scope.value == "core" and "neurons_per_core" not in limits:
            raise self.error(
                "limits.neurons_per_core",
                "is required when unique_weights.scope is core, but it is missing.",
            )
        mapping = self.mapping("mapping")
        model_name = self.section("model", mapping, "mapping.")
        if not isinstance(model_name, str) or model_name not in MAPPING_MODELS:
            raise self.error(
                "mapping.model",
                f"must be one of {', '.join(MAPPING_MODELS.names())}, but got {model_name!r}.",
            )
        for part in ("source", "status"):
            if part not in mapping:
                raise self.error(f"mapping.{part}", "is required, but it is missing.")
        if mapping["status"] not in STATUSES:
            raise self.error(
                "mapping.status",
                f"must be one of {', '.join(STATUSES)}, but got {mapping['status']!r}.",
            )
        params = {k: v for k, v in mapping.items() if k not in ("model", "source", "status")}
        model = MAPPING_MODELS.get(model_name).from_params(params, self.error)
        source = str(mapping["source"])
        energy = self.mapping("energy")
        # read in this order, so that the first bad field is the one reported
        neuron_models = self.names("neuron_models", d, "", NEURON_MODELS)
        layer_types = self.names("layer_types", d, "", LAYER_TYPES)
        weight_bits = self.number("bits", weights, "weights.", integer=True, positive=True)
        signed = self.flag("signed", weights, "weights.")
        unique_weights = UniqueWeights(
            max=self.number("max", unique, "unique_weights.", integer=True, positive=True),
            scope=Sourced(str(scope.value), scope.source, scope.status),
            zero_is_free=self.flag("zero_is_free", unique, "unique_weights."),
        )
        constants = self.energy(energy)
        neuron = self.neuron()
        symmetric = self.flag("symmetric", weights, "weights.") if "symmetric" in weights else None
        family = self.family(str(model_name), constants.model, neuron)
        return HardwareProfile(
            name=name,
            title=title,
            path=str(self.path),
            description=str(d.get("description", "")).strip(),
            neuron_models=neuron_models,
            layer_types=layer_types,
            weight_bits=weight_bits,
            signed=signed,
            unique_weights=unique_weights,
            limits=limits,
            mapping=model,
            mapping_source=Sourced(str(model_name), self.cite(source), mapping["status"]),
            energy=constants,
            neuron=neuron,
            weight_symmetric=symmetric,
            sources=self.sources,
            family=family.name,
        )

    def family(
        self, mapping_model: str, energy_model: str, neuron: dict[str, Sourced[Any]]
    ) -> ChipFamily:
        """The ``family`` key (``generic`` when absent), which must be registered and allow
        the profile's mapping model, energy model and chip neuron."""
        name = self.data.get("family", "generic")
        if not isinstance(name, str) or name not in CHIPS:
            raise self.error(
                "family", f"must be one of {', '.join(CHIPS.names())}, but got {name!r}."
            )
        family = CHIPS.get(name)
        chip_neuron = neuron["family"].value if neuron else None
        for field, value, allowed in (
            ("mapping.model", mapping_model, family.mapping_models),
            ("energy.model", energy_model, family.energy_models),
            ("neuron.family", chip_neuron, family.neurons),
        ):
            if allowed is not None and value is not None and value not in allowed:
                choices = ", ".join(allowed) if allowed else "absent"
                raise self.error(field, f"must be {choices} for family {name}, but got {value!r}.")
        return family

    def neuron(self) -> dict[str, Sourced[Any]]:
        """The optional ``neuron`` section: ChipNeuron fields and design rules, each sourced."""
        if "neuron" not in self.data:
            return {}
        section = self.mapping("neuron")
        fields = set(ChipNeuron.__dataclass_fields__)
        allowed = sorted(fields | set(NEURON_RULES))
        out: dict[str, Sourced[Any]] = {}
        for key in section:
            if key not in allowed:
                raise self.error(
                    f"neuron.{key}", f"must be one of {', '.join(allowed)}, but got {key!r}."
                )
            out[key] = self.sourced(key, section, "neuron.")
        if "family" not in out or out["family"].value not in CHIP_FAMILIES:
            got = out["family"].value if "family" in out else None
            raise self.error(
                "neuron.family", f"must be one of {', '.join(CHIP_FAMILIES)}, but got {got!r}."
            )
        try:
            ChipNeuron(**{k: v.value for k, v in out.items() if k in fields})
        except (ConfigError, TypeError) as exc:
            raise self.error("neuron", f"must describe a valid chip neuron, but {exc}") from None
        return out

    def amount(self, key: str, energy: Mapping[str, Any], *, positive: bool) -> Sourced[float]:
        """A number of the ``energy`` block (``positive``: zero is refused too)."""
        return self.number(key, energy, "energy.", integer=False, positive=positive)

    def constant(self, key: str, energy: Mapping[str, Any]) -> Constant:
        """An energy constant: ``value`` with an optional ``low`` / ``high`` range, or
        ``value: null`` with ``status: unknown`` (no figure exists: the term is not modelled)."""
        field = f"energy.{key}"
        raw = self.section(key, energy, "energy.")
        status = raw.get("status") if isinstance(raw, dict) else None
        if status == "unknown":
            if raw.get("value") is not None or "low" in raw or "high" in raw:
                raise self.error(
                    field, f"must have value: null when its status is unknown, but got {raw!r}."
                )
            source = str(raw.get("source", "")).strip()
            if not source:
                raise self.error(f"{field}.source", "must say why no figure exists.")
            return Constant(None, self.cite(source), "unknown")
        entry = self.number(key, energy, "energy.", integer=False, positive=False)
        bounds: list[float | None] = []
        for end in ("low", "high"):
            value = raw.get(end)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise self.error(f"{field}.{end}", f"must be a number, but got {value!r}.")
            bounds.append(None if value is None else float(value))
        low, high = bounds
        lo = entry.value if low is None else low
        hi = entry.value if high is None else high
        if not 0 <= lo <= entry.value <= hi:
            raise self.error(
                field, f"must satisfy 0 <= low <= value <= high, but got {lo}, {entry.value}, {hi}."
            )
        return Constant(entry.value, entry.source, entry.status, low, high)

    def energy(self, energy: dict) -> EnergyConstants:
        """The ``energy`` block; ``dt_ms`` is required on clocked chips, ``window_ms`` on
        event-driven ones, the clock fields with ``model: xylo_cycles`` (see
        ``docs/energy.md``)."""

        def optional(key: str) -> Sourced[float] | None:
            return self.amount(key, energy, positive=True) if key in energy else None

        model = energy.get("model", "events")
        if not isinstance(model, str) or model not in ENERGY_MODELS:
            raise self.error(
                "energy.model", f"must be one of {', '.join(ENERGY_MODELS)}, but got {model!r}."
            )
        clocked = self.flag("clocked", energy, "energy.")
        dt = optional("dt_ms")
        window = optional("window_ms")
        if clocked.value and dt is None:
            raise self.error(
                "energy.dt_ms", "is required when energy.clocked is true, but it is missing."
            )
        if not clocked.value and window is None:
            raise self.error(
                "energy.window_ms",
                "is required when energy.clocked is false (the inference window of an "
                "event-driven chip), but it is missing.",
            )
        fields = ENERGY_MODELS.get(model).read(self, energy, clocked)
        return EnergyConstants(
            e_sop_pj=fields.pop("e_sop_pj", None),
            e_update_pj=fields.pop("e_update_pj", None),
            e_spike_pj=fields.pop("e_spike_pj", None),
            static_power_mw=fields.pop("static_power_mw", None),
            dt_ms=dt,
            clocked=clocked,
            window_ms=window,
            model=model,
            **fields,
        )
