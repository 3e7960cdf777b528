# ruff: noqa: E501  (report strings and table rows read better on one line)
"""Rank SpikeFit compression against its baselines on Fashion-MNIST .

One command (about 35 minutes per seed on one CPU thread with the defaults)::

    python bench/compression_fashion.py --write

or one process per seed, then ``--merge`` of their JSON files.

MLP 784-256-10, rate-coded, T=10, full Fashion-MNIST (49k train / 9k val / 2k calibration
carved from the 60k training set; 10k test). For every seed one float warm-up is shared by all
methods; every method then gets the same fine-tune epochs and learning rates (latent weights
3e-4, CAT codebook the pipeline's default). The float control is the warm-up fine-tuned in float
for the same epochs; post-training k-means clusters it. Prints a table (with the bit-width sweep
b = 2..8 at M = min(4, 2^b - 1)), writes raw numbers to ``bench/results/compression_fashion.json``
and, with ``--write``, appends the table to the compression section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from spikefit_search.compression import (
    BaseQuantizer,
    PipelineConfig,
    attach_quantizers,
    codebook_usage,
    finetune_optimizer,
    prune_neurons,
    run_pipeline,
    warm_up,
)
from spikefit_search.compression.pipeline import SCALE_LR_FACTOR
from spikefit_search.data import load_dataset
from spikefit_search.snn import NetworkConfig, SpikingNetwork
from spikefit_search.training import evaluate, fit

ROOT = Path(__file__).resolve().parents[1]

# name -> PipelineConfig overrides (applied to the shared base config)
METHODS: dict[str, dict[str, Any]] = {
    "float control": {"quantization": "none"},
    "CAT M=4 b=4": {"quantization": "cat", "n_values": 4, "bits": 4},
    "uniform QAT b=2 (4 levels)": {"quantization": "uniform", "bits": 2},
    "k-means M=4 b=4 (post-training)": {"quantization": "kmeans", "n_values": 4, "bits": 4},
    "CAT M=2 b=4": {"quantization": "cat", "n_values": 2, "bits": 4},
    "ternary CAT M=2 b=2 free zero": {
        "quantization": "cat",
        "n_values": 2,
        "bits": 2,
        "zero_is_free": True,
    },
    "CAT M=4 b=4 free zero": {
        "quantization": "cat",
        "n_values": 4,
        "bits": 4,
        "zero_is_free": True,
    },
    "CAT M=4 b=4 free zero, half the synapses at zero": {
        "quantization": "cat",
        "n_values": 4,
        "bits": 4,
        "zero_is_free": True,
        "zero_fraction": 0.5,
    },
    "rho=0.5 FSC + CAT M=4": {"quantization": "cat", "rho": 0.5, "neuron_pruning": "fsc"},
    "rho=0.5 FSC + CAT M=4 free zero": {
        "quantization": "cat",
        "rho": 0.5,
        "neuron_pruning": "fsc",
        "zero_is_free": True,
    },
}
LAST_MAIN = "rho=0.5 FSC + CAT M=4"
# bit-width sweep at M = min(4, 2^b - 1): CAT, uniform QAT (all 2^b levels), post-training k-means
SWEEP_BITS = (2, 3, 4, 5, 6, 7, 8)


def sweep_name(method: str, bits: int) -> str:
    m = min(4, 2**bits - 1)
    return {
        "cat": f"CAT M={m} b={bits}",
        "uniform": f"uniform QAT b={bits} ({2**bits} levels)",
        "kmeans": f"k-means M={m} b={bits} (post-training)",
    }[method]


for _b in SWEEP_BITS:
    for _method in ("cat", "uniform", "kmeans"):
        _cfg: dict[str, Any] = {"quantization": _method, "bits": _b}
        if _method != "uniform":
            _cfg["n_values"] = min(4, 2**_b - 1)
        METHODS.setdefault(sweep_name(_method, _b), _cfg)
PRUNE_RULES = ("fsc", "magnitude", "random")

# Ablation (--ablation): one of the M values starts at zero.
ABLATION: dict[str, dict[str, Any]] = {
    "float control": METHODS["float control"],
    "CAT M=4 b=4": METHODS["CAT M=4 b=4"],
    "CAT M=4 b=4, kmeans_zero init": {**METHODS["CAT M=4 b=4"], "codebook_init": "kmeans_zero"},
    "rho=0.5 FSC + CAT M=4, kmeans_zero init": {
        **METHODS["rho=0.5 FSC + CAT M=4"],
        "codebook_init": "kmeans_zero",
    },
}


def distinct_nonzero(model: SpikingNetwork) -> int:
    """Largest number of distinct non-zero weights in any layer's scope."""
    worst = 0
    for layer in model.synaptic_layers:
        w = layer.effective_weight().detach()
        q = layer.weight_transform
        rows = (
            w.reshape(w.shape[0], -1)
            if isinstance(q, BaseQuantizer) and q.scope == "neuron"
            else w.reshape(1, -1)
        )
        for row in rows:
            worst = max(worst, int(torch.unique(row[row != 0]).numel()))
    return worst


