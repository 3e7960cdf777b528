from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from reporting_helpers import MakeRun, rejected, trial

from spikefit_search.exceptions import RunError
from spikefit_search.reporting.plot import pareto_figure
from spikefit_search.reporting.report import build_report
from spikefit_search.reporting.run import load_run
from spikefit_search.search.run_folder import run_lock


def offsets(fig, gid: str) -> int:  # type: ignore[no-untyped-def]
    """Points drawn by the scatter artist ``gid`` (0 when it was not drawn)."""
    for artist in fig.axes[0].collections:
        if artist.get_gid() == gid:
            return len(artist.get_offsets())
    return 0


def test_report_on_a_real_run_writes_plot_and_html(run_copy: Path) -> None:
    report = build_report([run_copy])
    front = report.fronts[0]
    assert front.has_feasible and front.knee is not None
    assert report.png == run_copy / "pareto.png" and report.html == run_copy / "report.html"
    png = report.png.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    page = report.html.read_text()
    for p in front.front:
        assert re.search(rf"<tr[^>]*><td>{p.number}</td><td>{p.accuracy:.2%}</td>", page)
        assert f"{p.energy_uj:.4g}" in page
    assert 'class="knee"' in page and "data:image/png;base64," in page
    assert "loihi" in page and "Device profile" in page
    assert "http://" not in page and "https://" not in page  # opens offline
    # every front point's energy, term by term, with the estimated terms flagged
    breakdown = page[page.index("term by term") :]
    assert "synaptic µJ" in breakdown and "static µJ" in breakdown and "latency ms" in breakdown
    for p in front.front:
        assert p.sop_uj + p.update_uj + p.spike_uj + p.static_uj == pytest.approx(p.energy_uj)
        assert p.estimated_terms == ("static",)  # Loihi's P_static and dt are placeholders
        assert f"<td>{p.number}</td><td>{p.energy_uj:.4g}</td>" in breakdown
        assert f"<td>{p.sop_uj:.4g}</td>" in breakdown
    assert breakdown.count('class="bar"') == len(front.front)
    assert "Second objective: <b>Energy per inference (µJ)</b>" in page


def test_plot_draws_each_category_with_the_right_number_of_points(make_run: MakeRun) -> None:
    run = make_run(
        "mixed",
        [
            trial(0.6, 1.0),
            trial(0.8, 2.0),
            trial(0.7, 3.0),  # dominated
            trial(0.5, 4.0),  # dominated
            trial(0.9, 0.5, constraints={"neurons": 0.3}),  # infeasible
            rejected("synapses"),
        ],
    )
    front = load_run(run).pareto()
    fig = pareto_figure([front])
    assert offsets(fig, "0:front") == 2
    assert offsets(fig, "0:dominated") == 2
    assert offsets(fig, "0:infeasible") == 1
    assert offsets(fig, "0:knee") == 1
    ax = fig.axes[0]
    assert "µJ" in ax.get_xlabel() and "%" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.texts]
    knee = front.knee.number  # type: ignore[union-attr]
    assert any(f"#{knee}" in t and "(knee)" in t for t in labels)
    line = next(ln for ln in ax.lines if ln.get_gid() == "0:front-line")
    assert list(line.get_xdata()) == [1.0, 2.0]  # the front is joined, least energy first


def test_report_without_feasible_trial_says_so_and_still_writes(make_run: MakeRun) -> None:
    run = make_run(
        "none-fit",
        [trial(0.9, 1.0, constraints={"cores": 0.5}), rejected("cores"), rejected("neurons")],
    )
    report = build_report([run])
    assert report.png.stat().st_size > 5_000 and report.html.is_file()
    assert report.notes == ("none-fit: no feasible trained candidate yet",)
    page = report.html.read_text()
    assert "No feasible trained candidate yet" in page
    assert '<td class="l">cores</td><td>2</td>' in page
    fig = pareto_figure(report.fronts)
    assert offsets(fig, "0:front") == 0 and offsets(fig, "0:infeasible") == 1
    assert any(t.get_gid() == "empty" for t in fig.axes[0].texts)


def test_several_runs_are_overlaid_with_a_legend(
    make_run: MakeRun, run_copy: Path, tmp_path: Path
) -> None:
    other = make_run("speck-like", [trial(0.7, 0.01), trial(0.9, 0.05)])
    report = build_report([run_copy, other], out=tmp_path / "both")
    assert report.png.parent == tmp_path / "both"
    fig = pareto_figure(report.fronts)
    assert offsets(fig, "1:front") == 2 and offsets(fig, "0:front") == len(report.fronts[0].front)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("speck-like") for t in legend)
    assert any(t.startswith(run_copy.name) for t in legend)
    page = report.html.read_text()
    assert page.count("<h2>") == 2


def test_report_reads_a_running_run_without_the_lock(run_copy: Path) -> None:
    with run_lock(run_copy):  # a search holds the folder
        report = build_report([run_copy])
    assert report.fronts[0].counts["trained"] >= 1


def test_folder_that_is_not_a_run_is_a_run_error(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"manifest\.json"):
        build_report([tmp_path])
    with pytest.raises(RunError, match="not a folder"):
        build_report([tmp_path / "missing"])


def test_plot_axis_and_front_follow_the_run_objective(make_run: MakeRun) -> None:
    run = make_run(
        "by-sops",
        [
            trial(0.6, 100.0, energy_uj=9.0, sops=100.0),
            trial(0.8, 300.0, energy_uj=1.0, sops=300.0),
            trial(0.7, 400.0, energy_uj=0.5, sops=400.0),  # dominated in SOPs, least energy
        ],
    )
    manifest_path = run / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["objective"] = {"name": "sops", "key": "sops", "label": "x", "clocked": True}
    manifest_path.write_text(json.dumps(manifest))
    front = load_run(run).pareto()
    assert front.metric_names == ("accuracy", "sops")
    assert [p.number for p in front.front] == [0, 1]  # ranked by SOPs, not by energy
    assert [p.energy_uj for p in front.front] == [9.0, 1.0]
    ax = pareto_figure([front]).axes[0]
    assert ax.get_xlabel() == "Synaptic operations per inference"
    assert "synaptic operations" in ax.get_title()
    page = build_report([run]).html.read_text()
    assert "synaptic operations per inference (minimised)" in page
