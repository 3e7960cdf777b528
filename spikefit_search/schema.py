"""The config schema of one trained candidate: what ``export`` writes and ``retrain`` and
``check`` read (:class:`ExportConfig`, :func:`config_from_dict`, :func:`load_config`).

It sits above the pieces it names (compression's :class:`PipelineConfig`, data's
:class:`Binning`, snn's :class:`NetworkConfig`) and below its readers (hardware's check
targets, reporting's export and retrain), so neither reader imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from spikefit_search import __version__
from spikefit_search._yaml import YamlProblem, read_yaml
from spikefit_search.compression import PipelineConfig
from spikefit_search.data import Binning
from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import NetworkConfig


@dataclass(frozen=True)
class DatasetRef:
    """Which data to train on: the arguments of :func:`spikefit_search.data.load_dataset`."""

    name: str = "digits"
    data_dir: str | None = None
    limit_train: int | None = None
    bin_mode: str = "count"
    """How event data were binned (``--bin-mode``, ``--downsample``, ``--channel-group``);
    the frames' ``T`` is the network's ``timesteps``. Frame data ignore these three."""
    downsample: int = 1
    channel_group: int = 1
    classes: tuple[int, ...] | None = None
    """The labels the search kept (``--classes``), relabelled ``0..k-1``; None: every class."""

    def binning(self, timesteps: int) -> Binning:
        """The :class:`Binning` the search used, for ``T = timesteps``."""
        return Binning(
            timesteps=timesteps,
            mode=self.bin_mode,  # type: ignore[arg-type]  # checked on reading
            downsample=self.downsample,
            channel_group=self.channel_group,
        )


@dataclass(frozen=True)
class ExportConfig:
    """A candidate to (re)train: the YAML ``export`` writes and ``retrain`` reads.

    Attributes:
        pipeline: the SpikeFit settings (architecture before pruning, M, b, rho, scope, epochs,
            learning rates, seed).
        dataset: the data the run searched on.
        device: the chip profile (name or path) to check the result against.
        seed: the trial's seed (equal to ``pipeline.seed``).
        checkpoint: file name of the trial's weights beside the YAML, or None.
        source: where the point came from (run, study, trial, accuracy, energy_uj), or None.
        spikefit_version: the version that wrote the file.
    """

    pipeline: PipelineConfig
    dataset: DatasetRef
    device: str
    seed: int
    checkpoint: str | None = None
    source: dict[str, Any] | None = None
    spikefit_version: str = __version__
    path: Path | None = field(default=None, compare=False)
    """Where the config was read from (not written)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "spikefit_version": self.spikefit_version,
            "pipeline": _plain(self.pipeline.to_dict()),
            "dataset": {
                "name": self.dataset.name,
                "data_dir": self.dataset.data_dir,
                "limit_train": self.dataset.limit_train,
                "bin_mode": self.dataset.bin_mode,
                "downsample": self.dataset.downsample,
                "channel_group": self.dataset.channel_group,
                "classes": None if self.dataset.classes is None else list(self.dataset.classes),
            },
            "device": self.device,
            "seed": self.seed,
        }
        if self.checkpoint is not None:
            out["checkpoint"] = self.checkpoint
        if self.source is not None:
            out["source"] = _plain(self.source)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @property
    def checkpoint_path(self) -> Path | None:
        """The checkpoint file, resolved beside the YAML it was read from."""
        if self.checkpoint is None:
            return None
        path = Path(self.checkpoint)
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return path

    def pruned_network(self) -> NetworkConfig:
        """The architecture after pruning ``round(rho * n)`` units of every hidden layer (the
        rule of :func:`spikefit_search.compression.prune_neurons`)."""
        net, rho = self.pipeline.network, self.pipeline.rho
        return net.with_widths([n - round(rho * n) for n in net.hidden_sizes])

    def with_epochs(self, epochs: int | None) -> ExportConfig:
        """The same config trained for ``epochs`` in total: 2/3 warm-up, 1/3 fine-tune (as the
        search's ``--epochs``); None keeps the exported epochs."""
        if epochs is None:
            return self
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 2:
            raise ConfigError(f"--epochs must be an integer of at least 2, but got {epochs!r}.")
        warmup = max(1, round(epochs * 2 / 3))
        pipeline = replace(
            self.pipeline, warmup_epochs=warmup, finetune_epochs=max(1, epochs - warmup)
        )
        return replace(self, pipeline=pipeline)


