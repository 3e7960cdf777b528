from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spikefit_search.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--objective", "power"], "--objective must be one of dynamic, energy, latency, sops"),
        (["--objective", "latency", "--device", "speck"], "needs a clocked chip"),
        (["--objective", "energy", "--device", "speck"], "not modelled): use --objective sops"),
        (["--objective", "dynamic", "--device", "xylo-audio2"], "use --objective energy"),
        (["--window-ms", "-5"], "--window-ms must be a positive number of ms, but got -5.0"),
    ],
)
def test_bad_objective_or_window_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "runs"
    result = runner.invoke(app, ["search", "--out", str(out), *args], env={"COLUMNS": "300"})
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]  # stdout: "preparing"
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output
    assert not out.exists()
