"""Training throughput (forward + backward + Adam step), ours vs snnTorch vs SpikingJelly.

Same networks (784-256-128-10 and the digits 64-128-10), same LIF, surrogate, batch and
pre-encoded input for all (see ``_common.py``); one process, frameworks alternating, medians
of several repeats, ratios ours/theirs from the same run.

Usage: ``python bench/train_throughput.py [--device cpu|cuda] [--repeats 7] [--write]``;
``--nets rnn16 --steps 100``: the 16-128-8 recurrent network (snnTorch's ``RLeaky``,
SpikingJelly's ``LinearRecurrentContainer``), written to a section of its own.

``--first-layer``: only the 784-input first layer (forward and weight gradient), the dense
product against the event-driven one (``spikefit_search.snn.functional.event_linear``), for
several event densities; decides whether ``SPIKEFIT_EVENT_LAYER`` pays on this machine.

``--bound``: the best any first layer could do on this machine. Times, alternating in one
process, our training step, snnTorch's, our first layer's dense forward + weight gradient, and
the event-driven floor of the same two products: ``embedding_bag`` over event indices that are
*given* (their extraction, at least one ``nonzero`` per direction, left out). Our step with the
dense first layer swapped for that floor bounds ours/snnTorch from above for every event-driven
first layer built from torch's kernels.

``--encode``: rate coding alone (a batch of 784-pixel images to ``T`` steps of spikes), ours
(:func:`spikefit_search.snn.rate_encode`) against snnTorch's ``spikegen.rate`` and
SpikingJelly's ``PoissonEncoder`` applied ``T`` times: the part of a real training step that the
other figures leave out (their input is encoded once, beforehand).
"""

from __future__ import annotations

import argparse
import functools
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
    ap.add_argument("--first-layer", action="store_true", help="dense vs event first layer only")
    ap.add_argument("--bound", action="store_true", help="upper bound of an event first layer")
    ap.add_argument("--encode", action="store_true", help="rate coding alone, ours vs peers")
    args = ap.parse_args()
    dev = C.setup(args.device, args.threads)
    if args.first_layer:
        first_layer(args.batch, args.steps, args.repeats)
        return
    if args.encode:
        encode(args.batch, args.steps, args.repeats, dev, args.write)
        return
    if args.bound:
        bound(args.batch, args.steps, args.repeats, dev, args.write)
        return
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
    shared = "; ratios are from the same run" if max(spreads) > 0.15 else ""
    notes = (
        f"Training throughput, batch {args.batch}, median of {args.repeats} alternating repeats "
        f"(max spread between repeats {max(spreads):.0%} of the median{shared})."
    )
    if all(net in C.RECURRENT for net in args.nets):  # a section of their own
        notes += (
            " Recurrent hidden layer: ours `NetworkConfig(recurrent=True)`, snnTorch "
            "`nn.Linear` + `snn.RLeaky(all_to_all=True)`, SpikingJelly `layer.Linear` + "
            "`layer.LinearRecurrentContainer(LIFNode)` (bench/_common.py)."
        )
        C.report(
            "Recurrent training throughput",
            dev,
            C.table(headers, rows),
            notes,
            write=args.write,
            section="## Recurrent networks: training speed",
        )
        return
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


def first_layer(batch: int, steps_list: list[int], repeats: int) -> None:
    """Median ms of the 784 -> 256 layer's forward + weight gradient, dense and event-driven,
    alternating in one process."""
    import statistics

    import torch.nn.functional as F

    from spikefit_search.snn.functional import event_linear

    torch = C.torch
    for steps in steps_list:
        for density in (0.1, 0.2, 0.3):
            g = torch.Generator().manual_seed(0)
            x = (torch.rand(steps * batch, 784, generator=g) < density).float()
            w = torch.randn(256, 784, requires_grad=True)
            grad = torch.randn(steps * batch, 256)
            fns = {
                "dense": lambda x=x, w=w, g=grad: torch.autograd.grad(F.linear(x, w), (w,), g),
                "event": lambda x=x, w=w, g=grad: torch.autograd.grad(
                    event_linear(x, w, None), (w,), g
                ),
            }
            times: dict[str, list[float]] = {k: [] for k in fns}
            for _ in range(repeats):
                for name, fn in fns.items():
                    fn()
                    t0 = time.perf_counter()
                    for _ in range(5):
                        fn()
                    times[name].append((time.perf_counter() - t0) / 5 * 1e3)
            d, e = statistics.median(times["dense"]), statistics.median(times["event"])
            print(
                f"T={steps} density {density}: dense {d:.2f} ms, event {e:.2f} ms, "
                f"event/dense {e / d:.2f}",
                flush=True,
            )


