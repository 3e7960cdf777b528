from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from reporting_helpers import MakeRun, trial
from typer.testing import CliRunner

from spikefit_search.cli import app

runner = CliRunner()


def test_report_prints_front_knee_and_counts(run_copy: Path) -> None:
    result = runner.invoke(app, ["report", str(run_copy)])
    assert result.exit_code == 0, result.output
    assert "Feasible Pareto front" in result.output and "knee: trial" in result.output
    assert "trained" in result.output and "rejected before training" in result.output
    assert (run_copy / "pareto.png").is_file() and (run_copy / "report.html").is_file()


def test_report_on_a_folder_that_is_not_a_run_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "manifest.json" in result.output and "Traceback" not in result.output


def test_export_pick_that_matches_nothing_says_what_the_front_offers(make_run: MakeRun) -> None:
    run = make_run("offer", [trial(0.6, 3.2), trial(0.8, 4.0)])
    result = runner.invoke(app, ["export", str(run), "--max-energy", "1"])
    assert result.exit_code == 1
    assert "lowest energy available is 3.2 µJ" in " ".join(result.output.split())


def test_export_then_retrain_from_the_command_line(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "pick.yaml"
    result = runner.invoke(app, ["export", str(tiny_run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.with_suffix(".pt").is_file()
    seen: dict[str, Any] = {}

    def fake_retrain(config: Path, **kw: Any) -> Any:  # the library call is tested elsewhere
        seen.update(config=config, **kw)
        raise SystemExit(0)

    monkeypatch.setattr("spikefit_search.reporting.retrain.retrain", fake_retrain)
    result = runner.invoke(
        app, ["retrain", str(out), "--epochs", "4", "--nir", str(tmp_path / "n.nir")]
    )
    assert result.exit_code == 0, result.output
    assert seen["config"] == out and seen["epochs"] == 4 and seen["nir"] == tmp_path / "n.nir"


def test_retrain_with_a_broken_config_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"pipeline": {"network": {}}, "device": "loihi", "seed": 0}))
    result = runner.invoke(app, ["retrain", str(bad)])
    assert result.exit_code == 1
    assert "'dataset'" in result.output and "Traceback" not in result.output


def test_check_accepts_an_exported_config(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.yaml"
    assert runner.invoke(app, ["export", str(tiny_run), "-o", str(out)]).exit_code == 0
    result = runner.invoke(app, ["check", str(out), "--device", "loihi"])
    assert result.exit_code == 0, result.output
    assert "measured on the search checkpoint" in " ".join(result.output.split())


def test_search_refuses_a_negative_confirm() -> None:
    result = runner.invoke(app, ["search", "--device", "loihi", "--confirm", "-1"])
    assert result.exit_code == 1 and "--confirm" in result.output
