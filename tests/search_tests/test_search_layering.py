"""Readers of a run import the search's low modules, never its driver (torch, multiprocessing)."""

from __future__ import annotations

import subprocess
import sys


def test_reporting_and_search_do_not_import_the_driver() -> None:
    code = (
        "import sys\n"
        "import spikefit_search.reporting, spikefit_search.search\n"
        "import spikefit_search.reporting.run, spikefit_search.reporting.export\n"
        "print('spikefit_search.search.driver' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_the_driver_names_are_still_exported() -> None:
    import importlib

    import spikefit_search.search as search

    for name, module in search._LAZY.items():
        assert getattr(search, name) is getattr(
            importlib.import_module(f"spikefit_search.search.{module}"), name
        )
    for name in ("SearchOptions", "prepare", "run_search", "worker_loop", "check_seed"):
        assert callable(getattr(search, name))
