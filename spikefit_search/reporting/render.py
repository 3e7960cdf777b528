"""Rich renderings of a :class:`ParetoFront` (they only read it); no cell is ever cut, at 80
columns or in a pipe (see :mod:`spikefit_search._tables`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from spikefit_search._tables import Col, plain_table
from spikefit_search.reporting.pareto import (
    OUTCOME_LABELS,
    OUTCOME_MEANINGS,
    ParetoFront,
    ParetoPoint,
    ReasonGroup,
    constant_static,
)
from spikefit_search.search.records import TIE_SE

FRONT_COLUMNS = (
    "trial",
    "val acc",
    "± SE",
    "test acc",
    "energy µJ",
    "SOPs",
    "M",
    "b",
    "rho",
    "hidden widths",
)
_FRONT_COLS = (
    Col("trial", "right"),
    Col("val\nacc", "right"),
    Col("±\nSE", "right"),
    Col("test\nacc", "right"),
    Col("energy\nµJ", "right"),
    Col("SOPs", "right"),
    Col("M", "right"),
    Col("b", "right"),
    Col("rho", "right"),
    Col("hidden\nwidths", wrap=True),
    Col(""),
)


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2%}"


def se_cell(se: float) -> str:
    """A standard error of accuracy in percentage points (``1.80``); ``-`` when unknown."""
    return "-" if math.isnan(se) else f"{100 * se:.2f}"


def _opt(value: object, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def widths_text(widths: Sequence[int]) -> str:
    """Hidden sizes layer by layer, ``116→146`` (not ``116-146``, which reads as a range)."""
    return "→".join(str(w) for w in widths) or "-"


DYNAMIC_TERMS = frozenset({"sop", "update", "spike"})


def energy_cell(p: ParetoPoint, static: float | None = None) -> str:
    """A point's energy in µJ; with ``static`` (the same for every point, left out) its
    dynamic energy, or ``n/m`` where no dynamic term is modelled."""
    if static is None:
        return f"{p.energy_uj:.4g}"
    if set(p.not_modelled) >= DYNAMIC_TERMS:
        return "n/m"
    return f"{p.dynamic_uj:.4g}"


def energy_caption(front: ParetoFront) -> str | None:
    """What the energy column holds, when it is not simply the whole energy of each point."""
    static = constant_static(front, any_objective=True)
    missing = sorted({t for p in front.front for t in p.not_modelled})
    if static is None:
        return f"energy leaves out terms not modelled: {', '.join(missing)}" if missing else None
    if set(missing) >= DYNAMIC_TERMS:
        return (
            f"energy: n/m = not modelled (no per-event figure); only the static {static:.4g} "
            "µJ is, the same for every candidate"
        )
    return f"energy: the dynamic part; the static {static:.4g} µJ is the same for every candidate"


def point_cells(p: ParetoPoint, static: float | None = None) -> list[str]:
    """The cells of one row of :data:`FRONT_COLUMNS` (shared by the HTML report); with
    ``static``, the energy cell holds the dynamic energy (:func:`energy_cell`)."""
    return [
        str(p.number),
        _pct(p.accuracy),
        se_cell(p.accuracy_se),
        _pct(p.test_accuracy),
        energy_cell(p, static),
        "-" if math.isnan(p.sops) else f"{p.sops:,.0f}",
        _opt(p.n_values),
        _opt(p.bits),
        _opt(p.rho, "{:.2f}"),
        widths_text(p.widths),
    ]


def pareto_table(front: ParetoFront, *, title: str = "Feasible Pareto front") -> Table:
    """The front, least energy first; the knee row is marked."""
    knee = front.knee.number if front.knee is not None else None
    static = constant_static(front, any_objective=True)
    rows, styles = [], []
    for p in front.front:
        mark = "◆ knee" if p.number == knee else ""
        if p.tied_with is not None:  # its gain over a cheaper point is within the noise
            mark = f"{mark} ≈#{p.tied_with}".strip()
        rows.append([*point_cells(p, static), mark])
        styles.append("bold" if mark else None)
    caption = energy_caption(front)
    exact = chip_exact_caption(front)
    if exact:
        caption = f"{caption}\n{exact}" if caption else exact
    if any(p.tied_with is not None for p in front.front):
        tie = f"≈#N: within {TIE_SE:g} SE of the accuracy of cheaper trial N"
        caption = f"{caption}\n{tie}" if caption else tie
    return plain_table(_FRONT_COLS, rows, title=title, caption=caption, row_styles=styles)


def chip_exact_caption(front: ParetoFront) -> str:
    """One line saying that the accuracies are the chip's (empty for a float front)."""
    points = list(front.front)
    if not points or not all(p.chip_exact for p in points):
        return ""
    return (
        "acc: chip-exact (the chip's integer neuron); the float network's: float_accuracy in "
        "pareto.csv"
    )