def _plain(value: Any) -> Any:
    """Tuples to lists, numpy scalars to Python, so ``yaml.safe_dump`` writes plain YAML."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


# --- reading back ----------------------------------------------------------------------------


def _require(data: dict[str, Any], key: str, kinds: tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ConfigError(f"{where} must have key '{key}', but it is missing.")
    value = data[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(
            f"{where}: '{key}' must be {names}, but got {type(value).__name__} {value!r}."
        )
    return value


def _optional(data: dict[str, Any], key: str, kinds: tuple[type, ...], where: str) -> Any:
    if data.get(key) is None:
        return None
    return _require(data, key, kinds, where)


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _classes(ds: dict[str, Any], where: str) -> tuple[int, ...] | None:
    """``dataset.classes``: a list of distinct labels, or None (every class)."""
    value = _optional(ds, "classes", (list,), where)
    if value is None:
        return None
    if (
        not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
        or len(set(value)) != len(value)
        or len(value) < 2
    ):
        raise ConfigError(
            f"{where}: 'classes' must be at least two distinct labels, but got {value!r}."
        )
    return tuple(sorted(value))


def config_from_dict(data: Any, *, where: str = "config") -> ExportConfig:
    """Validate a parsed config; every problem is one ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a YAML mapping, but got {type(data).__name__}.")
    pipeline_data = _require(data, "pipeline", (dict,), where)
    _require(pipeline_data, "network", (dict,), f"{where}: pipeline")
    try:
        pipeline = PipelineConfig.from_dict(pipeline_data)
    except (ConfigError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: pipeline: {exc}") from None
    ds = _require(data, "dataset", (dict,), where)
    at = f"{where}: dataset"
    dataset = DatasetRef(
        name=_require(ds, "name", (str,), at),
        data_dir=_optional(ds, "data_dir", (str,), at),
        limit_train=_optional(ds, "limit_train", (int,), at),
        # configs exported before these keys existed: the defaults, as those searches binned
        bin_mode=_or(_optional(ds, "bin_mode", (str,), at), "count"),
        downsample=_or(_optional(ds, "downsample", (int,), at), 1),
        channel_group=_or(_optional(ds, "channel_group", (int,), at), 1),
        classes=_classes(ds, at),
    )
    try:
        dataset.binning(1)
    except ConfigError as exc:
        raise ConfigError(f"{at}: {exc}") from None
    device = _require(data, "device", (str,), where)
    seed = _require(data, "seed", (int,), where)
    if seed != pipeline.seed:
        raise ConfigError(
            f"{where}: 'seed' must equal pipeline.seed ({pipeline.seed}), but got {seed}."
        )
    return ExportConfig(
        pipeline=pipeline,
        dataset=dataset,
        device=device,
        seed=seed,
        checkpoint=_optional(data, "checkpoint", (str,), where),
        source=_optional(data, "source", (dict,), where),
        spikefit_version=str(data.get("spikefit_version", "unknown")),
    )


def load_config(path: str | Path) -> ExportConfig:
    """Read and validate a config ``export`` wrote (or a hand-written one).

    Raises:
        ConfigError: missing file, invalid YAML, or a missing or wrong-typed key.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"CONFIG must be an existing YAML file, but got {str(path)!r}.")
    try:
        data = read_yaml(path)
    except YamlProblem as exc:
        raise ConfigError(f"{path} {exc}") from None
    return replace(config_from_dict(data, where=str(path)), path=path)
