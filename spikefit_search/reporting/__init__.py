"""Rendering and reports: the live search display, Pareto reports, exports."""

from __future__ import annotations

from spikefit_search.reporting.live import SearchDisplay, front_table, status_line

__all__ = ["SearchDisplay", "front_table", "status_line"]
