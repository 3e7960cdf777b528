"""One study, one set of settings: continuing with options that change a trial is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import search_options

from spikefit_search.exceptions import RunError
from spikefit_search.search import SearchOptions
from spikefit_search.search.consistency import TRIAL_SETTINGS, check_same_settings
from spikefit_search.search.driver import open_run
from spikefit_search.search.preparation import prepare
from spikefit_search.search.run_folder import MANIFEST


def options(tmp_path: Path, space: Path, **kw: Any) -> SearchOptions:
    return search_options.options(tmp_path, space, **({"study": "s"} | kw))


def start(opts: SearchOptions) -> dict[str, Any]:
    """Create or reopen the run (as ``search`` does before training) and read its manifest."""
    prep = prepare(opts)
    open_run(prep)
    manifest: dict[str, Any] = json.loads((prep.run_dir / MANIFEST).read_text())
    return manifest


@pytest.mark.parametrize(
    ("change", "option"),
    [
        ({"timesteps": 16}, "--timesteps"),
        ({"epochs": 2}, "--epochs"),
        ({"seed": 7}, "--seed"),
        ({"device": "loihi2"}, "--device"),
        ({"limit_train": 300}, "--limit-train"),
    ],
)
def test_continuing_with_a_trial_changing_option_is_refused(
    tmp_path: Path, tiny_space: Path, change: dict[str, Any], option: str
) -> None:
    first = start(options(tmp_path, tiny_space))
    with pytest.raises(RunError) as err:
        start(options(tmp_path, tiny_space, **change))
    message = str(err.value)
    assert option in message and "--study" in message and "--out" in message
    assert "\n" not in message
    run = tmp_path / "runs" / "s"
    assert json.loads((run / MANIFEST).read_text()) == first  # nothing recorded


def test_an_edited_space_file_is_refused(tmp_path: Path, tiny_space: Path) -> None:
    start(options(tmp_path, tiny_space))
    tiny_space.write_text(tiny_space.read_text().replace("high: 24", "high: 40"))
    with pytest.raises(RunError, match=r"--space 'tiny' as it was then.*an edited one"):
        start(options(tmp_path, tiny_space))


def test_harmless_changes_continue_and_are_recorded(tmp_path: Path, tiny_space: Path) -> None:
    first = start(options(tmp_path, tiny_space))
    assert "continued" not in first
    same = start(options(tmp_path, tiny_space))
    assert same == first  # nothing changed, nothing recorded
    second = start(options(tmp_path, tiny_space, budget=5, workers=2))
    (entry,) = second["continued"]
    assert entry["changed"] == {"budget": {"from": 3, "to": 5}, "workers": {"from": 1, "to": 2}}
    assert second["options"]["budget"] == 5 and second["created"] == first["created"]
    third = start(options(tmp_path, tiny_space, budget=6, workers=2, sampler="random"))
    assert [e["changed"] for e in third["continued"]][1] == {
        "budget": {"from": 5, "to": 6},
        "sampler": {"from": "gp", "to": "random"},
    }


def test_epochs_compare_as_trained_not_as_typed(tmp_path: Path, write_tiny_space_fn: Any) -> None:
    space = write_tiny_space_fn(tmp_path, warmup_epochs=4, finetune_epochs=2)
    start(options(tmp_path, space))  # the space's 4 warm-up + 2 fine-tune
    start(options(tmp_path, space, epochs=6))  # 6 splits into the same 4 + 2: accepted
    with pytest.raises(RunError, match=r"--epochs 6 \(4 warm-up \+ 2 fine-tune\).* 5 \(3"):
        start(options(tmp_path, space, epochs=5))


def test_manifests_from_before_a_setting_existed_are_not_refused() -> None:
    old = {"study": "s", "options": {"seed": 0}}
    check_same_settings(old, {"study": "s", "options": {"seed": 0, "objective": "sops"}})
    assert {s.option for s in TRIAL_SETTINGS} >= {
        "device",
        "dataset",
        "space",
        "timesteps",
        "epochs",
        "seed",
        "objective",
    }
