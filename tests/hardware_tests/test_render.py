"""Every table of ``devices`` and ``check`` at 80 columns: no device name, no number cut."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from rich.text import Text
from typer.testing import CliRunner

from spikefit_search._tables import FirstFit, render_text
from spikefit_search.cli import app
from spikefit_search.hardware import list_profiles, load_profile
from spikefit_search.hardware.render import check_matrix, devices_table, profile_table
from spikefit_search.hardware.target import load_target
from spikefit_search.snn import NetworkConfig

runner = CliRunner()


def whole_words(layout: object, output: str) -> None:
    """Every word of every cell of the table that was drawn appears whole in ``output``."""
    tokens = set(output.split())
    assert isinstance(layout, FirstFit)
    table = layout.choose(80)
    for column in table.columns:
        for cell in [column.header, *column._cells]:
            text = cell.plain if isinstance(cell, Text) else Text.from_markup(str(cell)).plain
            for word in text.split():
                assert word in tokens, f"{word!r} of column {column.header!r} is cut"


def lines_fit(output: str, width: int = 80) -> None:
    assert max(len(line.rstrip()) for line in output.splitlines()) <= width


def test_devices_table_at_80_columns_cuts_nothing() -> None:
    table = devices_table([load_profile(n) for n in list_profiles()])
    output = render_text(table, 80)
    lines_fit(output)
    whole_words(table, output)
    headers = " ".join(c.header for c in table.choose(80).columns)
    for numeric in ("neurons", "synapses", "bits", "unique", "energy"):
        assert numeric in headers  # only text columns are ever left out
    for name in list_profiles():
        (row,) = [line for line in output.splitlines() if line.startswith(name + " ")]
        assert row.split()[0] == name


def _target(tmp_path: Path, hidden: tuple[int, ...] = (80,)) -> Path:
    path = tmp_path / "net.yaml"
    data = {
        "network": NetworkConfig(hidden=hidden).to_dict(),
        "compression": {"n_values": 16, "bits": 8, "rho": 0.2, "scope": "layer"},
        "training": {"epochs": 1},
        "dataset": "digits",
        "seed": 0,
        "spikefit_version": "0.1.0",
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_check_table_at_80_columns_cuts_nothing(tmp_path: Path) -> None:
    target = load_target(_target(tmp_path))
    results = [target.check(load_profile(n)) for n in list_profiles()]
    table = check_matrix(results)
    for width in (80, 200):
        output = render_text(table, width)
        lines_fit(output, width)
        tokens = set(output.split())
        assert set(list_profiles()) <= tokens
        for r in results:  # every usage/limit of a violated constraint, whole
            for u in r.violations:
                if u.limit:
                    assert any(t.startswith(f"{u.usage:,.0f}/") for t in tokens), u
    whole_words(table, render_text(table, 80))
    assert table.choose(200) is table.layouts[0]  # the matrix where it fits


def test_profile_sources_are_never_split() -> None:
    profile = load_profile("speck")
    output = render_text(profile_table(profile), 80)
    lines_fit(output)
    tokens = set(output.split())
    for entry in (profile.weight_bits, profile.energy.static_power_mw, profile.mapping_source):
        for word in entry.source.split():
            assert word in tokens, word


def test_devices_in_a_pipe_can_be_grepped() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run(
        [sys.executable, "-m", "spikefit_search", "devices"],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": os.getcwd()},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines_fit(proc.stdout)
    (row,) = [line for line in proc.stdout.splitlines() if "xylo-audio2" in line]
    assert row.split()[:3] == ["xylo-audio2", "1k", "104k"]


def test_devices_check_formats_for_scripts(tmp_path: Path) -> None:
    result = runner.invoke(app, ["devices", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["device"] for r in rows] == list_profiles()
    speck = next(r for r in rows if r["device"] == "speck")
    assert speck["limit_neurons"] == "327680" and speck["mapping"] == "speck_cores"
    one = json.loads(runner.invoke(app, ["devices", "speck", "--format", "json"]).output)
    assert {"field": "weights.bits", "value": 8}.items() <= one[2].items()
    path = _target(tmp_path)
    checked = json.loads(runner.invoke(app, ["check", str(path), "--format", "json"]).output)
    assert {r["device"] for r in checked} == set(list_profiles())
    dynap = [r for r in checked if r["device"] == "dynap-se2" and r["constraint"] == "fan_in"]
    assert any(r["usage"] == 80 and r["limit"] == 64 and not r["fits"] for r in dynap)
    bad = runner.invoke(app, ["check", str(path), "--device", "speck", "--format", "csv"])
    assert bad.exit_code == 1 and bad.output.startswith("device,kind,device_fits,")
