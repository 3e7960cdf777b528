"""Scaling of spikefit-search's training throughput with batch size, ``T`` and synapses.

Cost should grow linearly in ``T`` and in synapses: the table gives the time per
(sample x step) and per (sample x step x synapse) normalised to the first row of each sweep
(1.00 = perfectly linear; below 1 = fixed overheads amortised).

Usage: ``python bench/scaling.py [--device cpu|cuda] [--repeats 5] [--write]``
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import _common as C
import torch


def samples_per_s(
    widths: tuple[int, ...], steps: int, batch: int, dev: torch.device, repeats: int
) -> float:
    C.NETWORKS["_scan"] = widths
    model = C.build("ours", "_scan", steps, dev)
    x, y = C.make_batch("_scan", steps, batch, dev)
    fn = C.train_step_fn(model, x, y)
    for _ in range(2):
        fn()
    C.sync(dev)
    t0 = time.perf_counter()
    fn()
    C.sync(dev)
    iters = max(2, min(100, round(0.3 / max(time.perf_counter() - t0, 1e-4))))
    rates = []
    for _ in range(repeats):
        C.sync(dev)
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        C.sync(dev)
        rates.append(iters * batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="append the result to docs/benchmarks.md")
    args = ap.parse_args()
    dev = C.setup(args.device, args.threads)
    big = dev.type == "cuda"
    base = (784, 256, 128, 10)
    rows: list[list[str]] = []

    def add(sweep: str, widths: tuple[int, ...], steps: int, batch: int, ref: list[float]) -> None:
        rate = samples_per_s(widths, steps, batch, dev, args.repeats)
        synapses = sum(a * b for a, b in itertools.pairwise(widths))
        per_step = 1.0 / (rate * steps)  # seconds per sample-step
        per_syn = per_step / synapses
        if not ref:
            ref += [per_step, per_syn]
        rows.append(
            [
                sweep,
                "-".join(map(str, widths)),
                str(steps),
                str(batch),
                f"{rate:,.0f}",
                f"{per_step / ref[0]:.2f}",
                f"{per_syn / ref[1]:.2f}",
            ]
        )
        print(" | ".join(rows[-1]), flush=True)

    ref: list[float] = []
    for batch in [128, 512, 2048, 8192] if big else [32, 64, 128, 256, 512]:
        add("batch", base, 8, batch, ref)
    ref = []
    for steps in (4, 8, 16, 25, 50, 100):
        add("T", base, steps, 128, ref)
    ref = []
    for hidden in (64, 128, 256, 512, 1024):
        add("synapses", (784, hidden, hidden // 2, 10), 8, 128, ref)
    headers = [
        "sweep",
        "network",
        "T",
        "batch",
        "samples/s",
        "time/(sample*step) rel.",
        "time/(sample*step*synapse) rel.",
    ]
    notes = "spikefit-search alone, training step (forward + backward + Adam), median of repeats."
    C.report("Scaling", dev, C.table(headers, rows), notes, write=args.write)


if __name__ == "__main__":
    main()
