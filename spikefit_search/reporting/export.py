"""``spikefit-search export``: one trial of a run as a YAML config that ``retrain`` takes as is.

The config holds everything needed to train the candidate again::

    spikefit_version: 0.1.0
    pipeline: {...}          # PipelineConfig.to_dict(): architecture, M, b, rho, scope, training
    dataset: {name: digits, data_dir: null, limit_train: null, bin_mode: count, downsample: 1,
              channel_group: 1,   # these three: how event data were binned (docs/data.md)
              classes: null}      # the labels kept (--classes), relabelled 0..k-1
    device: loihi
    seed: 12345
    checkpoint: trial_3.pt   # when the trial's checkpoint was copied beside the YAML
    source: {run: runs/loihi-mlp-digits, study: ..., trial: 3, accuracy: 0.93, energy_uj: 1.2}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from optuna.trial import TrialState

from spikefit_search._io import atomic_write_bytes
from spikefit_search.compression import PipelineConfig
from spikefit_search.exceptions import ConfigError, RunError
from spikefit_search.reporting.pareto import ParetoFront, ParetoPoint
from spikefit_search.reporting.run import RunView, load_run
from spikefit_search.schema import DatasetRef, ExportConfig
from spikefit_search.search.halving import is_full_fidelity
from spikefit_search.search.stages import FAIL_REASON, FIDELITY, REASON, RUNG, STAGE

PICKS = ("knee",)


# --- choosing a point ------------------------------------------------------------------------


def _offer(front: ParetoFront) -> str:
    lo = front.front[0]
    hi = max(front.front, key=lambda p: (p.accuracy, -p.energy_uj))
    return (
        f"the front has {len(front.front)} points from {lo.energy_uj:.4g} µJ at "
        f"{lo.accuracy:.2%} (trial {lo.number}) to {hi.energy_uj:.4g} µJ at {hi.accuracy:.2%} "
        f"(trial {hi.number})"
    )


def pick_point(
    front: ParetoFront,
    *,
    pick: str | None = "knee",
    max_energy: float | None = None,
    min_accuracy: float | None = None,
) -> ParetoPoint:
    """Choose a point of the feasible front.

    ``max_energy`` (µJ) keeps the points at or under it and ``min_accuracy`` (a fraction in
    [0, 1]) the points at or above it. With ``min_accuracy`` the cheapest remaining point is
    chosen (the least energy that reaches the accuracy); with ``max_energy`` alone the most
    accurate one. With neither, ``pick="knee"`` gives the knee.

    Raises:
        RunError: the front is empty, or no point meets the limits (the message says what the
            front offers).
        ConfigError: an unknown pick or an out-of-range limit.
    """
    if max_energy is not None and not (math.isfinite(max_energy) and max_energy > 0):
        raise ConfigError(f"--max-energy must be a positive number of µJ, but got {max_energy}.")
    if min_accuracy is not None and not 0.0 <= min_accuracy <= 1.0:
        raise ConfigError(
            f"--min-accuracy must be a fraction in [0, 1] (0.9 for 90%), but got {min_accuracy}."
        )
    if not front.front:
        c = front.counts
        raise RunError(
            "export needs a feasible trained candidate, but the run has none yet "
            f"({c.get('trained', 0)} trained, {c.get('rejected', 0)} rejected, "
            f"{len(front.infeasible)} infeasible); use --trial K for a specific trial."
        )
    if max_energy is None and min_accuracy is None:
        if pick not in PICKS:
            raise ConfigError(f"--pick must be one of {', '.join(PICKS)}, but got {pick!r}.")
        assert front.knee is not None
        return front.knee
    points = list(front.front)
    if max_energy is not None:
        points = [p for p in points if p.energy_uj <= max_energy]
        if not points:
            lo = front.front[0]
            raise RunError(
                f"--max-energy {max_energy:g} µJ must admit a point of the front, but the "
                f"lowest energy available is {lo.energy_uj:.4g} µJ (trial {lo.number}); "
                + _offer(front)
                + "."
            )
    if min_accuracy is not None:
        kept = [p for p in points if p.accuracy >= min_accuracy]
        if not kept:
            best = max(points, key=lambda p: p.accuracy)
            within = f" within {max_energy:g} µJ" if max_energy is not None else ""
            raise RunError(
                f"--min-accuracy {min_accuracy:.2%} must admit a point of the front, but the "
                f"highest accuracy available{within} is {best.accuracy:.2%} "
                f"(trial {best.number}); " + _offer(front) + "."
            )
        points = kept
        return min(points, key=lambda p: (p.energy_uj, -p.accuracy, p.number))
    return min(points, key=lambda p: (-p.accuracy, p.energy_uj, p.number))


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_trial` wrote."""

    config: ExportConfig
    config_path: Path
    checkpoint_path: Path | None
    nir_path: Path | None
    point: ParetoPoint | None
    on_front: bool


