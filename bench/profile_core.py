"""torch.profiler summary of one framework's training step (top ops by self CPU time).

``--functional FILE`` swaps in another ``functional.py`` (e.g. the package skeleton's version from
``git show 07c2cdc:spikefit_search/snn/functional.py``) for a before/after comparison.

Usage: ``python bench/profile_core.py [--net mlp784] [--steps 8] [--framework ours]``
"""

from __future__ import annotations

import argparse
import importlib.util

import _common as C
from torch.profiler import ProfilerActivity, profile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--net", default="mlp784", choices=list(C.NETWORKS))
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--framework", default="ours", choices=list(C.FRAMEWORKS))
    ap.add_argument("--functional", help="path of an alternative functional.py for 'ours'")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--rows", type=int, default=12)
    args = ap.parse_args()
    dev = C.setup(args.device, args.threads)
    if args.functional:
        spec = importlib.util.spec_from_file_location("alt_functional", args.functional)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        C._network.lif_multistep = mod.lif_multistep  # type: ignore[attr-defined]
    x, y = C.make_batch(args.net, args.steps, 128, dev)
    step = C.train_step_fn(C.build(args.framework, args.net, args.steps, dev), x, y)
    for _ in range(3):
        step()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=acts) as prof:
        for _ in range(args.iters):
            step()
        C.sync(dev)
    key = "self_cuda_time_total" if dev.type == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=args.rows))


if __name__ == "__main__":
    main()
