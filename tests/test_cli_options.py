"""The search command's options come from SearchOptions's fields; the multi-chip helpers."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from spikefit_search._cli_options import SEARCH_FLAGS, options_signature, split_values
from spikefit_search.exceptions import ConfigError, SpikefitError
from spikefit_search.reporting.searches import Confirmation, command_line, options_per_device
from spikefit_search.search import SearchOptions


def test_every_option_has_the_fields_default_and_type() -> None:
    params = options_signature(SearchOptions).parameters
    for field in dataclasses.fields(SearchOptions):
        if field.name in params:
            assert params[field.name].default == field.default, field.name
    assert list(params) == list(SEARCH_FLAGS)


def test_a_field_without_a_flag_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class More(SearchOptions):
        fresh: int = 3

    with pytest.raises(TypeError, match=r"\['fresh'\] have neither"):
        options_signature(More)


def test_values_become_options_and_the_rest() -> None:
    values = {p.name: p.default for p in options_signature(SearchOptions).parameters.values()}
    options, rest = split_values(SearchOptions, {**values, "classes": "0-2", "budget": 7})
    assert options == SearchOptions(budget=7, classes=(0, 1, 2))
    assert rest == {"confirm": 0, "confirm_epochs": None, "confirm_seeds": 1}


def test_options_per_device_names_each_study() -> None:
    several = options_per_device(SearchOptions(device="speck, loihi", study="s"))
    assert [(o.device, o.study) for o in several] == [("speck", "s-speck"), ("loihi", "s-loihi")]
    (one,) = options_per_device(SearchOptions(device="speck", study="s"))
    assert one.study == "s"
    with pytest.raises(ConfigError, match="--device must name at least one chip"):
        options_per_device(SearchOptions(device=" , "))


def test_confirmation_is_checked() -> None:
    Confirmation(2, 4, 3).validate()
    for bad in (Confirmation(-1), Confirmation(1, epochs=1), Confirmation(1, seeds=0)):
        with pytest.raises(SpikefitError):
            bad.validate()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--budget", "5"], "spikefit-search --budget 10"),
        (["--budget=5", "--out", "a b"], "spikefit-search --budget=10 --out 'a b'"),
        (["--device", "speck"], "spikefit-search --device speck --budget 10"),
    ],
)
def test_command_line_sets_the_budget(argv: list[str], expected: str) -> None:
    assert command_line(argv, budget=10) == expected
    assert command_line(argv).startswith("spikefit-search " + argv[0])


def test_help_and_other_commands_do_not_import_the_search() -> None:
    code = (
        "import sys\n"
        "from spikefit_search.cli import main\n"
        "sys.argv = ['spikefit-search', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'spikefit_search.search' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False False"
