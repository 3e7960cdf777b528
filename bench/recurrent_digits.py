"""Recurrent against feed-forward spiking networks on the sequential digits (one image row a
step, so a network must remember the rows before), and a Xylo Audio 2 search of the ``rnn``
space.

The same SpikeFit pipeline (float warm-up, CAT fine-tune, FSC pruning, evaluation) trains one
hidden layer of the same neuron count, recurrent or not, on the same seeds: as the float network
(10 classes) and chip-exact on Xylo Audio 2 (digits 0-7 on its 8 outputs). It reports the test
accuracy, the synaptic operations per sample (recurrent events included) and the non-zero
synapses. ``--search N`` also runs an N-candidate search of the ``rnn`` space on Xylo Audio 2
and reports its feasible front.

    python bench/recurrent_digits.py [--seeds 3] [--search 16] [--write]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import replace_section  # noqa: E402  (bench/ is the script's own folder)

from spikefit_search.compression import PipelineConfig, run_pipeline  # noqa: E402
from spikefit_search.data import Dataset, load_dataset  # noqa: E402
from spikefit_search.hardware import load_profile  # noqa: E402
from spikefit_search.snn import NetworkConfig  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "recurrent_digits.json"
SECTION = "## Recurrent networks on sequential digits"
WIDTH = 64
EPOCHS = (20, 6)  # float warm-up, CAT fine-tune


def _config(
    data: Dataset, seed: int, *, recurrent: bool, device: str | None, width: int = WIDTH
) -> PipelineConfig:
    net = NetworkConfig(
        input_shape=data.input_shape,
        n_classes=data.n_classes,
        hidden=(width,),
        timesteps=int(data.timesteps or 8),
        encoder="events",
        recurrent=recurrent,
    )
    zero_free = True
    if device is not None:
        profile = load_profile(device)
        chip = profile.chip_neuron
        assert chip is not None
        net = replace(net, beta=chip.beta_for(net.beta), chip=chip)
        zero_free = bool(profile.unique_weights.zero_is_free.value)
    return PipelineConfig(
        network=net,
        n_values=8,
        bits=8,
        rho=0.25,
        zero_is_free=zero_free,
        warmup_epochs=EPOCHS[0],
        finetune_epochs=EPOCHS[1],
        batch_size=64,
        seed=seed,
    )


def _synapses(model: torch.nn.Module) -> int:
    return int(sum(int((layer.effective_weight() != 0).sum()) for layer in model.weight_layers))  # type: ignore[attr-defined]


def measure(seeds: int) -> list[dict]:
    rows = []
    settings = {
        "float": (load_dataset("sequential-digits"), None),
        "xylo-audio2": (load_dataset("sequential-digits", classes=tuple(range(8))), "xylo-audio2"),
    }
    for where, (data, device) in settings.items():
        n_in, n_out = int(np.prod(data.input_shape)), data.n_classes
        # a feed-forward layer as wide as holds the recurrent layer's synapses
        wide = round(WIDTH * (n_in + WIDTH + n_out) / (n_in + n_out))
        for arch, recurrent, width in (
            ("recurrent", True, WIDTH),
            ("feed-forward", False, WIDTH),
            ("feed-forward, as many synapses", False, wide),
        ):
            for seed in range(seeds):
                cfg = _config(data, seed, recurrent=recurrent, device=device, width=width)
                start = time.perf_counter()
                r = run_pipeline(cfg, data)
                rows.append(
                    {
                        "where": where,
                        "arch": arch,
                        "recurrent": recurrent,
                        "seed": seed,
                        "widths": list(r.network.hidden),
                        "test_accuracy": r.test_accuracy,
                        "val_accuracy": r.val_accuracy,
                        "sops": r.activity.total_sops,
                        "synapses": _synapses(r.model),
                        "chip_exact": r.model.chip_exact,
                        "seconds": time.perf_counter() - start,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def search(budget: int) -> list[dict]:
    """A search of the ``rnn`` space on Xylo Audio 2 (digits 0-7): its feasible front."""
    import pandas as pd

    from spikefit_search.search import SearchOptions, run_search

    with tempfile.TemporaryDirectory() as tmp:
        result = run_search(
            SearchOptions(
                device="xylo-audio2",
                budget=budget,
                space="rnn",
                dataset="sequential-digits",
                classes=tuple(range(8)),
                out=tmp,
                accelerator="cpu",
                seed=0,
                sampler="tpe",  # the sampler of the front in docs/benchmarks.md
            )
        )
        trials = pd.read_csv(result.run_dir / "trials.csv")
        front = pd.read_csv(result.run_dir / "pareto.csv")
    done = trials[trials["stage"].isin(["trained", "stopped"])]
    print(f"search: {len(done)} trained or stopped, counts {result.counts}", flush=True)
    feasible = front[front["feasible"]] if "feasible" in front else front
    return [
        {
            "trial": int(row["number"]),
            "recurrent": bool(row["param_recurrent"]),
            "widths": str(row["widths"]),
            "n_values": int(row["n_values"]),
            "bits": int(row["param_bits"]),
            "accuracy": float(row["accuracy"]),
            "test_accuracy": float(row["test_accuracy"]),
            "energy_uj": float(row["energy_uj"]),
            "sops": float(row["sops"]),
        }
        for _, row in feasible.iterrows()
    ]


def table(rows: list[dict]) -> str:
    lines = [
        "| network | hidden layer (after pruning) | test accuracy | SOPs / sample "
        "| non-zero synapses |",
        "|---|---|---|---|---|",
    ]
    for where in dict.fromkeys(r["where"] for r in rows):
        for arch in dict.fromkeys(r["arch"] for r in rows):
            sel = [r for r in rows if r["where"] == where and r["arch"] == arch]
            acc = np.array([r["test_accuracy"] for r in sel]) * 100
            sops = np.array([r["sops"] for r in sel])
            syn = np.array([r["synapses"] for r in sel])
            name = "float, 10 classes" if where == "float" else f"{where} chip-exact, 0-7"
            lines.append(
                f"| {name} | {arch}, {sel[0]['widths'][0]} | {acc.mean():.1f} ± {acc.std():.1f} % "
                f"| {sops.mean():,.0f} | {syn.mean():,.0f} |"
            )
    return "\n".join(lines)


def front_table(front: list[dict]) -> str:
    lines = [
        "| trial | recurrent | widths | M | b | val / test accuracy | SOPs | energy µJ |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in front:
        lines.append(
            f"| {row['trial']} | {'yes' if row['recurrent'] else 'no'} | {row['widths']} "
            f"| {row['n_values']} | {row['bits']} | {100 * row['accuracy']:.1f} / "
            f"{100 * row['test_accuracy']:.1f} % | {row['sops']:,.0f} | {row['energy_uj']:.4f} |"
        )
    return "\n".join(lines)


def write(results: dict) -> None:
    seeds = len({r["seed"] for r in results["rows"]})
    body = (
        f"{SECTION}\n\n"
        "The sequential digits (`docs/data.md`: the embedded digits one 8-pixel row per step, "
        "T = 8, so a network must remember the rows before), one hidden layer of "
        f"{WIDTH} neurons recurrent or not (and a feed-forward layer wide enough to hold as "
        f"many synapses as the recurrent one), the same SpikeFit pipeline ({EPOCHS[0]} float "
        f"warm-up + {EPOCHS[1]} CAT fine-tune epochs, M = 8, b = 8, rho = 0.25, FSC) on "
        f"{seeds} seeds (mean ± sd of the test accuracy; SOPs per test sample, the recurrent "
        "synaptic events included; non-zero synapses after pruning, the recurrent ones "
        "included).\n\n"
        f"{table(results['rows'])}\n"
    )
    if results.get("front"):
        body += (
            f"\nA search of the `rnn` space on Xylo Audio 2 ({results['budget']} candidates, "
            "TPE sampler, sequential digits 0-7, chip-exact), its feasible front (widths after "
            "pruning):\n\n"
            f"{front_table(results['front'])}\n"
        )
    body += (
        f"\nCommand: `{results['command']}`; machine: {results['machine']}; "
        f"torch {results['torch']}; {results['date']}.\n"
    )
    replace_section(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--search", type=int, default=0, help="candidates of a Xylo search")
    parser.add_argument("--from-results", action="store_true", help="print the stored results")
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args()
    if args.from_results:
        results = json.loads(RESULTS.read_text())
    else:
        torch.set_num_threads(1)
        results = {
            "rows": measure(args.seeds),
            "front": search(args.search) if args.search else [],
            "budget": args.search,
            "machine": f"{platform.processor() or platform.machine()}, 1 torch thread",
            "torch": torch.__version__,
            "date": date.today().isoformat(),
            "command": "python bench/recurrent_digits.py "
            + " ".join(a for a in sys.argv[1:] if a != "--write"),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1))
    print(table(results["rows"]))
    if results["front"]:
        print(front_table(results["front"]))
    if args.write:
        write(results)


if __name__ == "__main__":
    main()
