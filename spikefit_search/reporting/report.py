"""``spikefit-search report``: the Pareto front of one or more runs as a terminal summary,
``pareto.png`` and a self-contained ``report.html`` (plot embedded, opens offline)."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikefit_search import __version__
from spikefit_search._io import atomic_write_bytes, atomic_write_text
from spikefit_search.exceptions import RunError
from spikefit_search.hardware.profile import Constant
from spikefit_search.reporting.pareto import (
    CATEGORIES,
    OUTCOME_MEANINGS,
    ParetoFront,
    ParetoPoint,
    comparison_warning,
    constant_static,
)
from spikefit_search.reporting.plot import figure_png, pareto_figure
from spikefit_search.reporting.render import (
    FRONT_COLUMNS,
    REASON_COLUMNS,
    energy_caption,
    point_cells,
    reason_rows,
)
from spikefit_search.reporting.run import RunView, load_run
from spikefit_search.search.records import TIE_SE
from spikefit_search.search.stages import COUNTS

if TYPE_CHECKING:
    from spikefit_search.hardware import HardwareProfile

PNG_NAME = "pareto.png"
HTML_NAME = "report.html"


@dataclass(frozen=True)
class RunReport:
    """One run of a report: what was read and its front."""

    run: RunView
    front: ParetoFront
    profile: HardwareProfile | None


@dataclass(frozen=True)
class Report:
    """What :func:`build_report` computed and wrote."""

    runs: tuple[RunReport, ...]
    png: Path
    html: Path
    notes: tuple[str, ...] = field(default=())

    @property
    def fronts(self) -> list[ParetoFront]:
        return [r.front for r in self.runs]


def build_report(
    run_dirs: Sequence[str | Path],
    *,
    out: str | Path | None = None,
    storage: str | None = None,
) -> Report:
    """Read every run (no lock), compute its front, write ``pareto.png`` and ``report.html``.

    Args:
        run_dirs: one or more run folders; several are overlaid on one plot.
        out: folder for the two files; default the first run folder.
        storage: RDB URL for ``--storage`` runs whose manifest masks the password.

    Raises:
        RunError: a folder is not a run, or ``out`` cannot be written.
    """
    if not run_dirs:
        raise RunError("report needs at least one RUN folder, but got none.")
    runs = []
    for d in run_dirs:
        view = load_run(d, storage=storage)
        runs.append(RunReport(view, view.pareto(), view.profile()))
    labels = [r.front.label for r in runs]
    if len(set(labels)) < len(labels):  # same study name in two folders: use the folders
        runs = [RunReport(r.run, _relabel(r.front, str(r.run.path)), r.profile) for r in runs]
    target = Path(out) if out is not None else runs[0].run.path
    fronts = [r.front for r in runs]
    png = figure_png(pareto_figure(fronts))
    notes = [
        f"{r.front.label}: no feasible trained candidate yet" for r in runs if not r.front.front
    ]
    for r in runs:
        static = constant_static(r.front)
        if static is not None and r.front.front:
            notes.append(
                f"{r.front.label}: static energy {static:.4g} µJ is the same for every "
                "candidate; the plot's axis shows the dynamic energy"
            )
    warning = comparison_warning(fronts)
    if warning is not None:
        notes.append(warning)
    try:
        png_path = atomic_write_bytes(target / PNG_NAME, png)
        html_path = atomic_write_text(target / HTML_NAME, render_html(runs, png, warning))
    except OSError as exc:
        raise RunError(
            f"the report folder must be writable, but {target} is not ({exc.strerror})."
        ) from None
    return Report(tuple(runs), png_path, html_path, tuple(notes))


def _relabel(front: ParetoFront, label: str) -> ParetoFront:
    from dataclasses import replace

    return replace(front, label=label)


# --- HTML ------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:72rem;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}
tr.knee td{font-weight:bold;background:#fff8dc}
.note{color:#a15c00}.dim{color:#777;font-size:.85rem}
img{max-width:100%;border:1px solid #eee}
.bar{display:flex;height:.9rem;min-width:1px;background:#eee}.bar span{display:block;height:100%}
td.bar-cell{width:16rem;text-align:left}
"""

