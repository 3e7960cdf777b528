from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from spikefit_search import _io


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "trials.csv"
    _io.atomic_write_csv(path, pd.DataFrame({"a": [1, 2]}))
    _io.atomic_write_csv(path, pd.DataFrame({"a": [3]}))
    assert path.read_text() == "a\n3\n"
    assert [p.name for p in tmp_path.iterdir()] == ["trials.csv"]


def test_crash_during_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "manifest.json"
    _io.atomic_write_json(path, {"version": 1})

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        _io.atomic_write_json(path, {"version": 2})
    assert '"version": 1' in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temporary left over


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_written_files_respect_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        path = _io.atomic_write_text(tmp_path / "report.html", "<html></html>")
        rewritten = _io.atomic_write_text(path, "<html>2</html>")  # a replaced file too
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert rewritten.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.umask(old) == old  # the process umask is left as it was
