"""Rendering and reports: the live search display, Pareto reports, exports.

The library computes a :class:`ParetoFront` first; tables, ``pareto.png`` and ``report.html``
only read it.
"""

from __future__ import annotations

from spikefit_search.reporting.live import SearchDisplay, front_table, status_line
from spikefit_search.reporting.pareto import (
    ParetoFront,
    ParetoPoint,
    ReasonGroup,
    compute_pareto_front,
    group_reasons,
    knee_point,
)

__all__ = [
    "ParetoFront",
    "ParetoPoint",
    "ReasonGroup",
    "SearchDisplay",
    "compute_pareto_front",
    "front_table",
    "group_reasons",
    "knee_point",
    "status_line",
]
