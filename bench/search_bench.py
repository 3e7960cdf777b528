"""Search benchmarks: wall time of a budget-50 search, cost of a statically rejected
candidate, throughput with 2 workers against 1, and hypervolume of the default sampler against
random search.

Usage (each part can run alone):

    python bench/search_bench.py wall        # spikefit-search --device speck --budget 50
    python bench/search_bench.py reject      # cost of a statically rejected candidate
    python bench/search_bench.py workers     # --workers 2 against --workers 1
    python bench/search_bench.py sampler     # sample efficiency: tpe against random,
                                             # speck and loihi, 5 seeds, budget 50
    python bench/search_bench.py sampler --results r.json   # keep every run's points
    python bench/search_bench.py sampler --results r.json --from-results  # recompute only
    python bench/search_bench.py compare NAME=RUN_DIR ...   # finished runs side by side:
        # hypervolume (one reference for all), warm-up reuse, stages, training seconds

Results are printed, and appended to docs/benchmarks.md under "## Search" with
``--write``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from optuna.trial import TrialState

from spikefit_search.search._optuna import StudyView

ROOT = Path(__file__).resolve().parents[1]
BENCH_MD = ROOT / "docs" / "benchmarks.md"
SECTION = "## Search"


def machine() -> str:
    import torch
    from _common import machine as describe

    return f"{describe(torch.device('cpu'))}, Python {platform.python_version()}"


WRITE = False
"""Set by ``--write``: append results to docs/benchmarks.md (otherwise only print them)."""


def append(title: str, lines: list[str]) -> None:
    """Print a result block; append it to docs/benchmarks.md only with ``--write``."""
    if not WRITE:
        print(f"### {title}", *lines, sep="\n")
        return
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = [f"### {title} ({stamp})", "", f"Machine: {machine()}.", "", *lines, ""]
    print("\n".join(block))
    from _common import append_section

    append_section("\n".join(block), SECTION, BENCH_MD)


def cli(*args: str, cwd: Path, show: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "spikefit_search", *args],
        cwd=cwd,
        check=True,
        stdout=None if show else subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "100"},
    )
    return time.perf_counter() - start


def bench_wall() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        seconds = cli("--device", "speck", "--budget", "50", "--out", tmp, cwd=Path(tmp), show=True)
        counts = _counts(Path(tmp) / "speck-mlp-digits")
    append(
        "Wall time of `spikefit-search --device speck --budget 50`",
        [
            "Command: `python bench/search_bench.py wall` (digits, default mlp space, 1 worker).",
            "",
            f"- wall time: **{seconds / 60:.1f} min** (target: under 10 min)",
            f"- trials: {counts}",
        ],
    )


def _counts(run_dir: Path) -> str:
    import pandas as pd

    frame = pd.read_csv(run_dir / "trials.csv")
    return ", ".join(f"{k} {v}" for k, v in frame["stage"].value_counts().items())


def bench_reject(n: int = 300) -> None:
    import optuna

    from spikefit_search.data import load_dataset
    from spikefit_search.hardware import load_profile
    from spikefit_search.search.space import load_search_space
    from spikefit_search.search.trial import TrialSettings, run_trial

    space_path = Path(tempfile.mkdtemp()) / "wide.yaml"
    # every candidate needs far more than TrueNorth's 256-input cores allow per neuron
    space_path.write_text(
        "network: {kind: mlp}\nparams:\n  n_values: {choices: [2, 3, 4]}\n"
        "  bits: {choices: [4]}\n  width: {low: 2000, high: 4000}\n"
        "  hidden_layers: {choices: [2]}\n"
    )
    profile = load_profile("truenorth")
    space = load_search_space(space_path).narrow(profile)
    data = load_dataset("digits")
    settings = TrialSettings(space=space, profile=profile, data=data, budget=1, seed=0)

    def trained_not_allowed(*a: object, **k: object) -> object:
        raise AssertionError("a rejected candidate must not be trained")

    with tempfile.TemporaryDirectory() as tmp:
        from spikefit_search.search.storage import open_storage

        storage = open_storage(Path(tmp), None)
        study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
        times = []
        for _ in range(n):
            start = time.perf_counter()
            trial = study.ask()
            outcome = run_trial(study, trial, settings, pipeline=trained_not_allowed)
            study.tell(trial, state=outcome.state)
            times.append(time.perf_counter() - start)
    ms = [t * 1000 for t in times]
    append(
        "Cost of a statically rejected candidate",
        [
            "Command: `python bench/search_bench.py reject` (TrueNorth, MLP of 2000-4000 wide "
            f"layers, {n} candidates: sample, static check, record in the journal).",
            "",
            f"- median {statistics.median(ms):.1f} ms, 90th percentile "
            f"{sorted(ms)[int(0.9 * len(ms))]:.1f} ms, first {ms[0]:.1f} ms "
            "(target: under 50 ms)",
        ],
    )


def _steady_rate(run_dir: Path, study: str) -> float:
    """Trained trials per minute from the first trial's start to the last one's end (process
    start-up excluded)."""
    import optuna

    from spikefit_search.search.storage import open_storage

    trials = optuna.load_study(study_name=study, storage=open_storage(run_dir, None)).trials
    done = [t for t in trials if t.user_attrs.get("stage") in ("trained", "stopped")]
    first = min(t.datetime_start for t in trials if t.datetime_start is not None)
    last = max(t.datetime_complete for t in done if t.datetime_complete is not None)
    return len(done) / (last - first).total_seconds() * 60


def bench_workers(budget: int = 40) -> None:
    wall: dict[int, list[float]] = {}
    steady: dict[int, list[float]] = {}
    for workers in (1, 2, 1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            seconds = cli(
                "--device",
                "loihi",
                "--budget",
                str(budget),
                "--workers",
                str(workers),
                "--out",
                tmp,
                "--seed",
                "3",
                cwd=Path(tmp),
            )
            steady.setdefault(workers, []).append(
                _steady_rate(Path(tmp) / "loihi-mlp-digits", "loihi-mlp-digits")
            )
        wall.setdefault(workers, []).append(budget / seconds * 60)
    w1, w2 = statistics.median(wall[1]), statistics.median(wall[2])
    s1, s2 = statistics.median(steady[1]), statistics.median(steady[2])
    append(
        "Throughput with `--workers 2` against `--workers 1`",
        [
            f"Command: `python bench/search_bench.py workers` (loihi, digits, budget {budget}, "
            "runs alternated 1, 2, 1, 2; medians).",
            "",
            f"- trained trials per minute while trials run (first start to last end): "
            f"1 worker {s1:.0f}, 2 workers {s2:.0f}: **{s2 / s1:.2f}x** (target: at least 1.6x)",
            f"- the whole command, process start-up included: 1 worker {w1:.0f}/min, "
            f"2 workers {w2:.0f}/min: {w2 / w1:.2f}x (each extra worker process imports torch "
            "and loads the data, a few seconds against trials of half a second on digits)",
        ],
    )


def hypervolume(
    points: list[tuple[float, float]], ref_energy: float, ref_accuracy: float = 0.0
) -> float:
    """Area dominated by (accuracy up, energy down) points, bounded below by ``ref_accuracy``
    and on the right by ``ref_energy`` (points beyond either count for nothing)."""
    pts = sorted((e, a) for a, e in points if e < ref_energy and a > ref_accuracy)
    area, best = 0.0, ref_accuracy
    for i, (e, a) in enumerate(pts):
        best = max(best, a)
        nxt = pts[i + 1][0] if i + 1 < len(pts) else ref_energy
        area += (best - ref_accuracy) * (nxt - e)
    return area


def _search_points(
    chip: str,
    sampler: str,
    seed: int,
    budget: int,
    out: Path,
    epochs: int | None,
    space: str = "mlp",
) -> list[tuple[float, float] | None]:
    """Run one search; per budget-counted candidate in trial order, its (accuracy, energy)
    when feasible, else None (stopped, or infeasible when measured)."""
    import optuna

    from spikefit_search.search import SearchOptions, run_search
    from spikefit_search.search.records import is_feasible
    from spikefit_search.search.storage import open_storage

    result = run_search(
        SearchOptions(
            device=chip,
            budget=budget,
            sampler=sampler,
            seed=seed,
            out=str(out),
            epochs=epochs,
            space=space,
        )
    )
    study = optuna.load_study(
        study_name=result.study_name, storage=open_storage(result.run_dir, None)
    )
    seq: list[tuple[float, float] | None] = []
    for t in sorted(study.trials, key=lambda t: t.number):
        if t.user_attrs.get("stage") not in ("trained", "stopped"):
            continue
        seq.append((float(t.values[0]), float(t.values[1])) if is_feasible(t) else None)
    return seq[:budget]


def hv_curve(seq: list[tuple[float, float] | None], ref_e: float, ref_a: float) -> list[float]:
    """Hypervolume after each budget-counted candidate."""
    pts: list[tuple[float, float]] = []
    curve = []
    for p in seq:
        if p is not None:
            pts.append(p)
        curve.append(hypervolume(pts, ref_e, ref_a))
    return curve


def candidates_to_reach(curve: list[float], target: float) -> int | None:
    """Trained candidates needed for the curve to reach ``target`` (None: never)."""
    return next((i + 1 for i, v in enumerate(curve) if v >= target - 1e-12), None)


def register_bench_samplers() -> None:
    """Add the sampler variants only this benchmark offers (measured against the CLI's, not
    in the CLI) to the sampler registry, once per process: ``gp5``, ``gplog``."""
    import optuna

    from spikefit_search.search.samplers import SAMPLERS

    if "gp5" in SAMPLERS:
        return

    @SAMPLERS.register("gp5")
    def _gp5(seed: int, budget: int) -> optuna.samplers.BaseSampler:
        # GP that starts to model after 5 candidates instead of 10 (budget 50)
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=5)

    @SAMPLERS.register("gplog")
    def _gplog(seed: int, budget: int) -> optuna.samplers.BaseSampler:
        # the default GP shown the logarithm of the second objective
        return LogObjectiveSampler(optuna.samplers.GPSampler(seed=seed, n_startup_trials=10))


class _LogStudy(StudyView):
    """A study (the constraint-aware view) whose COMPLETE trials show ``log`` of objective 2."""

    def view_trials(self, trials: Any) -> list[Any]:
        out = []
        for t in trials:
            if t.state == TrialState.COMPLETE and t.values is not None and len(t.values) == 2:
                t = copy.copy(t)
                t.values = [t.values[0], math.log(max(t.values[1], 1e-12))]
            out.append(t)
        return out


class LogObjectiveSampler:
    """Wraps a sampler so that it models ``log`` of the second objective (energy, SOPs or
    latency); used inside the CLI's constraint-aware wrapper, so a rejected or stopped trial
    shows the log of the trained mean. Benchmark-only (``gplog``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # sample_*, infer_*, before/after_trial, reseed
        method = getattr(self.inner, name)
        if name == "reseed_rng":
            return method

        def call(study: Any, *args: Any, **kwargs: Any) -> Any:
            return method(_LogStudy(study), *args, **kwargs)

        return call


def bench_sampler(
    budget: int = 50,
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
    samplers: tuple[str, ...] = ("tpe", "random"),
    chips: tuple[str, ...] = ("speck", "loihi"),
    epochs: int | None = None,
    results: Path | None = None,
    space: str = "mlp",
) -> None:
    """Sample efficiency of the default sampler (the first of ``samplers``) against random.

    Reference point, fixed per chip: accuracy at chance (digits: 0.1) and energy at the worst
    feasible candidate of all runs on that chip. Second figure, independent of the reference:
    trained candidates the default needs to reach random search's mean budget-``budget``
    hypervolume. Per-candidate points are kept in ``results`` (JSON) so the figures can be
    recomputed (``--from-results``) after the energy model changes without retraining.
    """
    import json

    default = samplers[0]
    data: dict[str, dict[str, dict[str, list[list[float] | None]]]] = {}
    if results is not None and results.is_file():  # resume: runs already there are kept
        data = json.loads(results.read_text())
    tmp = Path(tempfile.mkdtemp())
    try:
        for chip in chips:
            for seed in seeds:
                for sampler in samplers:
                    runs = data.setdefault(chip, {}).setdefault(sampler, {})
                    if str(seed) in runs:
                        continue
                    start = time.perf_counter()
                    seq = _search_points(
                        chip, sampler, seed, budget, tmp / f"{chip}-{sampler}-{seed}", epochs, space
                    )
                    runs[str(seed)] = [list(p) if p else None for p in seq]
                    print(
                        f"{chip} {sampler} seed {seed}: {time.perf_counter() - start:.0f} s",
                        flush=True,
                    )
                    if results is not None:
                        results.write_text(json.dumps(data))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report_sampler(data, budget=budget, default=default, epochs=epochs)


def report_sampler(
    data: dict[str, dict[str, dict[str, list[list[float] | None]]]],
    *,
    budget: int,
    default: str,
    epochs: int | None,
    chance: float = 0.1,
) -> None:
    command = "python bench/search_bench.py " + " ".join(sys.argv[1:])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    lines = [
        f"Command: `{command}`"
        + (f" ({epochs} epochs per candidate: reduced fidelity)" if epochs else "")
        + f" (digits, budget {budget}; hypervolume of (validation accuracy, energy µJ) above "
        f"accuracy {chance} (chance) and below the worst feasible energy of all runs on the "
        "chip; 'to reach' = trained candidates the default sampler needs to reach random "
        "search's mean hypervolume at the full budget, '>N' when it never does; mean ± "
        "standard error over seeds, a seed that never does counted as N + 1).",
        "",
        "| chip | sampler | hypervolume per seed | mean | to reach random's (per seed) | mean |",
        "|---|---|---|---|---|---|",
    ]
    for chip, by_sampler in data.items():
        seqs = [
            [tuple(p) if p else None for p in seq]
            for runs in by_sampler.values()
            for seq in runs.values()
        ]
        energies = [p[1] for seq in seqs for p in seq if p is not None]
        if not energies:
            continue
        ref_e = max(energies) * (1 + 1e-9)
        curves = {
            s: [hv_curve(seq, ref_e, chance) for seq in runs.values()]  # type: ignore[arg-type]
            for s, runs in by_sampler.items()
        }
        target = statistics.mean(c[-1] for c in curves["random"]) if "random" in curves else None
        for s, cs in curves.items():
            finals = [c[-1] for c in cs]
            reach = ""
            mean_reach = ""
            if target is not None and s != "random":
                counts = [candidates_to_reach(c, target) for c in cs]
                reach = ", ".join(str(n) if n else f">{len(c)}" for n, c in zip(counts, cs))
                # a run that never reaches it counts as its budget + 1 (a lower bound)
                filled = [n or len(c) + 1 for n, c in zip(counts, cs)]
                mean_reach = f"{statistics.mean(filled):.1f}"
                if len(filled) > 1:  # per-seed counts spread widely: show the standard error
                    se = statistics.stdev(filled) / len(filled) ** 0.5
                    mean_reach += f" ± {se:.1f}"
            lines.append(
                f"| {chip} | {s} | {', '.join(f'{x:.4g}' for x in finals)} | "
                f"{statistics.mean(finals):.4g} | {reach} | {mean_reach} |"
            )
    lines += [
        "",
        f"Default sampler: {default}. Energy figures depend on the energy model of the "
        "profiles at the time of the run; re-run after it changes. Load average when "
        f"reported: {load:.1f} (a busy CPU slows runs, it does not change these figures).",
    ]
    append("Sample efficiency: default sampler against random", lines)


def run_summary(run_dir: Path) -> dict[str, Any]:
    """One finished run folder: its budget-counted candidates' (accuracy, energy) points, how
    many reused a stored warm-up, its stages and the seconds its trials trained."""
    import optuna

    from spikefit_search.search.records import is_feasible
    from spikefit_search.search.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = optuna.get_all_study_names(open_storage(run_dir, None))
    study = optuna.load_study(study_name=names[0], storage=open_storage(run_dir, None))
    trials = sorted(study.trials, key=lambda t: t.number)
    counted = [t for t in trials if t.user_attrs.get("stage") in ("trained", "stopped")]
    stages: dict[str, int] = {}
    for t in trials:
        stage = str(t.user_attrs.get("stage"))
        stages[stage] = stages.get(stage, 0) + 1
    return {
        "points": [
            [float(t.values[0]), float(t.values[1])] if is_feasible(t) else None for t in counted
        ],
        "reused": sum(bool(t.user_attrs.get("warmup_reused")) for t in counted),
        "warmups": len(list((run_dir / "warmups").glob("*.pt"))),
        "stages": stages,
        "train_seconds": sum(float(t.user_attrs.get("seconds", 0.0)) for t in counted),
    }


def bench_compare(
    runs: list[str],
    results: Path | None,
    title: str = "Search runs side by side",
    chance: float = 0.1,
) -> None:
    """Finished runs (``NAME=RUN_DIR``) side by side, hypervolume above ``chance`` accuracy and
    below the worst feasible energy of all of them."""
    import json

    summaries = {}
    for spec in runs:
        name, _, folder = spec.partition("=")
        summaries[name] = run_summary(Path(folder))
    if results is not None:
        results.write_text(json.dumps(summaries, indent=1))
    energies = [p[1] for s in summaries.values() for p in s["points"] if p]
    ref_e = max(energies) * (1 + 1e-9)
    lines = [
        f"Hypervolume of (validation accuracy, energy) above accuracy {chance} and below "
        f"{ref_e:.4g} (the worst feasible energy of these runs).",
        "",
        "| run | trained + stopped | warm-ups trained | warm-up reused | hypervolume | "
        "training s |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in summaries.items():
        pts = [tuple(p) for p in s["points"] if p]
        n = len(s["points"])
        lines.append(
            f"| {name} | {n} | {s['warmups']} | {s['reused']} ({100 * s['reused'] / n:.0f} %) "
            f"| {hypervolume(pts, ref_e, chance):.5g} | {s['train_seconds']:.0f} |"
        )
    lines += ["", f"Command: `python bench/search_bench.py {shlex.join(sys.argv[1:])}`."]
    append(title, lines)


def main() -> None:
    global WRITE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["wall", "reject", "workers", "sampler", "compare", "all"])
    parser.add_argument("runs", nargs="*", help="compare: NAME=RUN_DIR of finished runs")
    parser.add_argument("--title", default="Search runs side by side", help="compare")
    parser.add_argument("--write", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument("--budget", type=int, default=50, help="sampler: trained candidates")
    parser.add_argument("--seeds", type=int, default=5, help="sampler: seeds 0..N-1")
    parser.add_argument("--chips", nargs="+", default=["speck", "loihi"], help="sampler")
    parser.add_argument("--samplers", nargs="+", default=["tpe", "random"], help="sampler")
    parser.add_argument("--epochs", type=int, default=None, help="sampler: epochs per candidate")
    parser.add_argument(
        "--results", type=Path, default=None, help="sampler: JSON of every run's points"
    )
    parser.add_argument(
        "--from-results", action="store_true", help="sampler: only recompute from --results"
    )
    parser.add_argument("--space", default="mlp", help="sampler: search space name or YAML")
    args = parser.parse_args()
    WRITE = args.write
    if args.part == "compare":
        bench_compare(args.runs, args.results, args.title)
        return
    if args.part == "sampler":
        if args.from_results:
            import json

            data = json.loads(args.results.read_text())
            report_sampler(data, budget=args.budget, default=args.samplers[0], epochs=args.epochs)
            return
        register_bench_samplers()
        bench_sampler(
            budget=args.budget,
            seeds=tuple(range(args.seeds)),
            samplers=tuple(args.samplers),
            chips=tuple(args.chips),
            epochs=args.epochs,
            results=args.results,
            space=args.space,
        )
        return
    parts = ["reject", "wall", "workers", "sampler"] if args.part == "all" else [args.part]
    for part in parts:
        globals()[f"bench_{part}"]()


if __name__ == "__main__":
    main()
