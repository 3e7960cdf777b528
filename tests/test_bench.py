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
