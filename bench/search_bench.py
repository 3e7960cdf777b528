"""Search benchmarks (issue 5): wall time of a budget-50 search, cost of a statically rejected
candidate, throughput with 2 workers against 1, and hypervolume of the default sampler against
random search.

Usage (each part can run alone):

    python bench/search_bench.py wall        # spikefit-search --device speck --budget 50
    python bench/search_bench.py reject      # cost of a statically rejected candidate
    python bench/search_bench.py workers     # --workers 2 against --workers 1
    python bench/search_bench.py sampler     # hypervolume: tpe against random, 3 seeds

Results are printed; with ``--write`` they are also appended to docs/benchmarks.md under
"## Search (issue 5)".
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_MD = ROOT / "docs" / "benchmarks.md"
SECTION = "## Search (issue 5)"


def machine() -> str:
    import torch
    from _common import machine as describe

    return f"{describe(torch.device('cpu'))}, Python {platform.python_version()}"


WRITE = False
"""Set by ``--write``: append results to docs/benchmarks.md (otherwise only print them)."""


def append(title: str, lines: list[str]) -> None:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = [f"### {title} ({stamp})", "", f"Machine: {machine()}.", "", *lines, ""]
    print("\n".join(block))
    if not WRITE:
        return
    text = BENCH_MD.read_text() if BENCH_MD.exists() else "# Benchmarks\n"
    if SECTION not in text:
        text = text.rstrip() + f"\n\n{SECTION}\n\n"
    head, _, tail = text.partition(SECTION)
    nxt = tail.find("\n## ")
    body, rest = (tail, "") if nxt < 0 else (tail[:nxt], tail[nxt:])
    text = head + SECTION + body.rstrip() + "\n\n" + "\n".join(block) + rest
    BENCH_MD.write_text(text)


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
    from spikefit_search.search.objective import TrialSettings, run_trial
    from spikefit_search.search.space import load_search_space

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


def hypervolume(points: list[tuple[float, float]], ref_energy: float) -> float:
    """Area dominated by (accuracy up, energy down) points, bounded by accuracy 0 and
    ``ref_energy``."""
    pts = sorted((e, a) for a, e in points if e < ref_energy)
    area, best = 0.0, 0.0
    for i, (e, a) in enumerate(pts):
        best = max(best, a)
        nxt = pts[i + 1][0] if i + 1 < len(pts) else ref_energy
        area += best * (nxt - e)
    return area


def bench_sampler(
    budget: int = 50,
    seeds: tuple[int, ...] = (0, 1, 2),
    samplers: tuple[str, ...] = ("tpe", "random", "gp"),
) -> None:
    import optuna

    from spikefit_search.search.records import is_feasible
    from spikefit_search.search.storage import open_storage

    fronts: dict[str, list[list[tuple[float, float]]]] = {name: [] for name in samplers}
    tmp = Path(tempfile.mkdtemp())
    try:
        for seed in seeds:
            for sampler in samplers:
                out = tmp / f"{sampler}-{seed}"
                cli(
                    "--device",
                    "speck",
                    "--budget",
                    str(budget),
                    "--sampler",
                    sampler,
                    "--seed",
                    str(seed),
                    "--out",
                    str(out),
                    cwd=tmp,
                )
                run = out / "speck-mlp-digits"
                study = optuna.load_study(
                    study_name="speck-mlp-digits", storage=open_storage(run, None)
                )
                fronts[sampler].append(
                    [tuple(t.values) for t in study.trials if is_feasible(t)]  # type: ignore[misc]
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ref = 1.1 * max(e for runs in fronts.values() for pts in runs for _, e in pts)
    hv = {k: [hypervolume(p, ref) for p in v] for k, v in fronts.items()}
    lines = [
        f"Command: `python bench/search_bench.py sampler` (speck, digits, budget {budget}, seeds "
        f"{', '.join(map(str, seeds))}; hypervolume of (validation accuracy, energy µJ) with "
        f"reference accuracy 0 and energy {ref:.3g} µJ).",
        "",
        "| sampler | hypervolume per seed | mean |",
        "|---|---|---|",
    ]
    for k, v in hv.items():
        lines.append(f"| {k} | {', '.join(f'{x:.4g}' for x in v)} | {statistics.mean(v):.4g} |")
    verdict = "ahead" if statistics.mean(hv["tpe"]) > statistics.mean(hv["random"]) else "NOT ahead"
    lines += ["", f"Default sampler (TPE) is **{verdict}** of random search at this budget."]
    append("Hypervolume: default sampler against random", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["wall", "reject", "workers", "sampler", "all"])
    parser.add_argument(
        "--write", action="store_true", help="append the results to docs/benchmarks.md"
    )
    args = parser.parse_args()
    global WRITE
    WRITE = args.write
    parts = ["reject", "wall", "workers", "sampler"] if args.part == "all" else [args.part]
    for part in parts:
        globals()[f"bench_{part}"]()


if __name__ == "__main__":
    main()
