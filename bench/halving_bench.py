"""Successive halving against full fidelity: hypervolume, training compute and wall time.

Each arm is one search (``run_search``) per seed with the same ``--budget``; arms are
``FIDELITY:SAMPLER`` (e.g. ``full:gp``, ``halving:gp``, ``full:random``), or
``FIDELITY:SAMPLER:BUDGET`` for an arm with its own budget (e.g. full fidelity at the compute
of a halving search); fidelity ``halving-unbounded`` is ASHA's promotion rule (rungs not held to
a third of the one below). For every run it keeps
each trial's rung, fidelity, compute (epochs x training samples, a cached warm-up costing
nothing), completion time and, for feasible full-fidelity trials, (accuracy, objective).

Figures, one reference for all runs of a chip (accuracy at chance, objective at the worst
feasible full-fidelity value of any run):

* hypervolume of the front each run ends with (full-fidelity points only);
* its training compute and wall time;
* the compute each arm needs to reach the mean final hypervolume of ``full:random``, with the
  runs ordered by completion time (">" when it never does).

Usage:

    python bench/halving_bench.py --chip speck --seeds 3 --results bench/results/halving_speck.json
    python bench/halving_bench.py --chip loihi --dataset fashion-mnist --arms halving:gp \\
        --seeds 1 --results bench/results/halving_fashion_loihi.json
    python bench/halving_bench.py --results FILE --from-results   # recompute only

Results are printed, and written to docs/benchmarks.md under "Search" with ``--write`` (a
re-run of the same command replaces its figure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from _common import append_section, machine
from search_bench import hypervolume

SECTION = "## Search"
CHANCE = 0.1


def run_arm(arm: str, chip: str, dataset: str, seed: int, budget: int, out: Path) -> dict[str, Any]:
    import optuna

    from spikefit_search.search import SearchOptions, run_search
    from spikefit_search.search.records import is_feasible
    from spikefit_search.search.storage import open_storage

    fidelity, sampler, *rest = arm.split(":")
    budget = int(rest[0]) if rest else budget
    from spikefit_search.search import preparation
    from spikefit_search.search.halving import Halving, is_full_fidelity, rung_of

    # halving-unbounded: ASHA's promotions, rungs not held to a third of the one below
    bounded = fidelity != "halving-unbounded"
    preparation.Halving = functools.partial(Halving, bounded=bounded)  # type: ignore[misc]
    fidelity = "halving" if fidelity.startswith("halving") else fidelity
    start = time.perf_counter()
    result = run_search(
        SearchOptions(
            device=chip,
            dataset=dataset,
            budget=budget,
            sampler=sampler,
            seed=seed,
            out=str(out),
            fidelity=fidelity,
        )
    )
    wall = time.perf_counter() - start
    study = optuna.load_study(
        study_name=result.study_name, storage=open_storage(result.run_dir, None)
    )
    trials = []
    for t in study.trials:
        ua = t.user_attrs
        if t.datetime_complete is None or "compute" not in ua:  # never trained
            continue
        placed = is_full_fidelity(t) and is_feasible(t)
        point = [float(t.values[0]), float(t.values[1])] if placed else None
        trials.append(
            {
                "number": t.number,
                "done": t.datetime_complete.timestamp(),
                "rung": rung_of(t),
                "compute": float(ua["compute"]),
                "point": point,
            }
        )
    trials.sort(key=lambda r: r["done"])
    return {"wall_s": wall, "trials": trials, "counts": result.counts}


def curve(run: dict[str, Any], ref_obj: float) -> list[tuple[float, float]]:
    """(cumulative compute, hypervolume) after each finished trial."""
    used, pts, out = 0.0, [], []
    for t in run["trials"]:
        used += t["compute"]
        if t["point"] is not None:
            pts.append(tuple(t["point"]))
        out.append((used, hypervolume(pts, ref_obj, CHANCE)))
    return out


def report(data: dict[str, Any], command: str, write: bool) -> None:
    chip, dataset, budget = data["chip"], data["dataset"], data["budget"]
    runs: dict[str, dict[str, Any]] = data["runs"]
    objs = [
        t["point"][1]
        for arm in runs.values()
        for r in arm.values()
        for t in r["trials"]
        if t["point"] is not None
    ]
    if not objs:
        print("no feasible full-fidelity point yet")
        return
    ref = max(objs) * (1 + 1e-9)
    curves = {a: [curve(r, ref) for r in arm.values()] for a, arm in runs.items()}
    finals = {a: [c[-1][1] if c else 0.0 for c in cs] for a, cs in curves.items()}
    target = statistics.mean(finals["full:random"]) if "full:random" in finals else None
    full_compute = (
        statistics.mean(c[-1][0] for c in curves["full:random"]) if target is not None else None
    )
    lines = [
        f"- date: {dt.date.today().isoformat()}; machine: " + machine(torch.device("cpu")),
        f"- command: `{command}`",
        "",
        f"{dataset}, {chip}, `--budget {budget}` where an arm does not name its own. "
        f"Hypervolume of (validation accuracy, objective) above accuracy {CHANCE} and below "
        f"{ref:.4g}, the worst feasible full-fidelity objective of all runs. Compute = epochs x "
        "training samples, a warm-up read from the cache counting nothing. 'To reach' = compute "
        "until the run's front reaches full:random's mean final hypervolume, as a share of "
        "full:random's mean compute ('>' = never).",
        "",
        "| arm | hypervolume per seed | mean | compute (M sample-epochs) | wall s | "
        "promoted | to reach full:random |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm, cs in curves.items():
        rs = list(runs[arm].values())
        compute = statistics.mean(c[-1][0] for c in cs) / 1e6
        wall = statistics.mean(r["wall_s"] for r in rs)
        promoted = statistics.mean(r["counts"].get("promoted", 0) for r in rs)
        reach = ""
        if target is not None and full_compute:
            shares = []
            for c in cs:
                hit = next((u for u, hv in c if hv >= target - 1e-12), None)
                shares.append(f"{hit / full_compute:.2f}" if hit is not None else ">")
            reach = ", ".join(shares)
        lines.append(
            f"| {arm} | {', '.join(f'{v:.4g}' for v in finals[arm])} | "
            f"{statistics.mean(finals[arm]):.4g} | {compute:.2f} | {wall:.0f} | "
            f"{promoted:.1f} | {reach} |"
        )
    text = "\n".join(lines)
    print(text)
    if write:
        append_section(f"### Successive halving: {dataset} on {chip} (CPU)\n\n{text}", SECTION)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chip", default="speck")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--budget", type=int, default=50)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--arms", nargs="+", default=["full:gp", "halving:gp", "full:random"])
    p.add_argument("--results", type=Path, required=True)
    p.add_argument("--from-results", action="store_true")
    p.add_argument("--write", action="store_true")
    a = p.parse_args()
    data: dict[str, Any] = {"chip": a.chip, "dataset": a.dataset, "budget": a.budget, "runs": {}}
    if a.results.is_file():
        data = json.loads(a.results.read_text())
    if not a.from_results:
        tmp = Path(tempfile.mkdtemp())
        try:
            for seed in range(a.seeds):
                for arm in a.arms:
                    runs = data["runs"].setdefault(arm, {})
                    if str(seed) in runs:
                        continue
                    out = tmp / f"{arm.replace(':', '-')}-{seed}"
                    runs[str(seed)] = run_arm(arm, a.chip, a.dataset, seed, a.budget, out)
                    print(f"{arm} seed {seed}: {runs[str(seed)]['wall_s']:.0f} s", flush=True)
                    a.results.write_text(json.dumps(data))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    shown = [x for x in sys.argv[1:] if x not in ("--from-results", "--write")]  # what measures
    report(data, "python bench/halving_bench.py " + shlex.join(shown), a.write)


if __name__ == "__main__":
    main()
