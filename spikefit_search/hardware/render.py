"""Rich tables for ``devices`` and ``check``; they only read profiles and check results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from spikefit_search.hardware.checks import LIMIT_CONSTRAINTS
from spikefit_search.hardware.profile import HardwareProfile, Sourced
from spikefit_search.hardware.result import MEMORY_CONSTRAINTS, CheckResult, format_quantity


def _num(entry: Sourced[int] | None) -> str:
    """Compact count: ``1.2M``, ``131k``, ``496``; ``-`` for unlimited."""
    if entry is None:
        return "-"
    value = entry.value
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return str(value)


def _mark(entry: Sourced[Any]) -> str:
    mark = "*" if entry.estimated else "†" if entry.secondary else ""
    return f"{entry.value}{mark}"


def devices_table(profiles: Sequence[HardwareProfile]) -> Table:
    """One row per profile; ``*`` marks an estimated value, ``†`` a secondary one."""
    table = Table(title="Hardware profiles (* = estimated; † = secondary; - = unlimited)")
    for column in (
        "device",
        "neurons",
        "synapses",
        "bits",
        "unique/scope",
        "layer types",
        "neurons",
        "pJ/SOP",
        "mapping",
    ):
        table.add_column(column)
    table.columns[6].header = "neuron models"
    for p in profiles:
        u = p.unique_weights
        table.add_row(
            p.name,
            _num(p.limits.get("neurons")),
            _num(p.limits.get("synapses")),
            f"{p.weight_bits.value}{'' if p.signed.value else ' unsigned'}",
            f"{u.max.value}/{u.scope.value}",
            ", ".join(p.layer_types.value),
            ", ".join(p.neuron_models.value),
            _mark(p.energy.e_sop_pj),
            p.mapping_source.value,
        )
    return table


def profile_table(p: HardwareProfile) -> Table:
    """Every value of one profile with its status and source."""
    table = Table(title=f"{p.title} ({p.path})", show_lines=False)
    table.add_column("field")
    table.add_column("value")
    table.add_column("status")
    table.add_column("source", overflow="fold")
    rows: list[tuple[str, Sourced[Any]]] = [
        ("neuron_models", p.neuron_models),
        ("layer_types", p.layer_types),
        ("weights.bits", p.weight_bits),
        ("weights.signed", p.signed),
        *([("weights.symmetric", p.weight_symmetric)] if p.weight_symmetric is not None else []),
        ("unique_weights.max", p.unique_weights.max),
        ("unique_weights.scope", p.unique_weights.scope),
        ("unique_weights.zero_is_free", p.unique_weights.zero_is_free),
    ]
    rows += [(f"limits.{k}", v) for k, v in p.limits.items()]
    rows += [(f"energy.{k}", v) for k, v in p.energy.items()]
    for name, entry in rows:
        value = entry.value
        shown = ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)
        if isinstance(value, int) and not isinstance(value, bool):
            shown = format_quantity(value)
        style = STATUS_STYLES.get(entry.status, "")
        table.add_row(
            name, shown, f"[{style}]{entry.status}[/]" if style else entry.status, entry.source
        )
    params = p.mapping.describe()
    table.add_row(
        "mapping.model", str(params.pop("model")), p.mapping_source.status, p.mapping_source.source
    )
    for key, value in params.items():
        shown = "\n".join(map(str, value)) if isinstance(value, list) else str(value)
        table.add_row(f"mapping.{key}", shown, "", "")
    return table


STATUS_STYLES = {"estimated": "yellow", "secondary": "cyan"}
REFERENCES_DOC = "docs/profiles.md"


def references_table(p: HardwareProfile) -> Table:
    """The profile's ``sources`` table: each short key with its full reference."""
    table = Table(title=f"References (also in {REFERENCES_DOC}, section References)")
    table.add_column("key", no_wrap=True)
    table.add_column("reference", overflow="fold")
    for key, citation in p.sources.items():
        table.add_row(key, citation)
    return table


def _cell(result: CheckResult, name: str) -> str:
    worst = result.worst(name)
    if worst is None:
        return "[dim]ok[/]"
    if not worst.violated:
        return "[green]ok[/]"
    binary = name in MEMORY_CONSTRAINTS
    if worst.limit == 0:
        return "[red]no[/]"
    return (
        f"[red]{format_quantity(worst.usage, binary=binary)}/"
        f"{format_quantity(worst.limit, binary=binary)}[/]"
    )


_ROW_ORDER = (
    "neuron_model",
    "layer_type",
    "weight_bits",
    "weight_sign",
    "unique_weights",
    *LIMIT_CONSTRAINTS,
    "cores",
)


def check_matrix(results: Sequence[CheckResult]) -> Table:
    """Constraints down, chips across: ``ok`` or ``usage/limit`` of the worst place."""
    table = Table(title="Fit per chip: ok, or usage/limit where it does not fit")
    table.add_column("constraint", no_wrap=True)
    for r in results:
        table.add_column(r.profile, justify="right", overflow="fold")
    names: list[str] = []
    for r in results:
        names += [n for n in r.names if n not in names]
    rank = {n: i for i, n in enumerate(_ROW_ORDER)}
    order = {n: i for i, n in enumerate(names)}
    names = sorted(names, key=lambda n: (rank.get(n, len(rank)), order[n]))
    for name in names:
        table.add_row(name, *(_cell(r, name) if name in r.names else "[dim]-[/]" for r in results))
    table.add_section()
    table.add_row(
        "[bold]fits[/]",
        *("[bold green]yes[/]" if r.fits else "[bold red]no[/]" for r in results),
    )
    return table
