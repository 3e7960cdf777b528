"""The plot and the report show what varies: bands from the constants' ranges, the dynamic
energy where the static one is the same for every candidate, a warning on unlike overlays."""

from __future__ import annotations

import pytest
from matplotlib.collections import LineCollection
from reporting_helpers import trial

from spikefit_search.reporting.pareto import (
    comparison_warning,
    compute_pareto_front,
    constant_static,
)
from spikefit_search.reporting.plot import pareto_figure
from spikefit_search.reporting.report import _breakdown_html


def _point(number_acc: float, dynamic: float, static: float, **extra: object) -> object:
    attrs = {
        "energy_uj": dynamic + static,
        "energy_low_uj": 0.5 * dynamic + static,
        "energy_high_uj": 2.0 * dynamic + static,
        "dynamic_low_uj": 0.5 * dynamic,
        "dynamic_high_uj": 2.0 * dynamic,
        "sop_uj": dynamic,
        "update_uj": 0.0,
        "spike_uj": 0.0,
        "static_uj": static,
        "latency_ms": 10.0,
        "energy_estimated": "",
        "energy_not_modelled": "",
    }
    attrs.update(extra)
    return trial(number_acc, dynamic + static, **attrs)


def _front(static: float, label: str, **extra: object):  # type: ignore[no-untyped-def]
    trials = [
        _point(0.80, 0.1, static, **extra),
        _point(0.85, 0.2, static, **extra),
        _point(0.90, 0.4, static, **extra),
    ]
    return compute_pareto_front(trials, label=label)


def _xs(fig: object, gid: str) -> list[float]:
    ax = fig.axes[0]  # type: ignore[attr-defined]
    (points,) = [c for c in ax.collections if c.get_gid() == gid]
    return sorted(float(x) for x, _ in points.get_offsets())


def test_a_static_energy_shared_by_every_candidate_leaves_the_axis() -> None:
    front = _front(42.0, "speck")
    assert constant_static(front) == 42.0
    fig = pareto_figure([front])
    assert _xs(fig, "0:front") == pytest.approx([0.1, 0.2, 0.4])  # not 42.1 .. 42.4
    label = fig.axes[0].get_xlabel()
    assert label.startswith("Dynamic energy") and "static 42 µJ" in label


def test_a_varying_static_energy_stays_on_the_axis() -> None:
    trials = [_point(0.8, 0.1, 40.0), _point(0.9, 0.2, 44.0)]
    front = compute_pareto_front(trials, label="truenorth")
    assert constant_static(front) is None
    fig = pareto_figure([front])
    assert _xs(fig, "0:front") == pytest.approx([40.1, 44.2])
    assert fig.axes[0].get_xlabel().startswith("Energy per inference")


def test_every_point_carries_its_band() -> None:
    fig = pareto_figure([_front(42.0, "speck")])
    bands = [c for c in fig.axes[0].collections if c.get_gid() == "0:band"]
    assert len(bands) == 1 and isinstance(bands[0], LineCollection)
    spans = sorted((float(s[0][0]), float(s[1][0])) for s in bands[0].get_segments())
    flat = [end for span in spans for end in span]
    assert flat == pytest.approx([0.05, 0.2, 0.1, 0.4, 0.2, 0.8])  # dynamic low .. high


def test_an_unlike_overlay_warns_in_one_line() -> None:
    sourced = _front(1.0, "truenorth")
    placeholder = _front(42.0, "speck", energy_estimated="static", energy_not_modelled="sop")
    assert comparison_warning([sourced]) is None and comparison_warning([sourced, sourced]) is None
    warning = comparison_warning([sourced, placeholder])
    assert warning is not None and "\n" not in warning
    assert "speck static estimated, sop not modelled" in warning and "truenorth" not in warning
    fig = pareto_figure([sourced, placeholder])
    assert fig._suptitle is not None and fig._suptitle.get_text() == warning  # type: ignore[attr-defined]


def test_the_breakdown_names_unmodelled_terms_and_the_shared_static() -> None:
    page = _breakdown_html(_front(42.0, "speck", energy_not_modelled="sop,update,spike"))
    assert "n/m" in page and "Not modelled" in page and "lower bound" in page
    assert "42 µJ, is the same for every candidate" in page
    assert "42.05-42.2" in page  # the range of the first point
