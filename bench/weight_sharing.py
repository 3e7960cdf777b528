"""Weight sharing across widths: does a candidate derived from one wide warm-up lose
accuracy against the same candidate trained at its own width?

A network of ``n`` hidden neurons is trained three ways, each ending with ``n`` neurons:

* ``direct``: float warm-up at width ``n``, no pruning (``rho`` 0);
* ``rho 0.2``, ``rho 0.4``: warm-up at ``n / 0.8`` or ``n / 0.6``, 20 % or 40 % of the neurons
  pruned by FSC, as the search does from its parent widths (a factor 2 apart, ``rho`` up to
  0.4: a parent at most 1.67 times its candidate's width);
* ``from 256``: warm-up at 256 (the space's widest), FSC prunes down to ``n``: the once-for-all
  route, where every candidate of one depth and ``T`` would share a single warm-up.

Then the same CAT fine-tune. Digits, the ``mlp`` space's training settings (12 + 6 epochs,
batch 64, lr 3e-3 / 1e-3, codebook lr 0.05), Loihi's neuron (LIF, beta 0.9, membrane readout),
T = 10, CAT M = 4 at 4 bits with the free zero. Test accuracy, mean and standard error over
seeds.

Usage: ``python bench/weight_sharing.py [--seeds 10] [--widths 16 24 48 96] [--json F]
[--write]``; ``--from-json F`` makes the table from runs kept with ``--json F``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import _common as C
import torch

from spikefit_search.compression import PipelineConfig, run_pipeline
from spikefit_search.data import load_dataset
from spikefit_search.snn import NetworkConfig

WIDEST = 256
ROUTES = ("direct", "rho 0.2", "rho 0.4", f"from {WIDEST}")


def _route(name: str, n: int) -> tuple[int, float]:
    """Warm-up width and pruning fraction of a route ending with ``n`` neurons."""
    if name == "direct":
        return n, 0.0
    if name.startswith("rho "):
        width = round(n / (1.0 - float(name.split()[1])))
        return width, 1.0 - n / width
    return WIDEST, 1.0 - n / WIDEST


def run(seeds: int, widths: list[int]) -> list[dict[str, float | int | str]]:
    data = load_dataset("digits", seed=0)
    rows: list[dict[str, float | int | str]] = []
    for seed in range(seeds):
        for n in widths:
            for route in ROUTES:
                width, rho = _route(route, n)
                net = NetworkConfig(
                    kind="mlp",
                    input_shape=data.input_shape,
                    n_classes=data.n_classes,
                    hidden=(width,),
                    timesteps=10,
                    beta=0.9,
                    encoder="rate",
                    readout="membrane",
                )
                cfg = PipelineConfig(
                    network=net,
                    n_values=4,
                    bits=4,
                    rho=rho,
                    zero_is_free=True,
                    warmup_epochs=12,
                    finetune_epochs=6,
                    batch_size=64,
                    lr=3e-3,
                    finetune_lr=1e-3,
                    codebook_lr=0.05,
                    seed=seed,
                )
                start = time.perf_counter()
                result = run_pipeline(cfg, data)
                kept = result.network.layer_specs()[0].out_channels
                assert kept == n, (route, n, kept)
                rows.append(
                    {
                        "seed": seed,
                        "n": n,
                        "route": route,
                        "test": result.test_accuracy,
                        "sops": result.activity.total_sops,
                        "seconds": time.perf_counter() - start,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict[str, float | int | str]]) -> str:
    """Each route's test accuracy, then each route's difference from ``direct``, paired by
    seed (mean ± standard error)."""
    widths = sorted({int(r["n"]) for r in rows})
    routes = [r for r in ROUTES if any(row["route"] == r for row in rows)]
    others = [r for r in routes if r != "direct"]
    lines = [
        "| hidden neurons | "
        + " | ".join(f"{r} test %" for r in routes)
        + " | "
        + " | ".join(f"{r} - direct" for r in others)
        + " |",
        "|---" * (len(routes) + len(others) + 1) + "|",
    ]

    def mean_se(values: list[float]) -> str:
        se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
        return f"{statistics.mean(values):.2f} ± {se:.2f}"

    for n in widths:
        acc = {
            route: {
                int(r["seed"]): 100 * float(r["test"])
                for r in rows
                if r["n"] == n and r["route"] == route
            }
            for route in routes
        }
        cells = [mean_se(list(acc[route].values())) for route in routes]
        for route in others:
            diff = [acc[route][s] - acc["direct"][s] for s in acc[route] if s in acc["direct"]]
            cells.append(f"**{mean_se(diff)}**")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 24, 48, 96])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write every run's figures here")
    ap.add_argument("--from-json", type=Path, help="make the table from these kept runs")
    ap.add_argument("--write", action="store_true", help="append the result to docs/benchmarks.md")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.from_json:
        rows = json.loads(args.from_json.read_text())
        args.seeds = len({r["seed"] for r in rows})
    else:
        rows = run(args.seeds, args.widths)
    if args.json:
        args.json.write_text(json.dumps(rows))
    C.report(
        "Weight sharing across widths: one wide warm-up against each width's own",
        torch.device("cpu"),
        table(rows),
        notes=f"Test accuracy on digits, mean ± standard error over {args.seeds} seeds; "
        "every route ends with the same number of hidden neurons (see the script's docstring).",
        write=args.write,
        section=C.SEARCH,
    )


if __name__ == "__main__":
    main()
