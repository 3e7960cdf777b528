"""``pareto.png``: validation accuracy against the second objective (energy per inference by
default), one colour per run; the x axis names the objective the runs minimised.

Drawn on a bare :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot state, no
display needed). Every artist carries a ``gid`` ``"<run index>:<category>"`` (category
``front``, ``dominated``, ``infeasible`` or ``knee``) so tests and tools can find what was drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spikefit_search._io import atomic_write_bytes
from spikefit_search.reporting.pareto import OBJECTIVE_LABELS, ParetoFront

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
LOG_SPAN = 20.0
"""Use a logarithmic energy axis when the largest plotted energy is this many times the least."""


def pareto_figure(fronts: Sequence[ParetoFront], *, title: str | None = None) -> Figure:
    """Draw every run's front (joined, least energy first), its dominated feasible points
    (hollow), its trained-but-infeasible points (crosses) and its knee (star, labelled)."""
    fig = Figure(figsize=(7.5, 5.0), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    several = len(fronts) > 1
    energies: list[float] = []
    for i, f in enumerate(fronts):
        color = COLORS[i % len(COLORS)]
        name = f"{f.label}: " if several and f.label else ""
        if f.front:
            xs = [p.objective for p in f.front]
            ys = [100 * p.accuracy for p in f.front]
            ax.plot(xs, ys, "-", color=color, lw=1.5, alpha=0.8, gid=f"{i}:front-line")
            ax.scatter(
                xs, ys, s=40, color=color, zorder=3, label=f"{name}Pareto front", gid=f"{i}:front"
            )
            energies += xs
        if f.dominated:
            xs = [p.objective for p in f.dominated]
            ax.scatter(
                xs,
                [100 * p.accuracy for p in f.dominated],
                s=30,
                facecolors="none",
                edgecolors=color,
                alpha=0.7,
                label=f"{name}dominated (feasible)",
                gid=f"{i}:dominated",
            )
            energies += xs
        if f.infeasible:
            xs = [p.objective for p in f.infeasible]
            ax.scatter(
                xs,
                [100 * p.accuracy for p in f.infeasible],
                s=36,
                marker="x",
                color=color,
                alpha=0.6,
                label=f"{name}infeasible (breaks a limit)",
                gid=f"{i}:infeasible",
            )
            energies += xs
        if f.knee is not None:
            k = f.knee
            ax.scatter(
                [k.objective],
                [100 * k.accuracy],
                s=220,
                marker="*",
                color=color,
                edgecolors="black",
                linewidths=0.6,
                zorder=4,
                gid=f"{i}:knee",
            )
            ax.annotate(
                f"knee (trial {k.number})",
                (k.objective, 100 * k.accuracy),
                textcoords="offset points",
                xytext=(8, 6),
                fontsize=9,
                gid=f"{i}:knee-label",
            )
    positive = [e for e in energies if e > 0]
    if positive and max(positive) / min(positive) >= LOG_SPAN and len(positive) == len(energies):
        ax.set_xscale("log")
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
    labels = sorted({f.objective_label for f in fronts}) or [OBJECTIVE_LABELS[1]]
    x_label = " / ".join(labels)  # runs with different objectives share one axis only in name
    ax.set_xlabel(x_label)
    ax.set_ylabel(OBJECTIVE_LABELS[0])
    ax.grid(True, alpha=0.3)
    if title is None:
        what = x_label.split(" (")[0].lower()
        title = (
            f"Accuracy vs {what}" if several else f"{fronts[0].label or 'run'}: accuracy vs {what}"
        )
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    return fig


def figure_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def write_pareto_png(path: str | Path, fronts: Sequence[ParetoFront]) -> Path:
    """Render :func:`pareto_figure` to ``path`` (atomically)."""
    return atomic_write_bytes(path, figure_png(pareto_figure(fronts)))
