"""``spikefit-search retrain``: train an exported config in full, then check it on the chip.

Writes into the output folder (each file atomically):

* ``model.pt``: the checkpoint (``load_checkpoint`` reads it; ``check`` accepts it);
* ``config.yaml``: the config as trained (``--epochs`` applied);
* ``metrics.json``: accuracies, energy per inference with its terms, epochs, seconds, source;
* ``check.json``: the measured hardware check (fits, margins, violations);
* the NIR file, when asked for.

Same config and seed on CPU give the same accuracy (the pipeline is deterministic there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikefit_search._io import atomic_write_json, atomic_write_text
from spikefit_search.exceptions import RunError
from spikefit_search.reporting.export import ExportConfig, load_config

if TYPE_CHECKING:
    from spikefit_search.compression import PipelineResult
    from spikefit_search.hardware import CheckResult, EnergyReport

CHECKPOINT_NAME = "model.pt"
METRICS_NAME = "metrics.json"
CHECK_NAME = "check.json"


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
    from spikefit_search.data import Binning, load_dataset
    from spikefit_search.hardware import estimate_energy, load_profile, measured_check
    from spikefit_search.training import resolve_device

    device = resolve_device(accelerator)
    profile = load_profile(config.device)
    ds = config.dataset
    binning = Binning(timesteps=config.pipeline.network.timesteps)  # event data only
    data = load_dataset(
        ds.name, data_dir=ds.data_dir, seed=0, limit_train=ds.limit_train, binning=binning
    )
    result = run_pipeline(config.pipeline, data, device=device)
    check = measured_check(profile, result.model)
    energy = estimate_energy(profile, result.val_activity)
    return result, energy, check


def retrain(
    config: ExportConfig | str | Path,
    *,
    epochs: int | None = None,
    out: str | Path | None = None,
    nir: str | Path | None = None,
    accelerator: str = "cpu",
) -> RetrainResult:
    """Train the exported candidate with its settings (``epochs`` overrides the total: 2/3
    warm-up, 1/3 fine-tune), run the measured hardware check and the energy model, and write
    the checkpoint, ``metrics.json`` and ``check.json`` to ``out``.

    Args:
        config: an :class:`ExportConfig` or the YAML path ``export`` wrote.
        epochs: total epochs instead of the exported warm-up + fine-tune.
        out: output folder; default ``<config stem>-retrained`` beside the YAML.
        nir: also write the trained network in NIR here.
        accelerator: ``auto``, ``cpu`` or ``cuda``.

    Raises:
        ConfigError: an invalid config or option.
        RunError: ``out`` cannot be written.
    """
    from spikefit_search.compression import save_checkpoint

    cfg = config if isinstance(config, ExportConfig) else load_config(config)
    cfg = cfg.with_epochs(epochs)
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
    result, energy, check = train_config(cfg, accelerator=accelerator)
    p = cfg.pipeline
    metrics: dict[str, Any] = {
        "val_accuracy": result.val_accuracy,
        "test_accuracy": result.test_accuracy,
        "warmup_val_accuracy": result.warmup_val_accuracy,
        "energy_uj": energy.total_uj,
        "energy": energy.to_dict(),
        "fits": check.fits,
        "device": cfg.device,
        "widths": list(result.network.hidden_sizes),
        "n_values": p.n_values,
        "bits": p.bits,
        "rho": p.rho,
        "scope": p.scope,
        "warmup_epochs": p.warmup_epochs,
        "finetune_epochs": p.finetune_epochs,
        "seed": p.seed,
        "seconds": result.seconds,
        "losses": result.losses,
        "source": cfg.source,
    }
    checkpoint = out_dir / CHECKPOINT_NAME
    partial = out_dir / f".{CHECKPOINT_NAME}.partial"
    save_checkpoint(partial, result, p)
    os.replace(partial, checkpoint)  # same folder: the checkpoint is whole or absent
    atomic_write_json(out_dir / CHECK_NAME, check_dict(check))
    atomic_write_json(out_dir / METRICS_NAME, metrics)
    # the config actually trained (epochs overridden), so the folder describes itself
    atomic_write_text(out_dir / "config.yaml", replace(cfg, checkpoint=CHECKPOINT_NAME).to_yaml())
    nir_path = None
    if nir is not None:
        from spikefit_search.reporting.nir_export import write_nir

        nir_path = write_nir(nir, result.model, p, source=cfg.source)
    return RetrainResult(cfg, result, energy, check, out_dir, checkpoint, metrics, nir_path)
