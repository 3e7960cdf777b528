"""Inference throughput (alternating, one process) and peak memory (a fresh process per
framework) of the same networks, ours vs snnTorch vs SpikingJelly.

Peak memory on CPU: ``VmHWM - VmRSS`` from ``/proc/self/status`` around the measured work in a
fresh child process (model and input already built, so the figure is what the forward/backward
pass and the optimizer add). On CUDA: ``torch.cuda.max_memory_allocated`` minus the allocation
before the work.

Usage: ``python bench/inference_memory.py [--device cpu|cuda] [--repeats 7] [--write]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _common as C
import torch


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def child(fw: str, net: str, steps: int, batch: int, mode: str, device: str, threads: int) -> None:
    dev = C.setup(device, threads)
    model = C.build(fw, net, steps, dev)
    # warm every code path on a 2-sample batch first, so lazy imports and one-off buffers
    # do not count; then measure the real batch
    wx, wy = C.make_batch(net, steps, 2, dev)
    warm = C.train_step_fn(model, wx, wy) if mode == "train" else C.infer_step_fn(model, wx)
    warm()
    x, y = C.make_batch(net, steps, batch, dev)
    fn = C.train_step_fn(model, x, y) if mode == "train" else C.infer_step_fn(model, x)
    if dev.type == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        peak_mib = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        base = _status_kib("VmRSS")
        for _ in range(3):
            fn()
        peak_mib = (_status_kib("VmHWM") - base) / 1024
    print(json.dumps({"peak_mib": peak_mib}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, nargs="+", default=[8, 25])
    ap.add_argument("--nets", nargs="+", default=list(C.NETWORKS), choices=list(C.NETWORKS))
    ap.add_argument("--frameworks", nargs="+", default=list(C.FRAMEWORKS))
    ap.add_argument("--write", action="store_true", help="append the result to docs/benchmarks.md")
    ap.add_argument("--child", nargs=5, metavar=("FW", "NET", "T", "BATCH", "MODE"))
    args = ap.parse_args()
    if args.child:
        fw, net, steps, batch, mode = args.child
        child(fw, net, int(steps), int(batch), mode, args.device, args.threads)
        return
    dev = C.setup(args.device, args.threads)
    fws = C.available_frameworks(args.frameworks)
    rows: list[list[str]] = []
    for net in args.nets:
        for steps in args.steps:
            x, _ = C.make_batch(net, steps, args.batch, dev)
            fns = {fw: C.infer_step_fn(C.build(fw, net, steps, dev), x) for fw in fws}
            iters = 20 if net == "digits" else 8
            res = C.alternate(fns, batch=args.batch, device=dev, repeats=args.repeats, iters=iters)
            mem: dict[str, dict[str, float]] = {}
            for fw in fws:
                mem[fw] = {}
                for mode in ("train", "infer"):
                    out = C.run_child(
                        [
                            str(Path(__file__).resolve()),
                            "--device",
                            args.device,
                            "--threads",
                            str(args.threads),
                            "--child",
                            fw,
                            net,
                            str(steps),
                            str(args.batch),
                            mode,
                        ]
                    )
                    mem[fw][mode] = float(out["peak_mib"])  # type: ignore[arg-type]
            ours = res["ours"].median
            row = [C.NAMES[net], str(steps)]
            row += [f"{res[fw].median:,.0f}" for fw in fws]
            row += [f"**{ours / res[fw].median:.2f}x**" for fw in fws[1:]]
            row += [f"{mem[fw]['train']:.0f} / {mem[fw]['infer']:.0f}" for fw in fws]
            rows.append(row)
            print(" | ".join(row), file=sys.stderr, flush=True)
    headers = ["network", "T"] + [f"{fw} infer samples/s" for fw in fws]
    headers += [f"ours/{fw}" for fw in fws[1:]]
    headers += [f"{fw} peak MiB train / infer" for fw in fws]
    notes = (
        f"Inference (`torch.inference_mode`), batch {args.batch}, median of {args.repeats} "
        "alternating repeats. Peak memory: extra "
        + ("CUDA allocation" if dev.type == "cuda" else "resident memory (VmHWM - VmRSS)")
        + " over the built model and input during 3 training steps / 3 inference passes, "
        "fresh process per framework."
    )
    C.report(
        "Inference throughput and peak memory",
        dev,
        C.table(headers, rows),
        notes,
        write=args.write,
    )


if __name__ == "__main__":
    main()
