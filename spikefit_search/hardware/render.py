"""Tables for ``devices`` and ``check`` (terminal and records for ``--format csv|json``); they
only read profiles and check results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.text import Text

from spikefit_search._tables import Col, FirstFit, plain_table
from spikefit_search.hardware.checks import LIMIT_CONSTRAINTS
from spikefit_search.hardware.profile import Constant, HardwareProfile, Sourced
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
    value = entry.describe() if isinstance(entry, Constant) else entry.value
    return f"{value}{mark}"


def _central(c: Constant) -> str:
    """The central value with its mark, ``~`` where a range stands behind it."""
    mark = "*" if c.estimated else "†" if c.secondary else ""
    return f"{'~' if c.ranged else ''}{c.central:g}{mark}"


def energy_summary(p: HardwareProfile) -> str:
    """What prices the chip's energy: ``23.6† pJ/SOP``, ``cycles, ~40* pJ/clock`` (``~``: a
    range, shown by ``devices NAME``),
    ``SOPs only`` (no per-event figure) or ``limits only`` (energy not modelled)."""
    e = p.energy
    if not e.modelled:
        return "limits only"
    if e.e_clock_pj is not None:  # priced per clock cycle (energy.model xylo_cycles)
        return f"cycles, {_central(e.e_clock_pj)} pJ/clock"
    if e.e_sop_pj is not None and e.e_sop_pj.known:
        return f"{_central(e.e_sop_pj)} pJ/SOP"
    return "SOPs only"


_DEVICE_COLUMNS = (
    Col("device"),
    Col("neurons", "right"),
    Col("synapses", "right"),
    Col("bits", wrap=True),
    Col("unique\nweights"),
    Col("neuron\nmodels", wrap=True),
    Col("layer\ntypes", wrap=True),
    Col("energy", wrap=True),
    Col("mapping"),
)


def devices_table(profiles: Sequence[HardwareProfile]) -> FirstFit:
    """One row per profile; ``*`` marks an estimated value. Where the terminal is narrow the
    last columns are left out (``devices NAME`` and ``--format csv`` have them all)."""
    rows = []
    for p in profiles:
        u = p.unique_weights
        rows.append(
            [
                p.name,
                _num(p.limits.get("neurons")),
                _num(p.limits.get("synapses")),
                f"{p.weight_bits.value}{'' if p.signed.value else ' unsigned'}",
                f"{u.max.value}/{u.scope.value}",
                ", ".join(p.neuron_models.value),
                ", ".join(p.layer_types.value),
                energy_summary(p),
                p.mapping_source.value,
            ]
        )
    title = "Hardware profiles (* = estimated; † = secondary; - = unlimited)"
    # energy: what prices it; "SOPs only" / "limits only": no figure ranks candidates
    layouts = []
    for keep in range(len(_DEVICE_COLUMNS), 4, -1):
        left_out = [c.header.replace("\n", " ") for c in _DEVICE_COLUMNS[keep:]]
        caption = f"left out at this width: {', '.join(left_out)}" if left_out else None
        layouts.append(
            plain_table(
                _DEVICE_COLUMNS[:keep], [r[:keep] for r in rows], title=title, caption=caption
            )
        )
    return FirstFit(*layouts)


def devices_records(profiles: Sequence[HardwareProfile]) -> list[dict[str, Any]]:
    """One flat record per profile, every value raw (for ``--format csv|json``)."""
    records = []
    for p in profiles:
        u = p.unique_weights
        record: dict[str, Any] = {
            "device": p.name,
            "title": p.title,
            "neuron_models": " ".join(p.neuron_models.value),
            "layer_types": " ".join(p.layer_types.value),
            "weight_bits": p.weight_bits.value,
            "signed": p.signed.value,
            "unique_weights_max": u.max.value,
            "unique_weights_scope": u.scope.value,
            "zero_is_free": u.zero_is_free.value,
            "mapping": p.mapping_source.value,
        }
        record.update({f"limit_{k}": v.value for k, v in p.limits.items()})
        record.update({f"energy_{k}": v.value for k, v in p.energy.items()})
        record["energy"] = energy_summary(p)
        record["estimated"] = " ".join(name for name, entry in _entries(p) if entry.estimated)
        records.append(record)
    return records


def _entries(p: HardwareProfile) -> list[tuple[str, Sourced[Any]]]:
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
    return rows


def profile_records(p: HardwareProfile) -> list[dict[str, Any]]:
    """Every value of one profile with its status and source (for ``--format csv|json``)."""
    records = [
        {
            "field": name,
            "value": list(e.value) if isinstance(e.value, tuple) else e.value,
            "status": e.status,
            "source": e.source,
            **({"low": e.bounds[0], "high": e.bounds[1]} if isinstance(e, Constant) else {}),
        }
        for name, e in _entries(p)
    ]
    params = p.mapping.describe()
    records.append(
        {
            "field": "mapping.model",
            "value": params.pop("model"),
            "status": p.mapping_source.status,
            "source": p.mapping_source.source,
        }
    )
    records += [
        {"field": f"mapping.{k}", "value": v, "status": "", "source": ""} for k, v in params.items()
    ]
    return records


def profile_table(p: HardwareProfile) -> Group:
    """Every value of one profile with its status and a numbered source; the sources follow
    the table, one per line, so that a path or a URL is never split."""
    sources: dict[str, int] = {}

    def ref(source: str) -> str:
        if not source:
            return ""
        return f"[{sources.setdefault(source, len(sources) + 1)}]"

    rows: list[list[str]] = []
    styles: list[str | None] = []
    for name, entry in _entries(p):
        value = entry.value
        shown = ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)
        if isinstance(value, int) and not isinstance(value, bool):
            shown = format_quantity(value)
        if isinstance(entry, Constant):  # its range, or "not modelled" (never a 0)
            shown = entry.describe()
        rows.append([name, shown, entry.status, ref(entry.source)])
        styles.append(STATUS_STYLES.get(entry.status))
    params = p.mapping.describe()
    rows.append(
        [
            "mapping.model",
            str(params.pop("model")),
            p.mapping_source.status,
            ref(p.mapping_source.source),
        ]
    )
    styles.append(None)
    for key, value in params.items():
        shown = str(value)
        if isinstance(value, list):  # one core per line; short lists on one line
            long = any(" " in str(v) for v in value)
            shown = ("\n" if long else ", ").join(map(str, value))
        rows.append([f"mapping.{key}", shown, "", ""])
        styles.append(None)
    table = plain_table(
        (Col("field"), Col("value", wrap=True), Col("status"), Col("source", "right")),
        rows,
        title=f"{p.title} ({p.path})",
        row_styles=styles,
    )
    notes = [Text(f"[{n}] {source}") for source, n in sources.items()]
    return Group(table, Text("Sources", style="bold"), *notes)


STATUS_STYLES = {"estimated": "yellow", "secondary": "cyan"}
REFERENCES_DOC = "docs/profiles.md"


def references_lines(p: HardwareProfile) -> Group:
    """The profile's ``sources``: each short key with its full reference, one per line, so that
    a reference is never cut (the same list is in ``docs/profiles.md``, section References)."""
    lines = [Text(f"{key}: {citation}") for key, citation in p.sources.items()]
    return Group(Text(f"References (also in {REFERENCES_DOC})", style="bold"), *lines)


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


def _order(results: Sequence[CheckResult]) -> list[str]:
    names: list[str] = []
    for r in results:
        names += [n for n in r.names if n not in names]
    rank = {n: i for i, n in enumerate(_ROW_ORDER)}
    order = {n: i for i, n in enumerate(names)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), order[n]))


def _fits(r: CheckResult) -> str:
    return "[bold green]yes[/]" if r.fits else "[bold red]no[/]"


def check_matrix(results: Sequence[CheckResult]) -> FirstFit:
    """Constraints down, chips across: ``ok`` or ``usage/limit`` of the worst place. Where the
    chips do not fit across the terminal, one row per chip with what does not fit."""
    names = _order(results)
    columns = [Col("constraint"), *(Col(r.profile, "right") for r in results)]
    rows = [
        [name, *(_cell(r, name) if name in r.names else "[dim]-[/]" for r in results)]
        for name in names
    ]
    rows.append(["[bold]fits[/]", *(_fits(r) for r in results)])
    matrix = plain_table(
        columns, rows, title="Fit per chip: ok, or usage/limit where it does not fit"
    )
    per_chip = plain_table(
        (Col("chip"), Col("fits"), Col("does not fit (usage/limit)", wrap=True)),
        [
            [
                r.profile,
                _fits(r),
                "; ".join(f"{n} {_cell(r, n)}" for n in names if n in r.names and _violated(r, n)),
            ]
            for r in results
        ],
        title="Fit per chip",
    )
    return FirstFit(matrix, per_chip)


def _violated(r: CheckResult, name: str) -> bool:
    worst = r.worst(name)
    return worst is not None and worst.violated


def check_records(results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """One record per chip and evaluated place (for ``--format csv|json``)."""
    return [
        {
            "device": r.profile,
            "kind": r.kind,
            "device_fits": r.fits,
            "constraint": u.name,
            "where": u.where,
            "usage": u.usage,
            "limit": u.limit,
            "margin": u.margin,
            "fits": not u.violated,
        }
        for r in results
        for u in r.usages
    ]