def run_seed(
    seed: int,
    data: Any,
    args: argparse.Namespace,
    log: Any,
    methods: dict[str, dict[str, Any]],
    save: Any = None,
) -> dict[str, Any]:
    net = NetworkConfig(
        kind="mlp", input_shape=(1, 28, 28), n_classes=10, hidden=(256,), timesteps=10
    )
    base = PipelineConfig(
        network=net,
        warmup_epochs=args.warmup_epochs,
        finetune_epochs=args.finetune_epochs,
        batch_size=128,
        lr=3e-3,
        finetune_lr=3e-4,
        seed=seed,
        schedule=args.schedule,
    )
    out: dict[str, Any] = {"seed": seed, "methods": {}, "pruned_before_finetune": {}}
    t0 = time.perf_counter()
    warm, losses = warm_up(base, data, device=args.device)
    out["warmup_seconds"] = time.perf_counter() - t0
    out["warmup_losses"] = losses
    out["warmup_test_accuracy"] = evaluate(warm, data.x_test, data.y_test).accuracy
    log(f"seed {seed}: warm-up {out['warmup_seconds']:.0f}s test {out['warmup_test_accuracy']:.4f}")
    for rule in PRUNE_RULES if methods is METHODS else ():
        pruned = prune_neurons(warm, 0.5, method=rule, x=data.x_calib, y=data.y_calib, seed=seed)
        acc = evaluate(pruned, data.x_test, data.y_test).accuracy
        out["pruned_before_finetune"][rule] = acc
        log(f"seed {seed}: prune {rule} before fine-tune test {acc:.4f}")
    control: SpikingNetwork | None = None
    for name, overrides in methods.items():
        cfg = PipelineConfig.from_dict({**base.to_dict(), **overrides})
        if cfg.quantization == "kmeans" and control is not None and cfg.rho == 0:
            # post-training k-means is the float control (same warm-up, same float fine-tune,
            # same seed) clustered afterwards: cluster a copy of it instead of training again
            t0 = time.perf_counter()
            model = copy.deepcopy(control)
            attach_quantizers(model, "kmeans", n_values=cfg.n_values, bits=cfg.bits)
            val, test = (
                evaluate(model, data.x_val, data.y_val),
                evaluate(model, data.x_test, data.y_test),
            )
            acc, val_acc, sops = test.accuracy, val.accuracy, test.activity.total_sops
            seconds, hidden, losses = time.perf_counter() - t0, list(model.config.hidden_sizes), []
        else:
            r = run_pipeline(cfg, data, warm_start=warm, device=args.device)
            model, acc, val_acc, sops = (
                r.model,
                r.test_accuracy,
                r.val_accuracy,
                r.activity.total_sops,
            )
            seconds, hidden, losses = r.seconds, list(r.network.hidden_sizes), r.losses
            if cfg.quantization == "none" and cfg.rho == 0:
                control = r.model
        usage = codebook_usage(model)
        out["methods"][name] = {
            "test_accuracy": acc,
            "val_accuracy": val_acc,
            "sops": sops,
            "seconds": seconds,
            "hidden": hidden,
            "max_distinct_nonzero": distinct_nonzero(model),
            "usage": None if usage is None else usage.to_dict(),
            "finetune_losses": losses,
        }
        extra = (
            "" if usage is None else f" eff {usage.effective_values:.2f} drift {usage.drift:.2f}"
        )
        log(f"seed {seed}: {name}: test {acc:.4f} sops {sops:.0f} {seconds:.0f}s{extra}")
        if save is not None:
            save(out)
        if (methods is METHODS and name == LAST_MAIN) or (
            args.epoch_cost and name == "float control"
        ):
            # the epoch cost before the sweep, so that a cut-short run still has it
            out["epoch_seconds"] = epoch_cost(warm, base, data)
            log(f"seed {seed}: epoch seconds {out['epoch_seconds']}")
    return out


