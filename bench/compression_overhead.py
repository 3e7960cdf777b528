"""CAT and FSC overhead: a training epoch with CAT codebooks (4 values, 4 bits) against the
same epoch in float, and Fisher Spike Contribution scoring against one training epoch.

Synthetic MNIST-shaped data (784 inputs, rate-coded by the network itself), 784-256-128-10,
T = 8, batch 128, an epoch of ``--batches`` batches; float and CAT epochs alternate.

Usage: ``python bench/compression_overhead.py [--device cpu|cuda] [--repeats 5] [--write]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import _common as C
import torch
import torch.nn.functional as F

from spikefit_search.snn import NetworkConfig, SpikingNetwork


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--calib", type=int, default=1024, help="FSC calibration samples")
    ap.add_argument("--write", action="store_true", help="append the result to docs/benchmarks.md")
    args = ap.parse_args()
    dev = C.setup(args.device, args.threads)
    try:
        from spikefit_search.compression import attach_quantizers, fisher_spike_contribution
    except ImportError as exc:
        print(f"TODO: spikefit_search.compression not importable ({exc}); nothing measured.")
        return
    cfg = NetworkConfig(input_shape=(1, 28, 28), hidden=(256, 128), timesteps=8)
    g = torch.Generator().manual_seed(0)
    n = args.batches * 128
    x = (torch.rand(n, 1, 28, 28, generator=g) * 0.5).to(dev)
    y = torch.randint(0, 10, (n,), generator=g).to(dev)
    torch.manual_seed(0)
    models = {"float": SpikingNetwork(cfg).to(dev), "CAT": SpikingNetwork(cfg).to(dev)}
    attach_quantizers(models["CAT"], "cat", n_values=4, bits=4)
    models["CAT"].to(dev)
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}

    def epoch(kind: str) -> float:
        m, opt = models[kind], opts[kind]
        C.sync(dev)
        t0 = time.perf_counter()
        for i in range(0, n, 128):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(x[i : i + 128]), y[i : i + 128]).backward()
            opt.step()
        C.sync(dev)
        return time.perf_counter() - t0

    def fsc() -> float:
        C.sync(dev)
        t0 = time.perf_counter()
        fisher_spike_contribution(models["float"], x[: args.calib], y[: args.calib])
        C.sync(dev)
        return time.perf_counter() - t0

    epoch("float"), epoch("CAT"), fsc()  # warm-up
    times: dict[str, list[float]] = {"float": [], "CAT": [], "FSC": []}
    for r in range(args.repeats):
        order = ["float", "CAT"] if r % 2 == 0 else ["CAT", "float"]
        for kind in order:
            times[kind].append(epoch(kind))
        times["FSC"].append(fsc())
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [
        ["float epoch", f"{med['float']:.2f}", "1.00", ""],
        [
            "CAT epoch (M=4, b=4)",
            f"{med['CAT']:.2f}",
            f"**{med['CAT'] / med['float']:.2f}x**",
            "target <= 1.3x",
        ],
        [
            f"FSC scoring ({args.calib} calibration samples)",
            f"{med['FSC']:.2f}",
            f"{med['FSC'] / med['float']:.2f}x",
            "vs one float epoch",
        ],
    ]
    notes = (
        f"784-256-128-10, T=8, batch 128, epoch = {n} samples; median of {args.repeats} "
        "alternating repeats."
    )
    C.report(
        "CAT and FSC overhead",
        dev,
        C.table(["what", "seconds", "relative to a float epoch", "note"], rows),
        notes,
        write=args.write,
        section=C.COMPRESSION,
    )


if __name__ == "__main__":
    main()
