"""Benchmarks print their results and write to docs/benchmarks.md only with --write."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import _common  # noqa: E402
import search_bench  # noqa: E402


def test_bench_results_reach_the_docs_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "benchmarks.md"
    monkeypatch.setattr(_common, "BENCH_MD", docs)
    monkeypatch.setattr(search_bench, "BENCH_MD", docs)
    monkeypatch.setattr(sys, "argv", ["bench/x.py", "--repeats", "3", "--write"])
    _common.report("Speed", torch.device("cpu"), "| a |\n|---|\n| 1 |")
    search_bench.append("Rejections", ["- 1 ms per candidate"])
    assert not docs.exists()
    assert "Speed" in capsys.readouterr().out
    _common.report("Speed", torch.device("cpu"), "| a |\n|---|\n| 1 |", write=True)
    monkeypatch.setattr(search_bench, "WRITE", True)
    search_bench.append("Rejections", ["- 1 ms per candidate"])
    text = docs.read_text()
    assert "### Speed" in text and "### Rejections" in text
    assert "`python bench/x.py --repeats 3`" in text  # the command that reproduces the figure


def test_bench_results_land_in_their_own_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text(
        f"# Benchmarks\n\n{_common.TRAINING}\n\n### Old speed\n\nx\n\n"
        f"{search_bench.SECTION}\n\n### Old search\n\ny\n\n## Later\n\nz\n"
    )
    monkeypatch.setattr(_common, "BENCH_MD", docs)
    monkeypatch.setattr(search_bench, "BENCH_MD", docs)
    monkeypatch.setattr(search_bench, "WRITE", True)
    _common.report("Speed", torch.device("cpu"), "| a |\n|---|\n| 1 |", write=True)
    search_bench.append("Rejections", ["- 1 ms per candidate"])
    cpu = torch.device("cpu")
    _common.report("Overhead", cpu, "| b |", write=True, section=_common.COMPRESSION)
    text = docs.read_text()
    order = ["### Old speed", "### Speed", search_bench.SECTION, "### Old search", "### Rejections"]
    order += ["## Later", _common.COMPRESSION, "### Overhead"]
    at = [text.index(part) for part in order]
    assert at == sorted(at)  # each block ends its own section; a missing section is added last


def test_log_objective_sampler_shows_the_log_of_the_second_objective() -> None:
    import math

    import optuna
    from optuna.trial import TrialState

    seen: list[list[float]] = []

    class Spy(optuna.samplers.RandomSampler):
        def sample_independent(self, study, trial, name, dist):  # type: ignore[no-untyped-def]
            seen.extend(list(t.values) for t in study.get_trials(states=(TrialState.COMPLETE,)))
            return super().sample_independent(study, trial, name, dist)

    study = optuna.create_study(directions=["maximize", "minimize"])
    for acc, energy in ((0.8, 2.0), (0.6, 40.0)):
        study.add_trial(
            optuna.trial.create_trial(
                values=[acc, energy],
                params={"x": 1},
                distributions={"x": optuna.distributions.IntDistribution(0, 3)},
            )
        )
    study.sampler = search_bench.LogObjectiveSampler(Spy(seed=0))  # type: ignore[assignment]
    study.ask({"x": optuna.distributions.IntDistribution(0, 3)})
    assert seen == [[0.8, math.log(2.0)], [0.6, math.log(40.0)]]
    assert [t.values for t in study.trials[:2]] == [[0.8, 2.0], [0.6, 40.0]]  # stored unchanged


def test_the_same_measurement_written_again_replaces_its_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "benchmarks.md"
    monkeypatch.setattr(_common, "BENCH_MD", docs)
    cpu = torch.device("cpu")
    monkeypatch.setattr(sys, "argv", ["bench/x.py", "--threads", "1"])
    _common.report("Speed", cpu, "| a |\n|---|\n| 1 |", write=True)
    monkeypatch.setattr(sys, "argv", ["bench/x.py", "--threads", "2"])
    _common.report("Speed", cpu, "| a |\n|---|\n| 2 |", write=True)  # another command: kept
    _common.report("Speed", cpu, "| a |\n|---|\n| 3 |", write=True)  # the same: replaced
    text = docs.read_text()
    assert text.count("### Speed") == 2
    assert "| 1 |" in text and "| 2 |" not in text and "| 3 |" in text
    assert text.index("--threads 1") < text.index("| 3 |")
