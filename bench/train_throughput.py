"""Training throughput (forward + backward + Adam step), ours vs snnTorch vs SpikingJelly.

Same networks (784-256-128-10 and the digits 64-128-10), same LIF, surrogate, batch and
pre-encoded input for all (see ``_common.py``); one process, frameworks alternating, medians
of several repeats, ratios ours/theirs from the same run.

Usage: ``python bench/train_throughput.py [--device cpu|cuda] [--repeats 7] [--write]``
"""

from __future__ import annotations

import argparse
import time

import _common as C


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, nargs="+", default=[8, 25])
    ap.add_argument("--nets", nargs="+", default=list(C.NETWORKS), choices=list(C.NETWORKS))
    ap.add_argument("--frameworks", nargs="+", default=list(C.FRAMEWORKS))
    ap.add_argument("--target-s", type=float, default=0.4, help="seconds per timed block")
    ap.add_argument("--write", action="store_true", help="append the result to docs/benchmarks.md")
    args = ap.parse_args()
    dev = C.setup(args.device, args.threads)
    fws = C.available_frameworks(args.frameworks)
    rows: list[list[str]] = []
    spreads: list[float] = []
    for net in args.nets:
        for steps in args.steps:
            x, y = C.make_batch(net, steps, args.batch, dev)
            fns = {fw: C.train_step_fn(C.build(fw, net, steps, dev), x, y) for fw in fws}
            iters = calibrate(fns, dev, args.target_s)
            res = C.alternate(fns, batch=args.batch, device=dev, repeats=args.repeats, iters=iters)
            ours = res["ours"].median
            spreads += [t.spread for t in res.values()]
            row = [C.NAMES[net], str(steps)]
            for fw in fws:
                row.append(f"{res[fw].median:,.0f}")
            for fw in fws[1:]:
                row.append(f"**{ours / res[fw].median:.2f}x**")
            rows.append(row)
            print(" | ".join(row), flush=True)
    headers = ["network", "T"] + [f"{fw} samples/s" for fw in fws]
    headers += [f"ours/{fw}" for fw in fws[1:]]
    shared = "; the machine was shared, ratios are from the same run" if max(spreads) > 0.15 else ""
    notes = (
        f"Training throughput, batch {args.batch}, median of {args.repeats} alternating repeats "
        f"(max spread between repeats {max(spreads):.0%} of the median{shared})."
    )
    C.report("Training throughput", dev, C.table(headers, rows), notes, write=args.write)


def calibrate(fns: dict[str, C.Callable[[], None]], dev: C.torch.device, target_s: float) -> int:
    """Iterations per timed block so the slowest framework takes about ``target_s``."""
    worst = 0.0
    for fn in fns.values():
        fn()
        C.sync(dev)
        t0 = time.perf_counter()
        fn()
        C.sync(dev)
        worst = max(worst, time.perf_counter() - t0)
    return max(2, min(200, round(target_s / max(worst, 1e-4))))


if __name__ == "__main__":
    main()
