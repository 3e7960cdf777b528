"""One place per chip family: every shipped profile names a registered family, every family has
a profile, and generic code asks the family instead of comparing chip names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import spikefit_search
from spikefit_search._resources import list_yaml
from spikefit_search._yaml import read_yaml
from spikefit_search.exceptions import ProfileError
from spikefit_search.hardware import CHIPS, MAPPING_MODELS, chip_family, load_profile
from spikefit_search.hardware.chips import family_of_neuron
from spikefit_search.hardware.energy_model import ENERGY_MODELS
from spikefit_search.hardware.loader import PROFILE_DIR, parse_profile
from spikefit_search.reporting.nir_export import READERS
from spikefit_search.snn.config import CHIP_FAMILIES as NEURONS

SHIPPED = list_yaml(PROFILE_DIR)  # the chips and the generic template


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_profile_names_a_registered_family(name: str) -> None:
    data = read_yaml(SHIPPED[name])
    assert "family" in data, f"{name}.yaml names no family"
    assert data["family"] in CHIPS
    profile = load_profile(SHIPPED[name])
    family = chip_family(profile)
    assert family.name == data["family"]
    if family.mapping_models is not None:
        assert profile.mapping_source.value in family.mapping_models
    if family.energy_models is not None:
        assert profile.energy.model in family.energy_models
    if family.neurons is not None:
        neuron = profile.chip_neuron
        assert (neuron is None) if not family.neurons else (neuron.family in family.neurons)


def test_every_registered_family_has_a_shipped_profile() -> None:
    used = {read_yaml(path)["family"] for path in SHIPPED.values()}
    assert set(CHIPS.names()) == used


@pytest.mark.parametrize("name", CHIPS.names())
def test_each_family_lives_in_its_own_module_and_names_registered_code(name: str) -> None:
    family = CHIPS.get(name)
    module = importlib.import_module(f"spikefit_search.hardware.chips.{name}")
    assert family in vars(module).values(), f"chips/{name} does not define its family"
    for model in family.mapping_models or ():
        assert model in MAPPING_MODELS
    for model in family.energy_models or ():
        assert model in ENERGY_MODELS
    for neuron in family.neurons or ():
        assert neuron in NEURONS
        assert family_of_neuron(neuron) is family  # one family owns each chip neuron
    assert set(family.nir_readers) <= set(READERS)
    assert len({e.file_name for e in family.exporters}) == len(family.exporters)


def test_every_chip_neuron_has_a_family() -> None:
    assert all(family_of_neuron(n) is not None for n in NEURONS)


def _generic_text(old: str, new: str) -> str:
    """The shipped template with ``old`` replaced by ``new``."""
    text = SHIPPED["generic"].read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new)


def test_a_profile_without_a_family_is_generic() -> None:
    text = _generic_text("family: generic\n", "")
    assert parse_profile(text, "mine.yaml").family == "generic"


def test_the_loader_refuses_an_unknown_family() -> None:
    text = _generic_text("family: generic", "family: mychip")
    with pytest.raises(ProfileError, match=r"family must be one of akida, .*but got 'mychip'"):
        parse_profile(text, "mine.yaml")


def test_the_loader_holds_a_profile_to_its_family() -> None:
    text = _generic_text("family: generic", "family: truenorth")  # budget, not crossbar
    with pytest.raises(
        ProfileError, match=r"mapping.model must be crossbar for family truenorth, but got 'budget'"
    ):
        parse_profile(text, "mine.yaml")


CHIP_WORDS = {
    *CHIPS.names(),
    *NEURONS,
    *(n for n in ENERGY_MODELS.names() if n != "events"),
    *(n for n in MAPPING_MODELS.names() if n != "budget"),
    *(p for p in SHIPPED if p != "generic"),
}
"""Names only a chip family's own code may compare against."""


def test_generic_code_compares_no_chip_name() -> None:
    """Outside ``hardware/chips/`` and the neuron itself (``snn/``), code dispatches through the
    family registry instead of ``if family == "xylo"``."""
    root = Path(spikefit_search.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("hardware/chips/", "snn/")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            for side in (node.left, *node.comparators):
                items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                found += [
                    f"{rel}:{node.lineno} compares {item.value!r}"
                    for item in items
                    if isinstance(item, ast.Constant) and item.value in CHIP_WORDS
                ]
    assert not found, "\n".join(found)