TERM_NAMES = {"sop": "synaptic", "update": "update", "spike": "spike", "static": "static"}
TERM_COLORS = {"sop": "#1f77b4", "update": "#ff7f0e", "spike": "#2ca02c", "static": "#999999"}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _td(cell: str) -> str:
    """A cell; text is left-aligned, numbers right-aligned."""
    numeric = all(ch in "0123456789.,%-+e " for ch in cell) or cell == "-"
    return f"<td>{_e(cell)}</td>" if numeric else f'<td class="l">{_e(cell)}</td>'


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, row_class: Sequence[str] = ()
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_class[i]}"' if i < len(row_class) and row_class[i] else ""
        body.append(f"<tr{cls}>" + "".join(_td(c) for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _points_table(front: ParetoFront, category: str) -> str:
    points = front.category(category)
    knee = front.knee.number if front.knee is not None else None
    static = constant_static(front, any_objective=True)
    rows, classes = [], []
    exact = any(p.chip_exact for p in points)
    for p in points:
        cells = point_cells(p, static)
        if exact:  # the float network of the same weights, beside the chip's accuracy
            cells.insert(3, "-" if math.isnan(p.float_accuracy) else f"{p.float_accuracy:.2%}")
        if category == "infeasible":
            cells.append(", ".join(p.violated) or p.reason)
        else:
            cells.append("-" if p.tied_with is None else f"#{p.tied_with}")
        rows.append(cells)
        classes.append("knee" if category == "front" and p.number == knee else "")
    last = "violated" if category == "infeasible" else f"within {TIE_SE:g} SE of"
    header = [*FRONT_COLUMNS, last]
    if exact:
        header = [header[0], "val acc (chip-exact)", header[2], "val acc (float)", *header[3:]]
    if static is not None:  # what the energy column holds, as in the terminal
        header = [h if h != "energy µJ" else "dynamic µJ" for h in header]
    caption = energy_caption(front)
    note = f'<p class="dim">{_e(caption)}</p>' if caption and category == "front" else ""
    return _table(header, rows, row_class=classes) + note


def _uj(value: float, estimated: bool, missing: bool = False) -> str:
    if missing:
        return "n/m"
    if math.isnan(value):
        return "-"
    return f"{value:.4g}" + ("*" if estimated else "")


def energy_range(p: ParetoPoint, key: str = "energy_uj") -> str:
    """``"1.2-3.4"``: the low and high end of a point's energy; ``-`` for a single figure."""
    band = p.band(key)
    return "-" if band is None else f"{band[0]:.4g}-{band[1]:.4g}"


def _breakdown_html(front: ParetoFront) -> str:
    """Per front point: the energy with its range, each term (``*`` = uses an estimated
    constant, ``n/m`` = not modelled), the latency, and a bar of what differs between points
    (the dynamic terms, when the static one is the same for every point) split by term."""
    points = [p for p in front.front if not math.isnan(p.sop_uj)]
    if not points:
        return '<p class="dim">No energy breakdown recorded for this run.</p>'
    static = constant_static(front, any_objective=True)
    shown = [t for t in TERM_NAMES if static is None or t != "static"]
    top = max(sum(getattr(p, f"{t}_uj") for t in shown) for p in points) or 1.0
    head = ["trial", "energy µJ", "range µJ", *(f"{n} µJ" for n in TERM_NAMES.values())]
    head.append("latency ms")
    rows = []
    for p in points:
        terms = [getattr(p, f"{t}_uj") for t in TERM_NAMES]
        cells = [str(p.number), f"{p.energy_uj:.4g}", energy_range(p)]
        cells += [
            _uj(v, t in p.estimated_terms, t in p.not_modelled) for t, v in zip(TERM_NAMES, terms)
        ]
        cells.append("-" if math.isnan(p.latency_ms) else f"{p.latency_ms:.4g}")
        segments = "".join(
            f'<span style="width:{100 * max(v, 0.0) / top:.3f}%;background:{TERM_COLORS[t]}" '
            f'title="{TERM_NAMES[t]}: {v:.4g} µJ"></span>'
            for t, v in zip(TERM_NAMES, terms)
            if t in shown
        )
        rows.append(
            "<tr>"
            + "".join(f"<td>{_e(c)}</td>" for c in cells)
            + f'<td class="bar-cell"><div class="bar">{segments}</div></td></tr>'
        )
    legend = " ".join(
        f'<span style="color:{TERM_COLORS[t]}">■</span> {TERM_NAMES[t]}' for t in shown
    )
    header = "".join(f"<th>{_e(h)}</th>" for h in head) + '<th class="l">breakdown</th>'
    same = (
        f'<p class="note">The static energy, {static:.4g} µJ, is the same for every candidate: '
        "the bars (and the plot's axis) show the dynamic energy, the part that differs.</p>"
        if static is not None
        else ""
    )
    missing = sorted({t for p in points for t in p.not_modelled})
    unmodelled = (
        f'<p class="note">Not modelled (no published figure, counted as nothing): '
        f"{_e(', '.join(TERM_NAMES[t] for t in missing))}. The energy is a lower bound.</p>"
        if missing
        else ""
    )
    return (
        f"{same}{unmodelled}"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<p class="dim">{legend} · range: every constant at the low and at the high end of '
        "its sources' range · * the term uses an estimated constant · n/m not modelled "
        "(see the device profile below and docs/energy.md)</p>"
    )


NEUROBENCH_HEADER = (
    "trial",
    "accuracy",
    "Footprint B",
    "Footprint at b bits B",
    "ConnectionSparsity",
    "ActivationSparsity",
    "Effective_ACs",
    "Effective_MACs",
    "Dense",
    "MembraneUpdates",
    "chip SOPs",
)


def _neurobench_html(front: ParetoFront) -> str:
    """Per front point, NeuroBench's metrics on the validation set (per sample), beside the
    SOPs the energy model charges (docs/reporting.md defines each)."""
    points = [p for p in front.front if p.neurobench]
    if not points:
        return '<p class="dim">No NeuroBench metrics recorded for this run.</p>'
    rows = []
    for p in points:
        nb = p.neurobench
        rows.append(
            [
                str(p.number),
                f"{p.accuracy:.2%}",
                f"{nb['nb_footprint_bytes']:,.0f}",
                f"{nb['nb_footprint_bits_bytes']:,.0f}",
                f"{nb['nb_connection_sparsity']:.4f}",
                f"{nb['nb_activation_sparsity']:.4f}",
                f"{nb['nb_effective_acs']:,.1f}",
                f"{nb['nb_effective_macs']:,.1f}",
                f"{nb['nb_dense']:,.0f}",
                f"{nb['nb_membrane_updates']:,.1f}",
                "-" if math.isnan(p.sops) else f"{p.sops:,.1f}",
            ]
        )
    return _table(NEUROBENCH_HEADER, rows) + (
        '<p class="dim">As NeuroBench 2.3 defines and counts them, per validation sample '
        "(docs/reporting.md); chip SOPs are what the energy model charges.</p>"
    )


def _profile_html(profile: HardwareProfile | None, manifest: dict[str, Any]) -> str:
    device = manifest.get("device", {})
    sha = str(device.get("sha256", ""))[:12]
    if profile is None:
        return (
            f'<p class="note">Device profile {_e(device.get("name"))} '
            f"({_e(device.get('path'))}) could not be loaded.</p>"
        )
    rows: list[list[str]] = [
        ["device", f"{profile.name}: {profile.title}"],
        ["profile file", f"{profile.path} (sha256 {sha}…)"],
        ["neuron models", ", ".join(profile.neuron_models.value)],
        ["layer types", ", ".join(profile.layer_types.value)],
        ["weight bits", f"{profile.weight_bits.value} ({profile.weight_bits.status})"],
        [
            "unique weights",
            f"{profile.unique_weights.max.value} per {profile.unique_weights.scope.value}"
            + (", zero free" if profile.unique_weights.zero_is_free.value else ""),
        ],
    ]
    rows += [[f"limit: {k}", f"{v.value:,} ({v.status})"] for k, v in profile.limits.items()]
    rows += [
        [f"energy: {k}", f"{v.describe() if isinstance(v, Constant) else v.value} ({v.status})"]
        for k, v in profile.energy.items()
    ]
    return _table(["field", "value"], rows)


def _run_html(r: RunReport) -> str:
    f, m = r.front, r.run.manifest
    c = f.counts
    opts = m.get("options", {})
    parts = [f"<h2>{_e(f.label)}</h2>"]
    entry = m.get("objective")
    objective: dict[str, Any] = entry if isinstance(entry, dict) else {}
    on = (
        f"the chip is on for T × dt = {objective['dt_ms']:g} ms per step"
        if "dt_ms" in objective
        else (
            f"the chip is on for an inference window of {objective['window_ms']:g} ms "
            f"(from the {objective.get('window_source', '?')})"
            if "window_ms" in objective
            else ""
        )
    )
    parts.append(
        f"<p>Second objective: <b>{_e(f.objective_label)}</b>, minimised"
        + (f"; {_e(on)}" if on else "")
        + ".</p>"
    )
    parts.append(
        f'<p class="dim">folder {_e(r.run.path)} · space {_e(m.get("space", {}).get("name"))}'
        f" · dataset {_e(m.get('dataset', {}).get('name'))} · seed {_e(m.get('seed'))}"
        f" · budget {_e(opts.get('budget'))} · created {_e(m.get('created'))}</p>"
    )
    counts = [
        [k, str(c.get(k, 0)), OUTCOME_MEANINGS[k]]
        for k in COUNTS
        if k not in ("budget_used", "queued")
        and (k in ("trained", "stopped", "rejected", "failed") or c.get(k))
    ]
    counts.append(
        ["trained but infeasible", str(len(f.infeasible)), OUTCOME_MEANINGS["infeasible"]]
    )
    counts.append(["total", str(c.get("total", 0)), "every trial in the study"])
    parts.append("<h3>Trials</h3>" + _table(["outcome", "trials", "meaning"], counts))
    if f.front:
        k = f.knee
        assert k is not None
        parts.append(
            f"<h3>Feasible Pareto front ({len(f.front)} points)</h3>"
            f"<p>Knee: trial <b>{k.number}</b>, {k.accuracy:.2%}"
            + ("" if math.isnan(k.accuracy_se) else f" ± {100 * k.accuracy_se:.2f} points")
            + " validation accuracy at "
            + f"{k.energy_uj:.4g} µJ per inference"
            + ("" if k.band("energy_uj") is None else f" (range {energy_range(k)} µJ)")
            + ".</p>"
            + _points_table(f, "front")
            + "<h3>Energy per inference of the front, term by term</h3>"
            + _breakdown_html(f)
            + "<h3>NeuroBench metrics of the front</h3>"
            + _neurobench_html(f)
        )
    else:
        parts.append(
            '<h3>Feasible Pareto front</h3><p class="note">No feasible trained candidate yet: '
            "this run has no front and no knee.</p>"
        )
    if f.dominated:
        parts.append("<h3>Dominated feasible</h3>" + _points_table(f, "dominated"))
    if f.low_fidelity:
        parts.append(
            "<h3>Trained on a lower rung</h3>"
            f'<p class="note">{len(f.low_fidelity)} trials of successive halving trained on '
            "a share of the epochs; their accuracy ranks candidates for promotion and is no "
            "answer, so they are never on the front (trials.csv has them, with rung and "
            "fidelity).</p>"
        )
    if f.infeasible:
        parts.append("<h3>Trained but infeasible</h3>" + _points_table(f, "infeasible"))
    if f.reasons:
        parts.append(
            "<h3>Rejected, stopped and failed candidates, by reason</h3>"
            + _table(REASON_COLUMNS, reason_rows(f.reasons))
        )
    if f.rejections:
        parts.append(
            "<h3>Constraints that made candidates infeasible</h3>"
            + _table(["constraint", "trials"], [[k, str(v)] for k, v in f.rejections.items()])
        )
    parts.append("<h3>Device profile</h3>" + _profile_html(r.profile, m))
    return "\n".join(parts)


def render_html(runs: Sequence[RunReport], png: bytes, warning: str | None = None) -> str:
    """A self-contained page: the plot as a base64 data URI, the tables, the device summary;
    ``warning`` (runs whose energies are not like for like) under the plot."""
    assert set(CATEGORIES) == {"front", "dominated", "infeasible"}
    title = "spikefit-search report: " + ", ".join(r.front.label for r in runs)
    image = base64.b64encode(png).decode("ascii")
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    body = "\n".join(_run_html(r) for r in runs)
    objectives = " / ".join(sorted({r.front.objective_label.lower() for r in runs}))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
        f"<h1>{_e(title)}</h1>\n"
        f'<p class="dim">spikefit-search {_e(__version__)} · written {stamp} · objectives: '
        f"validation accuracy (maximised), {_e(objectives)} (minimised)</p>\n"
        f'<img alt="accuracy vs energy" src="data:image/png;base64,{image}">\n'
        + (f'<p class="note">{_e(warning)}</p>\n' if warning else "")
        + f"{body}\n</body></html>\n"
    )
