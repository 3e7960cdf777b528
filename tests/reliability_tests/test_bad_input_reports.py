"""Refusals of report, export and retrain: one line, non-zero exit, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from reliability_cli import run_cli

from spikefit_search.search import SearchOptions, run_search


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("battery")
    space = root / "tiny.yaml"
    space.write_text(
        "network: {kind: mlp, timesteps: 4}\nparams:\n  n_values: {choices: [3]}\n"
        "  bits: {choices: [4]}\n  width: {choices: [48]}\n"
        "training: {warmup_epochs: 6, finetune_epochs: 2}\n"
    )
    result = run_search(
        SearchOptions(
            device="loihi",
            budget=1,
            space=str(space),
            out=str(root / "runs"),
            limit_train=200,
            accelerator="cpu",
        )
    )
    return result.run_dir


def exported(run_dir: Path, tmp: Path) -> dict[str, object]:
    out = tmp / "good.yaml"
    proc = run_cli("export", str(run_dir), "-o", str(out), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(out.read_text())
    assert isinstance(data, dict)
    return data


CASES = [
    ("report-not-a-run", ["report", "{tmp}"], "must be a spikefit-search run folder"),
    ("report-missing", ["report", "{tmp}/nowhere"], "nowhere"),
    ("export-not-a-run", ["export", "{tmp}"], "must be a spikefit-search run folder"),
    (
        "export-pick-nothing",
        ["export", "{run}", "--max-energy", "1e-12"],
        "lowest energy available",
    ),
    ("export-unknown-trial", ["export", "{run}", "--trial", "999"], "999"),
    ("retrain-missing-file", ["retrain", "{tmp}/none.yaml"], "none.yaml"),
    ("retrain-missing-key", ["retrain", "{tmp}/missing.yaml"], "pipeline"),
    ("retrain-wrong-type", ["retrain", "{tmp}/wrongtype.yaml"], "n_values"),
    ("export-o-folder", ["export", "{run}", "-o", "{tmp}/dir.yaml"], "-o must name a file"),
    ("export-nir-folder", ["export", "{run}", "--nir", "{tmp}"], "--nir must name a file"),
    ("retrain-nir-folder", ["retrain", "{tmp}/good.yaml", "--nir", "{tmp}"], "--nir must name"),
    ("report-manifest-invalid", ["report", "{tmp}/badjson"], "must be readable JSON"),
    ("export-manifest-wrong-shape", ["export", "{tmp}/badshape"], "must record device as"),
]


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusal_is_one_clear_line(
    run_dir: Path, tmp_path: Path, args: list[str], expected: str
) -> None:
    good = exported(run_dir, tmp_path)
    missing = {k: v for k, v in good.items() if k != "pipeline"}
    (tmp_path / "missing.yaml").write_text(yaml.safe_dump(missing))
    wrong = dict(good)
    wrong["pipeline"] = {**good["pipeline"], "n_values": "four"}  # type: ignore[dict-item]
    (tmp_path / "wrongtype.yaml").write_text(yaml.safe_dump(wrong))
    (tmp_path / "dir.yaml").mkdir()
    for name, text in (("badjson", "{not json"), ("badshape", '{"study": "s", "device": "x"}')):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(text)
    before = sorted(str(p) for p in tmp_path.rglob("*")) + sorted(
        str(p) for p in run_dir.rglob("*") if "journal" not in p.name and p.name != ".lock"
    )
    argv = [a.format(tmp=tmp_path, run=run_dir) for a in args]
    proc = run_cli(*argv, cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:") and "Traceback" not in proc.stderr
    assert expected in lines[0]
    after = sorted(str(p) for p in tmp_path.rglob("*")) + sorted(
        str(p) for p in run_dir.rglob("*") if "journal" not in p.name and p.name != ".lock"
    )
    assert after == before


def test_count_of_cases_matches_docs() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
    assert f"{len(CASES)} bad-input cases for `report`" in doc.read_text()
