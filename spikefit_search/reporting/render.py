"""Rich renderings of a :class:`ParetoFront` (they only read it)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from spikefit_search.reporting.pareto import ParetoFront, ParetoPoint

FRONT_COLUMNS = ("trial", "val acc", "test acc", "energy µJ", "SOPs", "M", "b", "rho", "widths")


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2%}"


def _opt(value: object, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def point_cells(p: ParetoPoint) -> list[str]:
    """The cells of one row of :data:`FRONT_COLUMNS` (shared by the HTML report)."""
    return [
        str(p.number),
        _pct(p.accuracy),
        _pct(p.test_accuracy),
        f"{p.energy_uj:.4g}",
        "-" if math.isnan(p.sops) else f"{p.sops:,.0f}",
        _opt(p.n_values),
        _opt(p.bits),
        _opt(p.rho, "{:.2f}"),
        "-".join(str(w) for w in p.widths) or "-",
    ]


def pareto_table(front: ParetoFront, *, title: str = "Feasible Pareto front") -> Table:
    """The front, least energy first; the knee row is marked."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for col in FRONT_COLUMNS:
        table.add_column(col, justify="left" if col == "widths" else "right")
    table.add_column("", justify="left")
    knee = front.knee.number if front.knee is not None else None
    for p in front.front:
        mark = "◆ knee" if p.number == knee else ""
        table.add_row(*point_cells(p), mark, style="bold" if mark else None)
    return table


def counts_line(front: ParetoFront) -> Text:
    c = front.counts
    return Text(
        f"{c.get('trained', 0)} trained · {c.get('stopped', 0)} stopped early · "
        f"{c.get('rejected', 0)} rejected before training · {c.get('failed', 0)} failed · "
        f"{c.get('running', 0)} running · {len(front.infeasible)} trained but infeasible · "
        f"{len(front.front)} on the front, {len(front.dominated)} dominated"
    )


def rejections_table(front: ParetoFront) -> Table:
    table = Table(title="Constraints that made candidates infeasible", title_justify="left")
    table.add_column("constraint")
    table.add_column("trials", justify="right")
    for name, n in front.rejections.items():
        table.add_row(name, str(n))
    return table


def knee_line(front: ParetoFront) -> Text:
    k = front.knee
    if k is None:
        return Text("no feasible trained candidate yet: no front, no knee", style="yellow")
    return Text.from_markup(
        f"knee: trial [bold]{k.number}[/], {k.accuracy:.2%} validation accuracy at "
        f"{k.energy_uj:.4g} µJ per inference"
    )


def report_renderable(fronts: Sequence[ParetoFront]) -> Group:
    """Everything ``report`` prints, one block per run."""
    parts: list[Table | Text] = []
    for front in fronts:
        if front.label:
            parts.append(Text(front.label, style="bold underline"))
        if front.has_feasible:
            parts.append(pareto_table(front))
        parts.append(knee_line(front))
        parts.append(counts_line(front))
        if front.rejections:
            parts.append(rejections_table(front))
    return Group(*parts)