def epoch_cost(
    warm: SpikingNetwork, base: PipelineConfig, data: Any, pairs: int = 8, batches: int = 40
) -> dict[str, float]:
    """Seconds of one training epoch (49k samples at the benchmark's batch size), float vs CAT
    M=4 b=4, evaluation excluded.

    ``pairs`` interleaved pairs of short timings (``batches`` batches each, the order within a
    pair alternating), each scaled to a full epoch: ``float`` and ``cat`` are the medians,
    ``ratio`` the median of the per-pair ratios, so that a drift in the machine's speed (this
    VM's float epoch varied by 50 % with nothing else running) falls on both sides of a pair.
    """
    n = min(batches * base.batch_size, len(data.y_train))
    models = {"float": copy.deepcopy(warm), "cat": copy.deepcopy(warm)}
    attach_quantizers(models["cat"], "cat", n_values=4, bits=4)
    cfg = PipelineConfig.from_dict({**base.to_dict(), "quantization": "cat"})
    optimizers = {kind: finetune_optimizer(m, cfg) for kind, m in models.items()}

    def timed(kind: str, start: int) -> float:
        x, y = data.x_train[start : start + n], data.y_train[start : start + n]
        t0 = time.perf_counter()
        fit(
            models[kind],
            x,
            y,
            epochs=1,
            batch_size=base.batch_size,
            optimizer=optimizers[kind],
            seed=0,
        )
        return (time.perf_counter() - t0) * len(data.y_train) / len(y)

    for kind in models:  # untimed: first-call allocations
        timed(kind, 0)
    times: dict[str, list[float]] = {"float": [], "cat": []}
    for i in range(pairs):
        start = (i * n) % max(1, len(data.y_train) - n)
        for kind in ("float", "cat") if i % 2 == 0 else ("cat", "float"):
            times[kind].append(timed(kind, start))
    ratios = [c / f for c, f in zip(times["cat"], times["float"], strict=True)]
    return {
        "float": statistics.median(times["float"]),
        "cat": statistics.median(times["cat"]),
        "ratio": statistics.median(ratios),
        "pairs": float(pairs),
    }


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(runs: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    names = [n for n in METHODS if all(n in r["methods"] for r in runs)]
    acc: dict[str, tuple[float, float]] = {}
    sop: dict[str, tuple[float, float]] = {}
    for name in names:
        acc[name] = mean_sd([100 * r["methods"][name]["test_accuracy"] for r in runs])
        sop[name] = mean_sd(
            [r["methods"][name]["sops"] / r["methods"]["float control"]["sops"] for r in runs]
        )
    before = {
        rule: mean_sd(
            [100 * r["pruned_before_finetune"][rule] for r in runs if r["pruned_before_finetune"]]
            or [float("nan")]
        )
        for rule in PRUNE_RULES
    }
    warm = mean_sd([100 * r["warmup_test_accuracy"] for r in runs])
    ratio = mean_sd(
        [
            r["epoch_seconds"].get("ratio", r["epoch_seconds"]["cat"] / r["epoch_seconds"]["float"])
            for r in runs
            if "epoch_seconds" in r
        ]
        or [float("nan")]
    )
    ctrl = acc["float control"][0]

    def yes(ok: bool) -> str:
        return "met" if ok else "**missed**"

    def usage(name: str) -> tuple[str, str]:
        used = [r["methods"][name].get("usage") for r in runs]
        if any(u is None for u in used):
            return "-", "-"
        eff = statistics.fmean(u["effective_values"] for u in used)
        low = min(u["effective_values_min"] for u in used)
        drifts = [u["codebook_drift"] for u in used]
        drift = "-" if any(d != d for d in drifts) else f"{statistics.fmean(drifts):.2f}"
        return f"{eff:.2f} (min {low})", drift

    def a(name: str) -> float:
        return acc[name][0]

    def so(name: str) -> float:
        return sop[name][0]

    def free_zero(name: str) -> str:  # the target for the free zero code
        return (
            f"SOPs <= 0.5x and >= control - 1 pt: {yes(so(name) <= 0.5 and ctrl - a(name) <= 1.0)}"
        )

    def half_pruned(name: str) -> str:  # the target for rho = 0.5
        return f">= 85.5% and SOPs <= 0.52x: {yes(a(name) >= 85.5 and so(name) <= 0.52)}"

    cat4, u2, km4 = "CAT M=4 b=4", "uniform QAT b=2 (4 levels)", "k-means M=4 b=4 (post-training)"
    tern, fz, pr = "ternary CAT M=2 b=2 free zero", "CAT M=4 b=4 free zero", "rho=0.5 FSC + CAT M=4"
    fz50 = "CAT M=4 b=4 free zero, half the synapses at zero"
    prz = "rho=0.5 FSC + CAT M=4 free zero"
    rules: dict[str, tuple[tuple[str, ...], Any]] = {
        cat4: (
            (cat4,),
            lambda: (
                f"within 0.7 pt of float control ({a(cat4) - ctrl:+.2f}): {yes(ctrl - a(cat4) <= 0.7)}"
                + (
                    f"; ahead of uniform 2-bit QAT by >= 0.3 ({a(cat4) - a(u2):+.2f}): {yes(a(cat4) - a(u2) >= 0.3)}"
                    if u2 in acc
                    else ""
                )
            ),
        ),
        km4: ((cat4, km4), lambda: f"CAT M=4 ahead by {a(cat4) - a(km4):+.2f}"),
        "CAT M=2 b=4": (("CAT M=2 b=4",), lambda: f">= 84%: {yes(a('CAT M=2 b=4') >= 84.0)}"),
        tern: (
            (tern,),
            lambda: f">= 84% and SOPs <= 0.5x: {yes(a(tern) >= 84.0 and so(tern) <= 0.5)}",
        ),
        fz: ((fz,), lambda: free_zero(fz)),
        fz50: ((fz50,), lambda: free_zero(fz50)),
        pr: ((pr,), lambda: half_pruned(pr)),
        prz: ((prz,), lambda: f"report ({half_pruned(prz)})"),
    }
    targets = {n: text() for n, (needs, text) in rules.items() if all(k in acc for k in needs)}
    main_rows = ["float control", cat4, u2, km4, "CAT M=2 b=4", tern, fz, fz50, pr, prz]
    lines = [
        "| method | test acc % (mean ± sd) | vs float control | SOPs/sample vs float | distinct non-zero values per scope: mean (min) | codebook drift, grid steps | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in [n for n in main_rows if n in acc]:
        m, sd = acc[name]
        r_m, r_s = sop[name]
        eff, drift = usage(name)
        lines.append(
            f"| {name} | {m:.2f} ± {sd:.2f} | {m - ctrl:+.2f} | {r_m:.2f} ± {r_s:.2f} | {eff} | {drift} | {targets.get(name, '')} |"
        )
    lines += [
        "",
        "Bit-width sweep at M = min(4, 2^b - 1) (uniform QAT uses all 2^b levels): test acc % (mean ± sd), SOPs vs float, distinct non-zero values per scope (mean).",
        "",
        "| b | CAT | uniform QAT | post-training k-means |",
        "|---|---|---|---|",
    ]
    for b in SWEEP_BITS:
        cells = []
        for method in ("cat", "uniform", "kmeans"):
            name = sweep_name(method, b)
            have = [r for r in runs if name in r["methods"]]
            if not have:
                cells.append("not run")
                continue
            m, sd = mean_sd([100 * r["methods"][name]["test_accuracy"] for r in have])
            ratio_m = statistics.fmean(
                r["methods"][name]["sops"] / r["methods"]["float control"]["sops"] for r in have
            )
            used = [r["methods"][name].get("usage") for r in have]
            eff = (
                "-"
                if any(u is None for u in used)
                else f"{statistics.fmean(u['effective_values'] for u in used):.2f}"
            )
            seeds = (
                ""
                if len(have) == len(runs)
                else f" ({len(have)} seed{'s' if len(have) > 1 else ''})"
            )
            cells.append(f"{m:.2f} ± {sd:.2f}, {ratio_m:.2f}x, {eff}{seeds}")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    fsc, mag, rnd = (before[k] for k in PRUNE_RULES)
    sep = fsc[0] - mag[0] > max(fsc[1], mag[1]) and mag[0] - rnd[0] > max(mag[1], rnd[1])
    if fsc[0] == fsc[0]:
        lines += [
            "",
            "Neuron pruning at rho = 0.5, test accuracy before any fine-tune: "
            + ", ".join(f"{k} {before[k][0]:.2f} ± {before[k][1]:.2f}" for k in PRUNE_RULES)
            + f" (FSC > magnitude > random by more than the spread: {yes(sep)}).",
        ]
    lines += [
        "",
        f"Float warm-up alone: {warm[0]:.2f} ± {warm[1]:.2f} %. "
        f"CAT epoch / float epoch: {ratio[0]:.2f} ± {ratio[1]:.2f} (target <= 1.2: {yes(ratio[0] <= 1.2) if ratio[0] == ratio[0] else 'not measured'}).",
    ]
    summary = {
        "accuracy": acc,
        "sop_ratio": sop,
        "before_finetune": before,
        "warmup": warm,
        "epoch_ratio": ratio,
    }
    return "\n".join(lines), summary


def summarise_ablation(runs: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    acc = {n: mean_sd([100 * r["methods"][n]["test_accuracy"] for r in runs]) for n in ABLATION}
    sop = {
        n: mean_sd([r["methods"][n]["sops"] / r["methods"]["float control"]["sops"] for r in runs])
        for n in ABLATION
    }
    ctrl = acc["float control"][0]
    lines = [
        "Post-hoc ablation (chosen after seeing the main table; not a tuned default): one of the M "
        "codebook values starts at exactly 0 (`codebook_init: kmeans_zero`; zero still counts toward M).",
        "",
        "| method | test acc % (mean ± sd) | vs float control | SOPs/sample vs float | max distinct non-zero per scope |",
        "|---|---|---|---|---|",
    ]
    for n in ABLATION:
        distinct = max(r["methods"][n]["max_distinct_nonzero"] for r in runs)
        lines.append(
            f"| {n} | {acc[n][0]:.2f} ± {acc[n][1]:.2f} | {acc[n][0] - ctrl:+.2f} | "
            f"{sop[n][0]:.2f} ± {sop[n][1]:.2f} | {distinct if 'control' not in n else '-'} |"
        )
    return "\n".join(lines), {"accuracy": acc, "sop_ratio": sop}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--warmup-epochs", type=int, default=8)
    p.add_argument("--finetune-epochs", type=int, default=4)
    p.add_argument("--limit-train", type=int, default=None, help="smoke runs only")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--data-dir", default=None, help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--schedule", default="cosine", choices=["cosine", "constant"])
    p.add_argument("--ablation", action="store_true", help="run the post-hoc zero-init ablation")
    p.add_argument("--write", action="store_true", help="append the table to docs/benchmarks.md")
    p.add_argument(
        "--skip-control",
        action="store_true",
        help="with --methods: leave out the float control (merge with a run that has it)",
    )
    p.add_argument(
        "--epoch-cost",
        action="store_true",
        help="with --methods: time the CAT and float epochs right after the float control",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        default=None,
        help="run only these rows, in this order (the float control always runs first)",
    )
    p.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="train nothing: summarise the runs of these JSON files (seeds run as separate processes)",
    )
    p.add_argument(
        "--json", type=Path, default=ROOT / "bench" / "results" / "compression_fashion.json"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    start = time.perf_counter()
    methods = ABLATION if args.ablation else METHODS
    if args.methods:
        unknown = [n for n in args.methods if n not in METHODS]
        if unknown:
            p.error(f"--methods must be among the table's rows, but got {unknown}")
        methods = {"float control": METHODS["float control"]} | {
            n: METHODS[n] for n in args.methods
        }
        if args.skip_control:  # its numbers come from another process of the same seed
            methods.pop("float control")
    if args.merge:
        parts = [json.loads(path.read_text()) for path in args.merge]
        by_seed: dict[int, dict[str, Any]] = {}
        for run in (run for part in parts for run in part["runs"]):
            if run["seed"] not in by_seed:  # processes of one seed share the same warm-up
                by_seed[run["seed"]] = run
            else:
                for key, value in run["methods"].items():
                    by_seed[run["seed"]]["methods"].setdefault(key, value)
                for key in ("epoch_seconds", "pruned_before_finetune"):
                    if run.get(key) and not by_seed[run["seed"]].get(key):
                        by_seed[run["seed"]][key] = run[key]
        runs = list(by_seed.values())
        wall = sum(part["wall_seconds"] for part in parts)
        sizes = parts[0]["sizes"]
        command = "`; `".join(part["command"] for part in parts) + "` (merged with `--merge`)"
        args.seeds = [run["seed"] for run in runs]
    else:
        data = load_dataset(
            "fashion-mnist", data_dir=args.data_dir, limit_train=args.limit_train, seed=0
        ).to(args.device)
        sizes = data.sizes()
        log(f"data {sizes}")
        command = "python " + shlex.join(a for a in sys.argv if a != "--write")
        runs = []
        args.json.parent.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:

            def save(partial: dict[str, Any]) -> None:  # after every method: a cut-short run
                blob = {
                    "command": command,
                    "sizes": sizes,
                    "runs": [*runs, partial],
                    "wall_seconds": time.perf_counter() - start,
                }
                args.json.write_text(json.dumps(blob, indent=1, default=str))

            runs.append(run_seed(seed, data, args, log, methods, save))
            wall = time.perf_counter() - start
            blob = {"command": command, "sizes": sizes, "runs": runs, "wall_seconds": wall}
            args.json.write_text(
                json.dumps(
                    blob | {"args": vars(args) | {"json": str(args.json)}}, indent=1, default=str
                )
            )
    table, summary = summarise_ablation(runs) if args.ablation else summarise(runs)
    machine = f"{platform.machine()}, {platform.processor() or platform.node()}, torch {torch.__version__}, {args.threads} thread(s)"
    if args.device != "cpu":
        machine += f", {torch.cuda.get_device_name()}"
    header = (
        f"### {'Ablation run' if args.ablation else 'Run'} {dt.date.today().isoformat()}\n\n"
        f"- command: `{command}`\n- machine: {machine}\n"
        f"- data: Fashion-MNIST {sizes} (val/calib carved from the 60k training set, 10k test)\n"
        f"- network: MLP 784-256-10, rate-coded, T=10, LIF beta 0.9, membrane readout\n"
        f"- schedule: {args.warmup_epochs} float warm-up epochs (lr 3e-3, batch 128) shared per seed, then "
        f"{args.finetune_epochs} fine-tune epochs for every method (latent lr 3e-4; CAT codebook "
        f"{PipelineConfig.codebook_lr} grid steps per step, grid step {PipelineConfig.codebook_lr * SCALE_LR_FACTOR:g} relative, both times min(1, 2^(b-1)/8) below 4 bits; codebooks and steps frozen after {PipelineConfig.codebook_freeze:g} of the fine-tune steps); "
        f"learning rates {'annealed to zero (cosine) in each phase' if args.schedule == 'cosine' else 'constant'}; "
        f"post-training k-means clusters the float control's network; "
        f"seeds {args.seeds}; wall time {wall / 60:.1f} min (sum over the processes, which may have run in parallel)\n"
    )
    text = header + "\n" + table + "\n"
    print(text)
    if not args.merge:
        args.json.write_text(
            json.dumps(
                {
                    "command": command,
                    "sizes": sizes,
                    "args": vars(args) | {"json": str(args.json)},
                    "runs": runs,
                    "summary": summary,
                    "wall_seconds": wall,
                },
                indent=1,
                default=str,
            )
        )
    if args.write:
        from _common import COMPRESSION, append_section

        append_section(text, COMPRESSION)


if __name__ == "__main__":
    main()
