"""Every refusal is one line on stderr, a non-zero exit, no traceback and no half-made run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from reliability_cli import run_cli

# (id, arguments, text the one-line message must contain); {tmp} is the test's folder.
CASES = [
    ("unknown-device", ["--device", "nope"], "must be one of akida"),
    ("device-path-missing", ["--device", "{tmp}/mine.yaml"], "does not exist"),
    ("device-path-malformed", ["--device", "{tmp}/broken.yaml"], "broken.yaml"),
    ("budget-zero", ["--budget", "0"], "--budget must be a positive integer, but got 0"),
    ("budget-negative", ["--budget", "-3"], "--budget must be a positive integer, but got -3"),
    ("budget-not-a-number", ["--budget", "many"], "Invalid value for '--budget'"),
    ("unknown-dataset", ["--dataset", "cifar"], "dataset must be one of digits"),
    ("data-dir-missing", ["--dataset", "mnist", "--data-dir", "{tmp}/nothing"], "existing folder"),
    (
        "data-dir-wrong-shape",
        ["--dataset", "npz", "--data-dir", "{tmp}/bad.npz"],
        "images must have shape",
    ),
    ("space-malformed", ["--space", "{tmp}/space.yaml"], "key params.bits"),
    ("space-unknown", ["--space", "transformer"], "search space"),
    ("bits-above-device", ["--device", "loihi", "--space", "{tmp}/bits9.yaml"], "params.bits"),
    ("values-above-device", ["--device", "truenorth", "--space", "{tmp}/m16.yaml"], "at most 4"),
    ("workers-zero", ["--workers", "0"], "--workers must be a positive integer, but got 0"),
    ("unknown-sampler", ["--sampler", "cmaes"], "sampler must be one of gp, nsga2, random, tpe"),
    ("unknown-option", ["--colour", "red"], "No such option: --colour"),
    ("accelerator-unknown", ["--accelerator", "tpu"], "accelerator must be one of auto, cpu, cuda"),
    ("epochs-too-few", ["--epochs", "1"], "--epochs must be at least 2"),
    ("nothing-fits", ["--device", "xylo-audio2"], "even the smallest in space mlp"),
    ("out-not-writable", ["--out", "{tmp}/afile/runs"], "output folder must be writable"),
    ("check-missing-file", ["check", "{tmp}/none.yaml"], "none.yaml"),
    ("devices-unknown", ["devices", "nope"], "must be one of akida"),
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    np.savez(
        tmp_path / "bad.npz",
        x_train=np.zeros((5, 2, 2, 2, 2)),
        y_train=np.zeros(5, int),
        x_test=np.zeros((2, 4)),
        y_test=np.zeros(2, int),
    )
    (tmp_path / "space.yaml").write_text("params:\n  bits: {choices: [1]}\n")
    (tmp_path / "bits9.yaml").write_text("params:\n  bits: {choices: [9]}\n")
    (tmp_path / "m16.yaml").write_text("params:\n  n_values: {choices: [8, 16]}\n")
    (tmp_path / "afile").write_text("a file, not a folder\n")
    (tmp_path / "nothing").mkdir(exist_ok=True)
    (tmp_path / "nothing").rmdir()
    return tmp_path


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusal_is_one_clear_line(workdir: Path, args: list[str], expected: str) -> None:
    argv = [a.format(tmp=workdir) for a in args]
    if argv[0] not in ("check", "devices") and "--out" not in argv:
        argv += ["--out", str(workdir / "runs")]
    before = sorted(p.name for p in workdir.iterdir())
    proc = run_cli(*argv, cwd=workdir, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("error:")
    assert expected in lines[0]
    after = sorted(p.name for p in workdir.iterdir())
    assert after == before  # no run folder (or anything else) left behind


def test_count_of_cases_matches_docs() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
    assert f"{len(CASES)} bad-input cases" in doc.read_text()