def counts_line(front: ParetoFront) -> Text:
    c = front.counts
    parts = [
        f"{c.get('trained', 0)} trained",
        f"{c.get('stopped', 0)} stopped early",
        f"{c.get('rejected', 0)} rejected before training",
        f"{c.get('failed', 0)} failed",
    ]
    parts += [f"{c[k]} {k}" for k in ("interrupted", "surplus", "running") if c.get(k)]
    if c.get("promoted"):
        parts.append(f"{c['promoted']} promoted (retrained longer)")
    parts.append(f"{len(front.infeasible)} trained but infeasible")
    parts.append(f"{len(front.front)} on the front, {len(front.dominated)} dominated")
    return Text(" · ".join(parts))


def rejections_table(front: ParetoFront) -> Table:
    return plain_table(
        (Col("constraint"), Col("trials", "right")),
        [[name, str(n)] for name, n in front.rejections.items()],
        title="Constraints that made candidates infeasible",
    )


def trial_numbers(numbers: Sequence[int], *, limit: int = 12) -> str:
    """``3, 5, 8`` or, for many, the first ``limit`` and how many more."""
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = len(numbers) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def reason_rows(groups: Sequence[ReasonGroup]) -> list[list[str]]:
    """outcome, trials, why (one full example), trial numbers (shared by the HTML report)."""
    rows = []
    for g in groups:
        if not g.example or g.example == g.reason:
            why = g.reason
        elif "#" in g.reason or g.example.startswith(g.reason):  # show a real message
            why = g.example if g.count == 1 else f"e.g. {g.example}"
        else:  # the violated constraints, and one message
            why = f"{g.reason}: {g.example}" if g.count == 1 else f"{g.reason}, e.g. {g.example}"
        rows.append([OUTCOME_LABELS[g.outcome], str(g.count), why, trial_numbers(g.numbers)])
    return rows


REASON_COLUMNS = ("outcome", "trials", "why", "trial numbers")


def reasons_table(front: ParetoFront) -> Table:
    """Candidates that are not feasible trained points, grouped by reason, most common first."""
    return plain_table(
        (
            Col("outcome", wrap=True),
            Col("n", "right"),
            Col("why", wrap=True),
            Col("trials", wrap=True),
        ),
        reason_rows(front.reasons),
        title="Rejected, stopped and failed candidates, by reason",
    )


def knee_line(front: ParetoFront) -> Text:
    k = front.knee
    if k is None:
        return Text("no feasible trained candidate yet: no front, no knee", style="yellow")
    key = front.metric_names[1]
    if key == "sops" and not math.isnan(k.sops):
        at = f"{k.sops:,.0f} SOPs per inference"
    elif key == "latency_ms" and not math.isnan(k.latency_ms):
        at = f"{k.latency_ms:.4g} ms latency"
    else:
        band = k.band("energy_uj")
        at = f"{k.energy_uj:.4g} µJ per inference"
        at += "" if band is None else f" ({band[0]:.4g}-{band[1]:.4g})"
    se = "" if math.isnan(k.accuracy_se) else f" ± {100 * k.accuracy_se:.2f} points"
    return Text.from_markup(
        f"knee: trial [bold]{k.number}[/], {k.accuracy:.2%}{se} validation accuracy at {at}"
    )


def report_renderable(fronts: Sequence[ParetoFront]) -> Group:
    """Everything ``report`` prints, one block per run."""
    parts: list[RenderableType] = []
    for front in fronts:
        if front.label:
            parts.append(Text(front.label, style="bold underline"))
        if front.has_feasible:
            parts.append(pareto_table(front))
        parts.append(knee_line(front))
        parts.append(counts_line(front))
        if front.reasons:
            parts.append(reasons_table(front))
        if front.rejections:
            parts.append(rejections_table(front))
    return Group(*parts)


def report_records(fronts: Sequence[ParetoFront]) -> list[dict[str, Any]]:
    """Every plotted point of every run with its category (for ``report --format csv``)."""
    rows: list[dict[str, Any]] = []
    for front in fronts:
        frame = front.to_frame()
        frame.insert(0, "run", front.label)
        rows += frame.to_dict(orient="records")
    return rows


def report_document(fronts: Sequence[ParetoFront]) -> list[dict[str, Any]]:
    """One object per run: counts, knee, points and reasons (for ``report --format json``)."""
    out = []
    for front in fronts:
        frame = front.to_frame()
        out.append(
            {
                "run": front.label,
                "counts": front.counts,
                "knee": None if front.knee is None else front.knee.number,
                "points": frame.to_dict(orient="records"),
                "rejections": front.rejections,
                "reasons": [
                    {
                        "outcome": g.outcome,
                        "reason": g.reason,
                        "example": g.example,
                        "trials": list(g.numbers),
                    }
                    for g in front.reasons
                ],
                "meanings": OUTCOME_MEANINGS,
            }
        )
    return out
