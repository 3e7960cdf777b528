"""``spikefit-search retrain``: train an exported config in full, then check it on the chip.

The output folder holds what gets deployed, each file written atomically:

* ``model.pt``: the trained model (``load_checkpoint`` reads it; ``check`` accepts it);
* ``model.nir``: the same network in NIR for sinabs, snnTorch, norse and other readers
  (``docs/reporting.md``); absent only for max pooling, which NIR cannot express;
* ``check.json``: the hardware check measured on these weights (fits, margins, violations);
* ``energy.json``: the energy per inference of these weights, term by term;
* ``metrics.json``: accuracies (chip-exact, and the float network's beside), energy,
  NeuroBench's metrics, epochs, seconds, source;
* ``xylo_spec.npz`` (Xylo targets): the keyword arguments of Rockpool's
  ``XyloSim.from_specification`` and ``flush_steps``, written by the Xylo family's exporter
  (:mod:`spikefit_search.hardware.chips.xylo`; each family names its own);
* ``config.yaml``: the config as trained (``--epochs`` applied; ``checkpoint: model.pt``).

Same config and seed on CPU give the same accuracy (the pipeline is deterministic there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikefit_search._io import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_writable_file,
)
from spikefit_search.exceptions import ConfigError, RunError
from spikefit_search.hardware.chips import family_of_neuron
from spikefit_search.schema import ExportConfig, load_config

if TYPE_CHECKING:
    from spikefit_search.compression import PipelineResult
    from spikefit_search.hardware import CheckResult, EnergyReport

CHECKPOINT_NAME = "model.pt"
NIR_NAME = "model.nir"
METRICS_NAME = "metrics.json"
CHECK_NAME = "check.json"
ENERGY_NAME = "energy.json"


@dataclass
class RetrainResult:
    """What :func:`retrain` trained, measured and wrote."""

    config: ExportConfig
    result: PipelineResult
    energy: EnergyReport
    check: CheckResult
    out_dir: Path
    checkpoint: Path
    metrics: dict[str, Any]
    nir_path: Path | None = None
    nir_skipped: str | None = None
    """Why no NIR was written (max pooling), or None."""
    extra_nir: Path | None = None
    """The copy of the NIR asked for with ``nir``, or None."""

    @property
    def fits(self) -> bool:
        return self.check.fits


def check_dict(check: CheckResult) -> dict[str, Any]:
    return {
        "profile": check.profile,
        "kind": check.kind,
        "fits": check.fits,
        "margins": check.margins(),
        "violations": check.messages(),
        "usages": [
            {
                "name": u.name,
                "where": u.where,
                "usage": u.usage,
                "limit": u.limit,
                "margin": u.margin,
            }
            for u in check.usages
        ],
    }


def train_config(
    config: ExportConfig, *, accelerator: str = "cpu"
) -> tuple[PipelineResult, EnergyReport, CheckResult]:
    """Train ``config`` and measure it on its device (no files written)."""
    from spikefit_search.compression import run_pipeline
    from spikefit_search.data import load_dataset
    from spikefit_search.data.binning import check_binning_applies
    from spikefit_search.hardware import estimate_energy, load_profile, measured_check
    from spikefit_search.training import resolve_device

    device = resolve_device(accelerator)
    profile = load_profile(config.device)
    ds = config.dataset
    binning = ds.binning(config.pipeline.network.timesteps)  # event data, as the search binned
    data = load_dataset(
        ds.name,
        data_dir=ds.data_dir,
        seed=0,
        limit_train=ds.limit_train,
        binning=binning,
        classes=ds.classes,
    )
    keys = {"mode": "bin_mode", "downsample": "downsample", "channel_group": "channel_group"}
    check_binning_applies(binning, data, {k: f"dataset.{v}" for k, v in keys.items()})
    result = run_pipeline(config.pipeline, data, device=device)
    check = measured_check(profile, result.model)
    window = (config.source or {}).get("window_ms")
    energy = estimate_energy(
        profile,
        result.val_activity,
        window_ms=None if window is None else float(window),
        data_window_ms=data.window_ms,
    )
    return result, energy, check


def retrain(
    config: ExportConfig | str | Path,
    *,
    epochs: int | None = None,
    out: str | Path | None = None,
    nir: str | Path | None = None,
    nir_reader: str | None = None,
    accelerator: str = "cpu",
) -> RetrainResult:
    """Train the exported candidate with its settings (``epochs`` overrides the total: 2/3
    warm-up, 1/3 fine-tune), run the measured hardware check and the energy model, and write
    the deployable folder ``out`` (module docstring).

    Args:
        config: an :class:`ExportConfig` or the YAML path ``export`` wrote.
        epochs: total epochs instead of the exported warm-up + fine-tune.
        out: output folder; default ``<config stem>-retrained`` beside the YAML.
        nir: also write a copy of the NIR file here.
        nir_reader: refuse before training when this NIR reader (``sinabs``, ``snntorch``,
            ``norse``) cannot run the network as trained.
        accelerator: ``auto``, ``cpu`` or ``cuda``.

    Raises:
        ConfigError: an invalid config or option, or a network ``nir_reader`` cannot run.
        RunError: ``out`` cannot be written.
    """
    from spikefit_search.compression import save_checkpoint
    from spikefit_search.reporting.nir_export import nir_bytes, require_reader, to_nir

    cfg = config if isinstance(config, ExportConfig) else load_config(config)
    cfg = cfg.with_epochs(epochs)
    network = cfg.pipeline.network
    if nir_reader is not None:
        require_reader(network, nir_reader)
    nir_skipped = None
    if network.kind == "conv" and network.pool > 1 and network.pool_mode == "max":
        if nir is not None or nir_reader is not None:
            raise ConfigError("--nir needs sum or avg pooling, but the network uses max pooling.")
        nir_skipped = "NIR has no max pooling"
    if nir is not None:
        check_writable_file(nir, "--nir")  # before the training, not after it
    if out is None:
        base = cfg.path if cfg.path is not None else Path("retrain.yaml")
        out = base.with_name(f"{base.stem}-retrained")
    out_dir = Path(out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(
            f"--out must be a writable folder, but {out_dir} is not ({exc.strerror})."
        ) from None
    from spikefit_search.hardware.neurobench import neurobench_metrics

    result, energy, check = train_config(cfg, accelerator=accelerator)
    p = cfg.pipeline
    metrics: dict[str, Any] = {
        "val_accuracy": result.val_accuracy,
        "test_accuracy": result.test_accuracy,
        "chip_exact": result.model.chip_exact,
        "float_val_accuracy": result.float_val_accuracy,
        "float_test_accuracy": result.float_test_accuracy,
        "warmup_val_accuracy": result.warmup_val_accuracy,
        "energy_uj": energy.total_uj,
        "energy": energy.to_dict(),
        "neurobench": neurobench_metrics(result.model, result.val_activity).to_dict(),
        "fits": check.fits,
        "device": cfg.device,
        "widths": list(result.network.hidden_sizes),
        "n_values": p.n_values,
        "bits": p.bits,
        "rho": p.rho,
        "zero_fraction": p.zero_fraction,
        "scope": p.scope,
        "warmup_epochs": p.warmup_epochs,
        "finetune_epochs": p.finetune_epochs,
        "seed": p.seed,
        "seconds": result.seconds,
        "losses": result.losses,
        "source": cfg.source,
    }
    nir_data = None
    if nir_skipped is None:
        source = dict(cfg.source or {}, retrained=True)
        nir_data = nir_bytes(to_nir(result.model, p, source=source))
    checkpoint = out_dir / CHECKPOINT_NAME
    partial = out_dir / f".{CHECKPOINT_NAME}.partial"
    save_checkpoint(partial, result, p)
    os.replace(partial, checkpoint)  # same folder: the checkpoint is whole or absent
    nir_path = extra = None
    if nir_data is not None:
        nir_path = atomic_write_bytes(out_dir / NIR_NAME, nir_data)
    family = None if network.chip is None else family_of_neuron(network.chip.family)
    for exporter in () if family is None else family.exporters:  # the vendor's own form
        if exporter.applies(result.model):
            dt_s = energy.latency_ms / max(energy.timesteps, 1) / 1000.0  # a clocked chip's dt
            exporter.write(out_dir / exporter.file_name, result.model, dt_s=dt_s)
    atomic_write_json(out_dir / CHECK_NAME, check_dict(check))
    atomic_write_json(out_dir / ENERGY_NAME, energy.to_dict())
    atomic_write_json(out_dir / METRICS_NAME, metrics)
    # the config actually trained (epochs overridden), so the folder describes itself
    atomic_write_text(out_dir / "config.yaml", replace(cfg, checkpoint=CHECKPOINT_NAME).to_yaml())
    if nir is not None and nir_data is not None:
        try:
            extra = atomic_write_bytes(nir, nir_data)
        except OSError as exc:
            raise RunError(
                f"--nir must be a writable file, but {nir} is not ({exc.strerror}); "
                f"the NIR is in {nir_path}."
            ) from None
    return RetrainResult(
        cfg, result, energy, check, out_dir, checkpoint, metrics, nir_path, nir_skipped, extra
    )


def is_retrained(checkpoint: Path) -> bool:
    """Whether ``checkpoint`` is the model a ``retrain`` folder holds (not a search one)."""
    folder = checkpoint.parent
    return (
        checkpoint.name == CHECKPOINT_NAME
        and (folder / METRICS_NAME).is_file()
        and (folder / CHECK_NAME).is_file()
    )


def weights_description(target: str | Path) -> str:
    """In words, which weights ``check TARGET`` measures: the retrained model, a search
    checkpoint (short training), or none (a static check of the config)."""
    import yaml

    path = Path(target)
    checkpoint: Path | None = path if path.suffix == ".pt" else None
    if checkpoint is None and path.suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            data = None
        name = data.get("checkpoint") if isinstance(data, dict) else None
        if isinstance(name, str) and (path.parent / name).is_file():
            checkpoint = path.parent / name
    if checkpoint is None:
        return "static check of the config: no trained weights measured"
    if is_retrained(checkpoint):
        return f"measured on the retrained model's weights ({checkpoint})"
    return (
        f"measured on the search checkpoint {checkpoint} (the short training of the search, "
        "not a retrained model; retrain the config and check its folder's model.pt)"
    )
