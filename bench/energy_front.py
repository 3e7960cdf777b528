"""What a run's Pareto front is made of: does the energy axis separate candidates by
what the networks do, or only by the timesteps ``T``?

For each run folder it reads ``pareto.csv`` and prints, per front point, ``T``, the validation
accuracy, the energy, its static share and the SOPs; then:

* the static share of the front's energy spread, ``(max static - min static) / (max energy -
  min energy)``: how much of what separates the front points is the static term (a function of
  ``T`` alone under the old model) rather than what the networks do;
* ``eta²(energy | T)``: the share of the front's energy variance explained by ``T`` alone
  (between-group over total sum of squares);
* Spearman's rank correlation of energy with SOPs over the front.

Runs made before the static term was recorded (no ``static_uj`` column) need
``--legacy-static-uj-per-step``: the old model's ``P_static * dt`` in µJ (Speck: 0.42).

Usage::

    python bench/energy_front.py before=/tmp/before/speck-mlp-digits \
        after=/tmp/after/speck-mlp-digits [--write]

With ``--write`` the tables are appended to the "Energy fronts" section of
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BENCH_MD = ROOT / "docs" / "benchmarks.md"
SECTION = "## Energy fronts"


def eta_squared(values: pd.Series, groups: pd.Series) -> float:
    """Between-group over total sum of squares (NaN for fewer than two points or no spread)."""
    if len(values) < 2:
        return math.nan
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0:
        return math.nan
    means = values.groupby(groups).transform("mean")
    between = float(((means - values.mean()) ** 2).sum())
    return between / total


def front_table(run: Path, legacy_static: float | None) -> tuple[str, float, float, float]:
    frame = pd.read_csv(run / "pareto.csv").sort_values("energy_uj")
    steps = frame.get("param_timesteps", pd.Series([math.nan] * len(frame), index=frame.index))
    if "static_uj" not in frame.columns and legacy_static is not None:
        frame["static_uj"] = legacy_static * steps.astype(float)
    has_static = "static_uj" in frame.columns
    lines = [
        "| trial | T | val acc | energy µJ | static share | dynamic µJ | SOPs |",
        "|---|---|---|---|---|---|---|",
    ]
    for (_, row), t in zip(frame.iterrows(), steps):
        energy = float(row["energy_uj"])
        static = float(row["static_uj"]) if has_static else math.nan
        share = "-" if math.isnan(static) else f"{static / energy:.1%}"
        dynamic = "-" if math.isnan(static) else f"{energy - static:.4g}"
        lines.append(
            f"| {int(row['number'])} | {'-' if pd.isna(t) else int(t)} | {row['accuracy']:.2%} "
            f"| {energy:.4g} | {share} | {dynamic} | {float(row['sops']):,.0f} |"
        )
    eta = eta_squared(frame["energy_uj"], steps) if steps.notna().all() else math.nan
    spread = float(frame["energy_uj"].max() - frame["energy_uj"].min())
    static_spread = (
        float(frame["static_uj"].max() - frame["static_uj"].min()) / spread
        if has_static and spread > 0
        else math.nan
    )
    rho = float(frame["energy_uj"].corr(frame["sops"], method="spearman"))
    return "\n".join(lines), static_spread, eta, rho


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_FOLDER (the folder with pareto.csv)")
    parser.add_argument("--write", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument("--note", default="", help="a paragraph on how the runs were made")
    parser.add_argument(
        "--legacy-static-uj-per-step",
        type=float,
        default=None,
        help="old model's P_static*dt in µJ, for runs without a static_uj column",
    )
    args = parser.parse_args(argv)
    command = list(args.runs)
    if args.legacy_static_uj_per_step is not None:
        command += ["--legacy-static-uj-per-step", f"{args.legacy_static_uj_per_step:g}"]
    if args.note:
        command.append('--note "..."')
    command += ["--write"] if args.write else []
    labels = [spec.partition("=")[0] for spec in args.runs]
    blocks = [
        f"### What separates the front's points: {', '.join(labels)}",
        "",
        f"Command: `python bench/energy_front.py {' '.join(command)}`; machine: "
        f"{platform.machine()}, Python {platform.python_version()}.",
        "",
        *([args.note, ""] if args.note else []),
    ]
    for spec in args.runs:
        label, _, folder = spec.partition("=")
        run = Path(folder)
        if not (run / "pareto.csv").is_file():
            print(f"{run} must be a run folder with pareto.csv, but it has none.", file=sys.stderr)
            return 1
        table, static_spread, eta, rho = front_table(run, args.legacy_static_uj_per_step)
        blocks += [
            f"#### {label}",
            "",
            table,
            "",
            f"Static share of the front's energy spread: {static_spread:.1%}; "
            f"eta²(energy | T) = {eta:.3f}; Spearman(energy, SOPs) = {rho:.3f}.",
            "",
        ]
    text = "\n".join(blocks)
    print(text)
    if args.write:
        from _common import append_section

        append_section(text, SECTION, BENCH_MD)
    return 0


if __name__ == "__main__":
    sys.exit(main())
