"""What ``spikefit-search check`` checks: a run config, an exported config or a checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikefit_search._yaml import YamlProblem, read_yaml
from spikefit_search.exceptions import ConfigError
from spikefit_search.hardware.checks import ProfileLike, measured_check, static_check
from spikefit_search.hardware.result import CheckResult
from spikefit_search.snn.config import NetworkConfig

if TYPE_CHECKING:
    from spikefit_search.snn.network import SpikingNetwork

CONFIG_SUFFIXES = (".yaml", ".yml")
CHECKPOINT_SUFFIXES = (".pt",)


@dataclass(frozen=True)
class Target:
    """A network to check, with its compression settings.

    Unpacks as ``network, n_values, bits, model = target``; ``model`` is None for a config,
    which is then checked statically.
    """

    network: NetworkConfig
    n_values: int | None
    bits: int | None
    model: SpikingNetwork | None = None
    scope: str = "layer"
    zero_code: bool = False
    fan_in_cap: int | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.network, self.n_values, self.bits, self.model))

    def check(self, profile: ProfileLike) -> CheckResult:
        """Measured check when a trained model is known, else the static check."""
        if self.model is not None:
            return measured_check(profile, self.model)
        return static_check(
            profile,
            self.network,
            n_values=self.n_values,
            bits=self.bits,
            scope=self.scope,
            zero_code=self.zero_code,
            fan_in_cap=self.fan_in_cap,
        )


def _optional_int(section: dict[str, Any], key: str, path: Path) -> int | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{path}: compression.{key} must be a positive integer or null, but got {value!r}."
        )
    return value


def load_target(path: str | Path) -> Target:
    """Read a check target: the single place to add new target kinds.

    Three kinds:

    * a ``.pt`` checkpoint (``save_checkpoint``): checked as measured on its trained weights;
    * a config written by ``spikefit-search export`` (it has a ``pipeline`` mapping): the
      architecture after pruning with its ``M``, ``b`` and scope, measured on the checkpoint
      named by its ``checkpoint`` key when that file is beside it, else static;
    * a YAML run config with a ``network`` mapping (``NetworkConfig.to_dict()``, the
      architecture after pruning) and an optional ``compression`` mapping (``n_values``,
      ``bits``, ``scope``, ``zero_is_free``, ``fan_in_cap``; ``rho`` is ignored, pruning is
      already in the widths). Other top-level keys (``training``, ``dataset``, ``device``, ``seed``,
      ``spikefit_version``) are ignored.

    Raises:
        ConfigError: the file is missing, of an unsupported kind or malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"TARGET must be an existing file, but got {str(path)!r}.")
    if path.suffix in CHECKPOINT_SUFFIXES:
        return _checkpoint_target(path)
    if path.suffix not in CONFIG_SUFFIXES:
        raise ConfigError(
            f"TARGET must be a YAML run config ({', '.join(CONFIG_SUFFIXES)}) or a checkpoint "
            f"({', '.join(CHECKPOINT_SUFFIXES)}), but got {path.name!r}."
        )
    try:
        data = read_yaml(path)
    except YamlProblem as exc:
        raise ConfigError(f"{path} {exc}") from None
    if isinstance(data, dict) and "pipeline" in data:
        return _exported_target(data, path)
    if not isinstance(data, dict) or not isinstance(data.get("network"), dict):
        raise ConfigError(f"{path} must have a 'network' mapping, but it has none.")
    network = NetworkConfig.from_dict(data["network"])
    compression = data.get("compression") or {}
    if not isinstance(compression, dict):
        raise ConfigError(f"{path}: compression must be a mapping, but got {compression!r}.")
    scope = compression.get("scope", "layer")
    if scope not in ("layer", "neuron"):
        raise ConfigError(
            f"{path}: compression.scope must be one of layer, neuron, but got {scope!r}."
        )
    return Target(
        network=network,
        n_values=_optional_int(compression, "n_values", path),
        bits=_optional_int(compression, "bits", path),
        scope=scope,
        zero_code=bool(compression.get("zero_is_free", False)),
        fan_in_cap=_optional_int(compression, "fan_in_cap", path),
    )


# The two imports below stay inside their functions: the checkpoint and the exported config
# need torch (compression), and a plain run config is checked without loading it.


def _checkpoint_target(path: Path) -> Target:
    from spikefit_search.compression import load_checkpoint

    model, cfg = load_checkpoint(path)
    return Target(
        network=model.config,
        n_values=cfg.n_values,
        bits=cfg.bits,
        model=model,
        scope=cfg.scope,
        zero_code=cfg.zero_is_free,
    )


def _exported_target(data: dict[str, Any], path: Path) -> Target:
    from spikefit_search.schema import config_from_dict

    cfg = replace(config_from_dict(data, where=str(path)), path=path)
    checkpoint = cfg.checkpoint_path
    if checkpoint is not None and checkpoint.is_file():
        return _checkpoint_target(checkpoint)
    p = cfg.pipeline
    return Target(
        network=cfg.pruned_network(),
        n_values=p.n_values,
        bits=p.bits,
        scope=p.scope,
        zero_code=p.zero_is_free,
        fan_in_cap=p.fan_in_cap,
    )