def bound(
    batch: int, steps_list: list[int], repeats: int, dev: C.torch.device, write: bool
) -> None:
    """Upper bound of ours/snnTorch on 784-256-128-10 with an event-driven first layer whose
    indices cost nothing (see the module docstring)."""
    names = ["ours", "snntorch", "dense first layer", "event first layer, free indices"]
    rows = []
    for steps in steps_list:
        density, ms = _bound_times(batch, steps, repeats, dev)
        best = ms["ours"] - ms["dense first layer"] + ms["event first layer, free indices"]
        out = [str(steps), f"{density:.2f}"] + [f"{ms.get(k, float('nan')):.2f}" for k in names]
        out.append(f"{best:.2f}")
        if "snntorch" in ms:
            out += [f"**{ms['snntorch'] / ms['ours']:.2f}x**", f"**{ms['snntorch'] / best:.2f}x**"]
        else:
            out += ["-", "-"]
        rows.append(out)
        print(" | ".join(out), flush=True)
    headers = ["T", "event density"] + [f"{k} ms" for k in names] + ["ours, event floor ms"]
    headers += ["ours/snntorch", "bound: ours with the event floor / snntorch"]
    notes = (
        f"784-256-128-10, batch {batch}, median of {repeats} alternating repeats; a training "
        "step is forward + backward + Adam. The first layer's two products (forward, weight "
        "gradient; the input needs no gradient) dense, and as `embedding_bag` over event "
        "indices computed beforehand (untimed): no event-driven layer built from torch's "
        "kernels can be cheaper, so the last column bounds ours/snntorch from above."
    )
    title = "Training step with an event-driven first layer: upper bound"
    C.report(title, dev, C.table(headers, rows), notes, write=write)


def encode(
    batch: int, steps_list: list[int], repeats: int, dev: C.torch.device, write: bool
) -> None:
    """Samples per second of rate coding a batch of 784-pixel images to ``T`` steps."""
    from spikefit_search.snn import rate_encode

    torch = C.torch
    image = torch.rand(batch, 784, generator=torch.Generator().manual_seed(0), device=dev)
    encoders: dict[str, C.Callable[[int], object]] = {"ours": lambda s: rate_encode(image, s)}
    peers = C.available_frameworks(["snntorch", "spikingjelly"])
    if "snntorch" in peers:
        from snntorch import spikegen

        encoders["snntorch"] = lambda s: spikegen.rate(image, num_steps=s)
    if "spikingjelly" in peers:
        from spikingjelly.activation_based.encoding import PoissonEncoder

        poisson = PoissonEncoder()
        encoders["spikingjelly"] = lambda s: torch.stack([poisson(image) for _ in range(s)])
    names = list(encoders)
    rows = []
    for steps in steps_list:
        fns = {k: functools.partial(enc, steps) for k, enc in encoders.items()}
        res = C.alternate(fns, batch=batch, device=dev, repeats=repeats, iters=10)
        out = [str(steps)] + [f"{res[k].median:,.0f}" for k in names]
        out += [f"**{res['ours'].median / res[k].median:.2f}x**" for k in names[1:]]
        rows.append(out)
        print(" | ".join(out), flush=True)
    headers = ["T"] + [f"{k} samples/s" for k in names] + [f"ours/{k}" for k in names[1:]]
    notes = (
        f"Rate coding of a batch of {batch} 784-pixel images (values uniform in [0, 1]) to T "
        f"steps of 0/1 spikes, median of {repeats} alternating repeats. Ours: 16-bit draws "
        "from numpy's PCG64 on the CPU; snnTorch: `torch.bernoulli`; SpikingJelly: "
        "`torch.rand_like(x).le(x)` per step."
    )
    C.report("Rate coding throughput", dev, C.table(headers, rows), notes, write=write)


def _bound_times(
    batch: int, steps: int, repeats: int, dev: C.torch.device
) -> tuple[float, dict[str, float]]:
    """Event density and median milliseconds of each timed part for one ``T``."""
    import torch.nn.functional as F

    torch = C.torch
    x, y = C.make_batch("mlp784", steps, batch, dev)
    flat = x.reshape(steps * batch, -1)
    w = torch.randn(256, flat.shape[1], generator=torch.Generator().manual_seed(0)).to(dev)
    grad = torch.randn(flat.shape[0], 256, generator=torch.Generator().manual_seed(1)).to(dev)
    # indices by row (forward) and by input (weight gradient), computed here, not timed
    events = flat.bool()
    col = events.nonzero()[:, 1]
    src = events.t().contiguous().nonzero()[:, 1]
    per_row, per_in = events.sum(1), events.sum(0)
    offsets_row = torch.cumsum(per_row, 0) - per_row
    offsets_in = torch.cumsum(per_in, 0) - per_in
    check = F.embedding_bag(src, grad, offsets_in, mode="sum").t()
    assert torch.allclose(check, grad.t().mm(flat), atol=1e-3)

    def dense() -> None:
        F.linear(flat, w)
        grad.t().mm(flat)

    def event() -> None:
        F.embedding_bag(col, w.t().contiguous(), offsets_row, mode="sum")
        F.embedding_bag(src, grad, offsets_in, mode="sum")

    fns = {
        fw: C.train_step_fn(C.build(fw, "mlp784", steps, dev), x, y)
        for fw in C.available_frameworks(["ours", "snntorch"])
    }
    fns |= {"dense first layer": dense, "event first layer, free indices": event}
    res = C.alternate(fns, batch=batch, device=dev, repeats=repeats, iters=10)
    return float(events.float().mean()), {k: batch / t.median * 1e3 for k, t in res.items()}


if __name__ == "__main__":
    main()