def config_from_trial(run: RunView, number: int) -> ExportConfig:
    """The config that trains trial ``number`` of ``run`` again, exactly as the search did.

    Raises:
        RunError: the trial did not finish training or records no pipeline.
    """
    trial = run.trial(number)
    pipeline = trial.user_attrs.get("pipeline")
    if trial.state != TrialState.COMPLETE or not isinstance(pipeline, dict):
        stage = trial.user_attrs.get(STAGE) or trial.state.name.lower()
        why = trial.user_attrs.get(REASON) or trial.user_attrs.get(FAIL_REASON)
        raise RunError(
            f"--trial must be a trained trial, but trial {number} is {stage}"
            + (f" ({str(why).rstrip('.')})" if why else "")
            + "."
        )
    if not is_full_fidelity(trial):
        share = float(trial.user_attrs.get(FIDELITY, 1.0))
        raise RunError(
            f"--trial must be trained with all its epochs, but trial {number} is on rung "
            f"{trial.user_attrs.get(RUNG, 0)} of successive halving ({share:.0%} of them); "
            "export a trial of the front (--pick knee) or one on the top rung."
        )
    opts = run.manifest.get("options", {})
    ds = run.manifest.get("dataset", {})
    cfg = PipelineConfig.from_dict(pipeline)
    assert trial.values is not None
    return ExportConfig(
        pipeline=cfg,
        dataset=DatasetRef(
            name=str(ds.get("name", opts.get("dataset", "digits"))),
            data_dir=ds.get("data_dir", opts.get("data_dir")),
            limit_train=opts.get("limit_train"),
            bin_mode=str(opts.get("bin_mode", "count")),
            downsample=int(opts.get("downsample", 1)),
            channel_group=int(opts.get("channel_group", 1)),
            classes=None if opts.get("classes") is None else tuple(opts["classes"]),
        ),
        device=run.device,
        seed=cfg.seed,
        source={
            "run": str(run.path),
            "study": run.study_name,
            "trial": number,
            "accuracy": float(trial.values[0]),
            "test_accuracy": float(trial.user_attrs.get("test_accuracy", math.nan)),
            "energy_uj": float(trial.user_attrs.get("energy_uj", trial.values[1])),
            "window_ms": _option_window(run.manifest),
            "device_sha256": run.manifest.get("device", {}).get("sha256"),
            # the weight values the trained network really uses, next to the requested M
            "n_values": cfg.n_values,
            **{
                key: trial.user_attrs[key]
                for key in ("effective_values", "effective_values_min", "codebook_drift")
                if key in trial.user_attrs
            },
        },
    )


def _option_window(manifest: dict[str, Any]) -> float | None:
    """The run's ``--window-ms``, so that ``retrain`` charges the same window (None if unset)."""
    entry = manifest.get("objective")
    if isinstance(entry, dict) and entry.get("window_source") == "option":
        return float(entry["window_ms"])
    return None


def checkpoint_of(run: RunView, number: int) -> Path:
    return run.path / "checkpoints" / f"trial_{number}.pt"


