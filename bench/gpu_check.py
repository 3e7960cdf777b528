"""GPU check: the fused Triton LIF kernels against the torch path, then the
training-throughput bench on CUDA.

(a) On CUDA, for both resets, beta < 1 and beta = 1, fast-sigmoid and arctan surrogates and a
few shapes: spikes must be identical and input gradients within 1e-5 between the Triton path
(``spikefit_search.snn._triton``) and the torch path (forced with ``_triton.ENABLED = False``),
and the Triton path must match the per-step reference :func:`lif_step`.
(b) Training throughput (batch 128 to 4096, T = 8 and 25, 784-256-128-10): ours with Triton,
ours on the torch path, and snnTorch / SpikingJelly when they import (skipped otherwise).

Needs only torch (+ triton for the fused path) and this package's ``snn`` module.

Usage: ``python bench/gpu_check.py [--write] [--repeats 5] [--batches 128 1024 4096]``
Exit status 1 when a check in (a) fails.
"""

from __future__ import annotations

import argparse
import sys

import _common as C
import torch

from spikefit_search.snn import SURROGATES, LIFParameters, _triton, lif_multistep, lif_step


def _run(x: torch.Tensor, g: torch.Tensor, p: LIFParameters, name: str, triton: bool):
    _triton.ENABLED = triton
    try:
        xr = x.clone().requires_grad_()
        s = lif_multistep(xr, p, SURROGATES.get(name))
        (s * g).sum().backward()
        with torch.no_grad():
            s_inf = lif_multistep(x, p, SURROGATES.get(name))
        assert xr.grad is not None
        return s.detach(), xr.grad, s_inf
    finally:
        _triton.ENABLED = True


def _reference(x: torch.Tensor, g: torch.Tensor, p: LIFParameters, name: str):
    xr = x.clone().requires_grad_()
    state = None
    outs = []
    for t in range(x.shape[0]):
        s, state = lif_step(xr[t], state, p, SURROGATES.get(name))
        outs.append(s)
    s_all = torch.stack(outs)
    (s_all * g).sum().backward()
    assert xr.grad is not None
    return s_all.detach(), xr.grad


def check_kernels(dev: torch.device) -> list[str]:
    failures: list[str] = []
    print(f"triton available: {_triton.available()}")
    if not _triton.available():
        failures.append("triton path unavailable on this CUDA machine (import failed)")
        return failures
    torch.manual_seed(0)
    for reset in ("subtract", "zero"):
        for beta in (0.9, 1.0):
            for name in ("fast_sigmoid", "arctan"):
                for steps, shape in (
                    (1, (7, 5)),
                    (8, (128, 256)),
                    (25, (33, 129)),
                    (25, (4096, 128)),
                ):
                    p = LIFParameters(beta, 1.0, reset)
                    x = torch.randn(steps, *shape, device=dev) * 0.8 + 0.3
                    g = torch.randn_like(x)
                    s_tr, g_tr, i_tr = _run(x, g, p, name, triton=True)
                    s_to, g_to, i_to = _run(x, g, p, name, triton=False)
                    s_rf, g_rf = _reference(x, g, p, name)
                    tag = f"reset={reset} beta={beta} {name} T={steps} shape={shape}"
                    ok = (
                        torch.equal(s_tr, s_to)
                        and torch.equal(s_tr, s_rf)
                        and torch.equal(i_tr, s_tr)
                        and torch.equal(i_to, s_to)
                    )
                    err_torch = (g_tr - g_to).abs().max().item()
                    err_ref = (g_tr - g_rf).abs().max().item()
                    ok = ok and err_torch <= 1e-5 and err_ref <= 1e-5
                    print(
                        f"{'ok  ' if ok else 'FAIL'} {tag}: grad max|diff| vs torch "
                        f"{err_torch:.2e}, vs lif_step {err_ref:.2e}"
                    )
                    if not ok:
                        failures.append(tag)
    return failures


def throughput(dev: torch.device, batches: list[int], repeats: int, write: bool) -> None:
    fws = C.available_frameworks()
    rows: list[list[str]] = []
    for steps in (8, 25):
        for batch in batches:
            x, y = C.make_batch("mlp784", steps, batch, dev)
            fns = {fw: C.train_step_fn(C.build(fw, "mlp784", steps, dev), x, y) for fw in fws}
            torch_path = C.train_step_fn(C.build("ours", "mlp784", steps, dev), x, y)

            def ours_torch(fn=torch_path) -> None:
                _triton.ENABLED = False
                try:
                    fn()
                finally:
                    _triton.ENABLED = True

            fns["ours (torch path)"] = ours_torch
            res = C.alternate(fns, batch=batch, device=dev, repeats=repeats, iters=10, warmup=3)
            ours = res["ours"].median
            names = list(fns)
            row = [str(steps), str(batch)] + [f"{res[n].median:,.0f}" for n in names]
            row += [f"**{ours / res[n].median:.2f}x**" for n in names[1:]]
            rows.append(row)
            print(" | ".join(row), flush=True)
    names = [*fws, "ours (torch path)"]
    headers = ["T", "batch"] + [f"{n} samples/s" for n in names]
    headers += [f"ours/{n}" for n in names[1:]]
    notes = (
        "784-256-128-10 training throughput on CUDA, median of "
        f"{repeats} alternating repeats; 'ours' uses the fused Triton recurrence. "
        "GPU figures never compare with CPU ones."
    )
    C.report("GPU training throughput", dev, C.table(headers, rows), notes, write=write)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batches", type=int, nargs="+", default=[128, 1024, 4096])
    ap.add_argument("--write", action="store_true", help="append the result to docs/benchmarks.md")
    ap.add_argument("--skip-bench", action="store_true")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check needs CUDA; nothing to do on this machine.")
        return
    dev = torch.device("cuda")
    failures = check_kernels(dev)
    if not args.skip_bench:
        throughput(dev, args.batches, args.repeats, write=args.write)
    if failures:
        print(f"{len(failures)} kernel check(s) failed:", *failures, sep="\n  ")
        sys.exit(1)
    print("all kernel checks passed")


if __name__ == "__main__":
    main()
