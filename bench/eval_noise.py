"""How sure one point of a search front is, and what saying so costs.

Runs the README's search (``spikefit-search --device speck --budget 50`` on digits) in a
temporary folder, then, for every trained candidate's checkpoint, times the evaluation the
pipeline makes after training (validation and test, chip-exact and float) with one encoding
draw of the validation split and with the default number of draws, and reads each
candidate's standard errors:

* ``accuracy_se``: the validation accuracy's standard error (finite split and draws together);
* its draw-to-draw part, and the binomial standard error of the single-draw accuracy;
* the paired standard error of neighbouring front points' difference.

    python bench/eval_noise.py [--budget 50] [--device speck] [--write]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import replace_section  # noqa: E402  (bench/ is the script's own folder)

from spikefit_search.compression import load_checkpoint  # noqa: E402
from spikefit_search.data import load_dataset  # noqa: E402
from spikefit_search.reporting import knee_point  # noqa: E402
from spikefit_search.reporting.run import load_run  # noqa: E402
from spikefit_search.search.records import difference_se  # noqa: E402
from spikefit_search.training import EVAL_DRAWS, evaluate  # noqa: E402
from spikefit_search.training.stats import accuracy_se  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "eval_noise_digits.json"
SECTION = "## How sure a front point is: standard errors and their cost"


def _evaluations(model: torch.nn.Module, data: object, draws: int) -> tuple[float, object]:
    """Seconds of the pipeline's closing evaluations with ``draws`` on the validation split
    (test and float scores at one draw, as the pipeline does), and the validation result."""
    start = time.perf_counter()
    val = evaluate(model, data.x_val, data.y_val, draws=draws)  # type: ignore[attr-defined]
    evaluate(model, data.x_test, data.y_test, draws=1)  # type: ignore[attr-defined]
    if model.chip_exact:  # type: ignore[attr-defined]
        evaluate(model, data.x_val, data.y_val, exact=False, draws=1)  # type: ignore[attr-defined]
        evaluate(model, data.x_test, data.y_test, exact=False, draws=1)  # type: ignore[attr-defined]
    return time.perf_counter() - start, val


def measure(budget: int, device: str) -> dict:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cmd = ["spikefit-search", "--device", device, "--budget", str(budget)]
        subprocess.run(cmd, cwd=tmp, check=True, capture_output=True)
        search_s = time.perf_counter() - start
        run_dir = next((Path(tmp) / "runs").iterdir())
        run = load_run(run_dir)
        trials = [t for t in run.trials if t.user_attrs.get("stage") == "trained"]
        front = run.pareto()
        data = load_dataset("digits", seed=0)
        added, one, many, rows = [], [], [], []
        for t in trials:
            model, _ = load_checkpoint(run_dir / "checkpoints" / f"trial_{t.number}.pt")
            s1, v1 = _evaluations(model, data, 1)
            sn, vn = _evaluations(model, data, EVAL_DRAWS)
            one.append(s1)
            many.append(sn)
            added.append(sn - s1)
            rows.append(
                {
                    "trial": t.number,
                    "accuracy_1_draw": v1.accuracy,
                    "accuracy": vn.accuracy,
                    "recorded_accuracy": t.values[0],
                    "se": vn.se,
                    "draw_se": vn.draw_se,
                    "binomial_se_1_draw": accuracy_se(v1.correct),
                    "seconds_trial": t.user_attrs.get("seconds"),
                }
            )
    pts = list(front.front)
    chord = knee_point(pts, z=0.0)  # the knee with the errors ignored
    gaps = [
        {
            "pair": [a.number, b.number],
            "gap": b.accuracy - a.accuracy,
            "paired_se": difference_se(a, b),
            "unpaired_se": float(np.hypot(a.accuracy_se, b.accuracy_se)),
        }
        for a, b in itertools.pairwise(pts)
    ]
    return {
        "command": f"spikefit-search --device {device} --budget {budget}",
        "draws": EVAL_DRAWS,
        "val_samples": len(data.y_val),
        "test_samples": len(data.y_test),
        "search_seconds": search_s,
        "trials": rows,
        "front": [p.number for p in pts],
        "knee": front.knee.number if front.knee else None,
        "chord_knee": chord.number if chord else None,
        "tied": {p.number: p.tied_with for p in pts if p.tied_with is not None},
        "neighbour_gaps": gaps,
        "eval_seconds_1_draw": statistics.mean(one),
        "eval_seconds_draws": statistics.mean(many),
        "added_seconds_per_candidate": statistics.mean(added),
        "trial_seconds_mean": statistics.mean(r["seconds_trial"] for r in rows),
        "se_median": statistics.median(r["se"] for r in rows),
        "se_range": [min(r["se"] for r in rows), max(r["se"] for r in rows)],
        "draw_se_median": statistics.median(r["draw_se"] for r in rows),
        "binomial_se_1_draw_median": statistics.median(r["binomial_se_1_draw"] for r in rows),
        "paired_se_median": statistics.median(g["paired_se"] for g in gaps) if gaps else None,
        "unpaired_se_median": statistics.median(g["unpaired_se"] for g in gaps) if gaps else None,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread",
        "torch": torch.__version__,
        "date": date.today().isoformat(),
    }


def summary(r: dict) -> str:
    pct = 100.0
    return (
        f"{SECTION}\n\n"
        f"`{r['command']}` (digits: {r['val_samples']} validation samples, {r['test_samples']} "
        f"test; {r['draws']} rate-coding draws per sample), {len(r['trials'])} trained "
        "candidates:\n\n"
        "| figure | value |\n|---|---|\n"
        f"| standard error of one point's validation accuracy, median (range) | "
        f"{pct * r['se_median']:.2f} ({pct * r['se_range'][0]:.2f}-{pct * r['se_range'][1]:.2f})"
        " points |\n"
        f"| of which draw-to-draw, median | {pct * r['draw_se_median']:.2f} points |\n"
        f"| binomial standard error of a one-draw score, median | "
        f"{pct * r['binomial_se_1_draw_median']:.2f} points |\n"
        f"| standard error of neighbouring front points' difference, paired (unpaired), "
        f"median | {pct * (r['paired_se_median'] or 0):.2f} "
        f"({pct * (r['unpaired_se_median'] or 0):.2f}) points |\n"
        f"| closing evaluation, 1 draw -> {r['draws']} draws | {r['eval_seconds_1_draw']:.3f} s "
        f"-> {r['eval_seconds_draws']:.3f} s per candidate |\n"
        f"| added seconds per candidate (mean trial {r['trial_seconds_mean']:.2f} s) | "
        f"{r['added_seconds_per_candidate']:.3f} s |\n"
        f"| front points tied with a cheaper one (within 1 SE) | {len(r['tied'])} of "
        f"{len(r['front'])} |\n"
        f"| knee (one-standard-error rule; the chord's alone) | trial {r['knee']} "
        f"(trial {r['chord_knee']}) |\n\n"
        f"Measured with `python bench/eval_noise.py --write`; machine: {r['machine']}; torch "
        f"{r['torch']}; {r['date']}. Raw figures: `bench/results/{RESULTS.name}`.\n"
    )


def write(r: dict) -> None:
    block = summary(r)
    replace_section(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--device", default="speck")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    results = measure(args.budget, args.device)
    print(summary(results))
    if args.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        write(results)


if __name__ == "__main__":
    main()
