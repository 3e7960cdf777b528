"""Every source a user sees in ``devices NAME`` is a reference recorded in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from spikefit_search._resources import data_dir
from spikefit_search.hardware import list_profiles, load_profile
from spikefit_search.hardware.loader import PROFILE_DIR
from spikefit_search.hardware.profile import ENERGY_STATUSES, Constant

PROFILES_DOC = Path(__file__).resolve().parents[2] / "docs" / "profiles.md"


@pytest.mark.parametrize("name", list_profiles())
def test_every_source_key_is_a_listed_reference(name: str) -> None:
    text = (data_dir(PROFILE_DIR) / f"{name}.yaml").read_text()
    raw = yaml.safe_load(text)
    doc = PROFILES_DOC.read_text()
    references = doc[doc.index("## References") :]
    section = references[references.index(f"### {name}\n") :]
    assert raw["sources"], f"{name} cites no reference"
    for key, citation in raw["sources"].items():
        assert f"- `{key}`: {citation}" in section, (name, key)


@pytest.mark.parametrize("name", [*list_profiles(), "generic"])
def test_profiles_cite_nothing_outside_the_repository(name: str) -> None:
    text = (data_dir(PROFILE_DIR) / f"{name}.yaml").read_text()
    assert "hardware.md" not in text and "shared/" not in text


@pytest.mark.parametrize("name", list_profiles())
def test_every_energy_constant_has_an_honest_status(name: str) -> None:
    energy = load_profile(name).energy
    for key, entry in energy.items():
        assert entry.status in ENERGY_STATUSES, key
        if isinstance(entry, Constant):  # a figure of 0 is never a placeholder for "unknown"
            assert entry.value is None or entry.value > 0, (name, key)
        if "placeholder" in entry.source or "our estimate" in entry.source:
            assert entry.estimated, (name, key, entry.source)
        if "as quoted by" in entry.source and entry.status != "estimated":
            assert entry.secondary, (name, key, entry.source)