def _write_all(files: list[tuple[Path, bytes, str]]) -> None:
    """Write every file atomically, or none: on a failure the ones written so far are removed
    (a file that existed before is left as it now is)."""
    written: list[Path] = []
    for target, data, flag in files:
        existed = target.exists()
        try:
            atomic_write_bytes(target, data)
        except OSError as exc:
            for done in written:
                done.unlink(missing_ok=True)
            raise RunError(
                f"{flag} must be writable, but {target} is not ({exc.strerror})."
            ) from None
        if not existed:
            written.append(target)


def export_trial(
    run_dir: str | Path,
    *,
    trial: int | None = None,
    pick: str | None = "knee",
    max_energy: float | None = None,
    min_accuracy: float | None = None,
    out: str | Path | None = None,
    nir: str | Path | None = None,
    nir_reader: str | None = None,
    storage: str | None = None,
) -> ExportResult:
    """Write the chosen trial's config (and copy its checkpoint beside it, as ``<stem>.pt``).

    Args:
        run_dir: the run folder (read without its lock).
        trial: export this trial (any trained one); excludes the picks.
        pick, max_energy, min_accuracy: how to choose from the feasible front
            (:func:`pick_point`).
        out: the YAML file; default ``<run>/exports/trial_<N>.yaml``.
        nir: also write the trial's network in NIR here (needs the checkpoint; the deployable
            NIR is the one ``retrain`` writes).
        nir_reader: refuse, before writing anything, when this NIR reader (``sinabs``,
            ``snntorch``, ``norse``) cannot run the network as trained.
        storage: RDB URL of a ``--storage`` run.

    Raises:
        ConfigError: conflicting options, or a network the NIR (reader) cannot express.
        RunError: nothing matches, ``nir`` is asked for a trial without a checkpoint, or a file
            cannot be written (then none of the files is left behind).
    """
    if trial is not None and (max_energy is not None or min_accuracy is not None):
        raise ConfigError(
            "--trial must be used alone, but got it with --max-energy or --min-accuracy."
        )
    run = load_run(run_dir, storage=storage)
    front = run.pareto()
    if trial is None:
        point: ParetoPoint | None = pick_point(
            front, pick=pick, max_energy=max_energy, min_accuracy=min_accuracy
        )
        assert point is not None
        number = point.number
    else:
        number, point = trial, front.point(trial)
    config = config_from_trial(run, number)
    path = Path(out) if out is not None else run.path / "exports" / f"trial_{number}.yaml"
    if path.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"-o must name a .yaml file, but got {str(path)!r}.")
    from spikefit_search._io import check_writable_file  # (local: keeps merges small)

    for target, flag in ((path, "-o"), (path.with_suffix(".pt"), "-o"), (nir, "--nir")):
        if target is not None:
            check_writable_file(target, flag)  # before any file is copied
    source_ckpt = checkpoint_of(run, number)
    ckpt = path.with_suffix(".pt") if source_ckpt.is_file() else None
    if ckpt is not None:
        config = replace(config, checkpoint=ckpt.name)
    nir_data: bytes | None = None
    if nir is not None:  # everything that can refuse runs before the first file is written
        if ckpt is None:
            raise RunError(
                f"--nir needs the trained weights, but {source_ckpt} does not exist; "
                "retrain the config instead (it writes the NIR of the trained model)."
            )
        from spikefit_search.compression import load_checkpoint
        from spikefit_search.reporting.nir_export import nir_bytes, require_reader, to_nir

        model, pipeline = load_checkpoint(source_ckpt)
        if nir_reader is not None:
            require_reader(model.config, nir_reader)
        nir_data = nir_bytes(to_nir(model, pipeline, source=config.source))
    files: list[tuple[Path, bytes, str]] = []
    if ckpt is not None:
        files.append((ckpt, source_ckpt.read_bytes(), "-o"))
    if nir is not None and nir_data is not None:
        files.append((Path(nir), nir_data, "--nir"))
    files.append((path, config.to_yaml().encode("utf-8"), "-o"))
    _write_all(files)
    nir_path = Path(nir) if nir is not None else None
    on_front = any(p.number == number for p in front.front)
    return ExportResult(replace(config, path=path), path, ckpt, nir_path, point, on_front)
