"""Rendering and reports: the live search display, Pareto reports, exports.

The library computes a :class:`ParetoFront` first; tables, ``pareto.png`` and ``report.html``
only read it.
"""

from __future__ import annotations

from spikefit_search.reporting.live import SearchDisplay, front_table, status_line
from spikefit_search.reporting.pareto import (
    ParetoFront,
    ParetoPoint,
    compute_pareto_front,
    knee_point,
)

__all__ = [
    "ParetoFront",
    "ParetoPoint",
    "SearchDisplay",
    "compute_pareto_front",
    "front_table",
    "knee_point",
    "status_line",
]
