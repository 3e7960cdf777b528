"""``pareto.png``: validation accuracy against the second objective (energy per inference by
default), one colour per run; the x axis names the objective the runs minimised.

The front is drawn on the central energy; where the constants give a range, each point carries
a horizontal band (gid ``"<run>:band"``) from its low to its high end. Where every point of
every run has the same static energy (an event-driven chip's window, a clocked chip at one
``T``), that constant is left out: the axis shows the dynamic energy and its label names the
constant, so 42.0 + 0.4 µJ never reads as a 1 % spread. An overlay of several runs whose
energies rest on placeholders or leave terms out says so in one line under the title.

Every trained point with a recorded standard error carries a vertical error bar of one standard
error of its accuracy (gid ``"<run>:error"``); a point whose place the accuracies do not resolve
(``tied_with``: within the noise of a cheaper point) gets a dotted ring (gid ``"<run>:tied"``).

Drawn on a bare :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot state, no
display needed). Every artist carries a ``gid`` ``"<run index>:<category>"`` (category
``front``, ``dominated``, ``infeasible``, ``low-fidelity`` or ``knee``) so tests and tools can
find what was drawn.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from matplotlib.transforms import Bbox

from spikefit_search._io import atomic_write_bytes
from spikefit_search.reporting.pareto import (
    METRIC_LABELS,
    ParetoFront,
    ParetoPoint,
    comparison_warning,
    constant_static,
)
from spikefit_search.search.records import TIE_SE

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
LOG_SPAN = 20.0
"""Use a logarithmic energy axis when the largest plotted energy is this many times the least."""


def pareto_figure(fronts: Sequence[ParetoFront], *, title: str | None = None) -> Figure:
    """Draw every run's front (a staircase, least energy first, each point labelled with its
    trial number), its dominated feasible points (hollow), its trained-but-infeasible points
    (crosses) and its knee (star)."""
    fig = Figure(figsize=(7.5, 5.0), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    several = len(fronts) > 1
    energies: list[float] = []
    statics = [constant_static(f) for f in fronts]
    dynamic_axis = bool(fronts) and all(s is not None for s in statics)
    offsets = [s if dynamic_axis and s is not None else 0.0 for s in statics]
    for i, f in enumerate(fronts):
        color = COLORS[i % len(COLORS)]
        name = f"{f.label}: " if several and f.label else ""
        _draw_bands(ax, f, i, color, offsets[i], "dynamic_uj" if dynamic_axis else None)
        _draw_errors(ax, f, i, color, offsets[i], name)
        if f.front:
            xs = [_x(p, offsets[i]) for p in f.front]
            ys = [100 * p.accuracy for p in f.front]
            # a staircase: from each point the accuracy holds until a costlier point beats it
            ax.step(xs, ys, where="post", color=color, lw=1.5, alpha=0.8, gid=f"{i}:front-line")
            ax.scatter(
                xs, ys, s=40, color=color, zorder=3, label=f"{name}Pareto front", gid=f"{i}:front"
            )
            energies += xs
        dominated = {"s": 30, "facecolors": "none", "edgecolors": color, "alpha": 0.7}
        low = {"s": 10, "color": color, "alpha": 0.25}
        infeasible = {"s": 36, "marker": "x", "color": color, "alpha": 0.6}
        others: tuple[tuple[tuple[ParetoPoint, ...], str, str, dict[str, Any]], ...] = (
            (f.dominated, "dominated", "dominated (feasible)", dominated),
            (f.low_fidelity, "low-fidelity", "lower rung (trained briefly)", low),
            (f.infeasible, "infeasible", "infeasible (breaks a limit)", infeasible),
        )
        for points, gid, legend, style in others:  # drawn in this order
            if points:
                xs = [_x(p, offsets[i]) for p in points]
                ys = [100 * p.accuracy for p in points]
                ax.scatter(xs, ys, label=f"{name}{legend}", gid=f"{i}:{gid}", **style)
                energies += xs
        if f.knee is not None:
            k = f.knee
            ax.scatter(
                [_x(k, offsets[i])],
                [100 * k.accuracy],
                s=220,
                marker="*",
                color=color,
                edgecolors="black",
                linewidths=0.6,
                zorder=4,
                gid=f"{i}:knee",
            )
    positive = [e for e in energies if e > 0]
    if positive and max(positive) / min(positive) >= LOG_SPAN and len(positive) == len(energies):
        ax.set_xscale("log")
        _plain_log_ticks(ax, max(positive) / min(positive))
    if not any(f.front for f in fronts):
        ax.text(
            0.5,
            0.5,
            "no feasible trained candidate",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="gray",
            gid="empty",
        )
    labels = sorted({f.objective_label for f in fronts}) or [METRIC_LABELS[1]]
    x_label = " / ".join(labels)  # runs with different objectives share one axis only in name
    if dynamic_axis:
        x_label = _dynamic_label(fronts, offsets)
    ax.set_xlabel(x_label)
    ax.set_ylabel(METRIC_LABELS[0])
    ax.grid(True, alpha=0.3)
    if title is None:
        what = x_label.split(" (")[0].lower()
        title = (
            f"Accuracy vs {what}" if several else f"{fronts[0].label or 'run'}: accuracy vs {what}"
        )
    warning = comparison_warning(fronts)
    ax.set_title(title)
    if warning is not None:
        fig.suptitle(warning, fontsize=7, color="#a15c00", wrap=True, gid="warning")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    _label_front_points(fig, ax, fronts, offsets)
    return fig


def _x(p: ParetoPoint, offset: float) -> float:
    """Where a point sits on the axis: its objective, or its dynamic energy when the static
    energy (``offset``, the same for every point) is left out."""
    return p.dynamic_uj if offset else p.objective


def _draw_bands(
    ax: Axes, front: ParetoFront, run: int, color: str, offset: float, key: str | None
) -> None:
    """A horizontal bar from each plotted point's low to its high energy (the constants'
    ranges), behind the markers; nothing for a point with a single figure."""
    metric = key or front.metric_names[1]
    xs, ys, lo, hi = [], [], [], []
    points: list[ParetoPoint] = [*front.front, *front.dominated, *front.infeasible]
    for p in points:
        band = p.band(metric)
        if band is None:
            continue
        x = _x(p, offset)
        xs.append(x)
        ys.append(100 * p.accuracy)
        lo.append(max(x - band[0], 0.0))  # the dynamic band is already without the static
        hi.append(max(band[1] - x, 0.0))
    if xs:
        ax.errorbar(
            xs,
            ys,
            xerr=[lo, hi],
            fmt="none",
            ecolor=color,
            elinewidth=3,
            alpha=0.25,
            zorder=1,
            gid=f"{run}:band",
        )


def _draw_errors(
    ax: Axes, front: ParetoFront, run: int, color: str, offset: float, name: str
) -> None:
    """One standard error of accuracy above and below each plotted point that has one, and a
    dotted ring around each point tied with a cheaper one (``tied_with``)."""
    points: list[ParetoPoint] = [*front.front, *front.dominated, *front.infeasible]
    known = [p for p in points if math.isfinite(p.accuracy_se)]
    if known:
        ax.errorbar(
            [_x(p, offset) for p in known],
            [100 * p.accuracy for p in known],
            yerr=[100 * p.accuracy_se for p in known],
            fmt="none",
            ecolor=color,
            elinewidth=0.9,
            capsize=2.5,
            alpha=0.55,
            zorder=2,
            gid=f"{run}:error",
        )
    tied = [p for p in points if p.tied_with is not None]
    if tied:
        ax.scatter(
            [_x(p, offset) for p in tied],
            [100 * p.accuracy for p in tied],
            s=110,
            facecolors="none",
            edgecolors=color,
            linestyles=":",
            linewidths=1.0,
            zorder=3,
            label=f"{name}within {TIE_SE:g} SE of a cheaper point",
            gid=f"{run}:tied",
        )


def _dynamic_label(fronts: Sequence[ParetoFront], offsets: Sequence[float]) -> str:
    """The axis label when the static energy is left out: which constant, how large."""
    if len(fronts) == 1:
        static = f"{offsets[0]:.4g} µJ"
    else:
        static = ", ".join(f"{f.label or 'run'} {o:.4g} µJ" for f, o in zip(fronts, offsets))
    return (
        "Dynamic energy per inference (µJ); left out, the same for every candidate: "
        f"static {static}"
    )


def _plain_log_ticks(ax: Axes, span: float) -> None:
    """Log-axis ticks written as plain numbers (``0.5``, ``2``, ``20``), not ``2×10⁰``; fewer
    ticks per decade the more decades there are, so the labels never collide."""
    subs = (1.0, 2.0, 5.0) if span < 1e3 else (1.0,)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=tuple(range(1, 10))))
    ax.xaxis.set_minor_formatter(NullFormatter())


LABEL_OFFSETS = ((6, 4), (6, -12), (-8, 8), (-8, -14), (8, 16), (8, -22), (-10, 20), (-10, -26))
"""Offsets (points) tried in turn for a trial label, right-above first."""


def _overlaps(box: Bbox, others: Sequence[Bbox]) -> bool:
    return any(box.overlaps(o) for o in others)


def _label_front_points(
    fig: Figure, ax: Axes, fronts: Sequence[ParetoFront], offsets: Sequence[float]
) -> None:
    """Write every front point's trial number beside it, without two labels overlapping.

    Points closer than a label's size on screen (e.g. within 0.1 µJ) share one label,
    ``#10, #24``; a label goes to the first offset of :data:`LABEL_OFFSETS` where it overlaps
    no other label, the plot title or the legend, and is left out only when no offset fits (the
    report's table still lists every point). Labels carry gid ``"<run>:label"``.
    """
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    fig.draw_without_rendering()
    legend = ax.get_legend()
    placed: list[Bbox] = [] if legend is None else [legend.get_window_extent(renderer)]
    inside = ax.get_window_extent(renderer)
    to_screen = ax.transData.transform
    markers = []  # every drawn point, as a small box: a label should not hide one
    for f, off in zip(fronts, offsets):
        for name in ("front", "dominated", "infeasible"):
            for p in f.category(name):
                x, y = to_screen((_x(p, off), 100 * p.accuracy))
                markers.append(Bbox.from_extents(x - 4, y - 4, x + 4, y + 4))
    for i, f in enumerate(fronts):
        knee = f.knee.number if f.knee is not None else None
        clusters: list[list[tuple[float, float, int, float, float]]] = []
        for p in f.front:
            px = _x(p, offsets[i])
            x, y = to_screen((px, 100 * p.accuracy))
            for cluster in clusters:
                cx, cy = cluster[0][0], cluster[0][1]
                if abs(x - cx) < 18 and abs(y - cy) < 10:
                    cluster.append((x, y, p.number, px, 100 * p.accuracy))
                    break
            else:
                clusters.append([(x, y, p.number, px, 100 * p.accuracy)])
        for cluster in clusters:
            numbers = sorted(c[2] for c in cluster)
            text = ", ".join(f"#{n}" for n in numbers)
            if knee in numbers:
                text += " (knee)"
            _, _, _, ex, ey = cluster[0]
            box = _place_label(ax, renderer, text, (ex, ey), i, inside, placed, markers)
            if box is not None:
                placed.append(box)


def _place_label(
    ax: Axes,
    renderer: Any,
    text: str,
    xy: tuple[float, float],
    run: int,
    inside: Bbox,
    placed: Sequence[Bbox],
    markers: Sequence[Bbox],
) -> Bbox | None:
    """Annotate ``xy`` at the first offset clear of other labels and points (or, failing
    that, of other labels only); None, and nothing drawn, when no offset is clear."""
    for avoid in ([*placed, *markers], list(placed)):
        for dx, dy in LABEL_OFFSETS:
            label = ax.annotate(
                text,
                xy,
                textcoords="offset points",
                xytext=(dx, dy),
                ha="left" if dx >= 0 else "right",
                fontsize=7,
                color=COLORS[run % len(COLORS)],
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
                gid=f"{run}:label",
            )
            box = label.get_window_extent(renderer).expanded(1.05, 1.1)
            within = inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1)
            if within and not _overlaps(box, avoid):
                return box
            label.remove()
    return None


def figure_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def write_pareto_png(path: str | Path, fronts: Sequence[ParetoFront]) -> Path:
    """Render :func:`pareto_figure` to ``path`` (atomically)."""
    return atomic_write_bytes(path, figure_png(pareto_figure(fronts)))
