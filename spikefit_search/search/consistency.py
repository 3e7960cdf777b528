"""One study, one set of settings.

A study's trials are only comparable when they were trained the same way. Continuing a study
(same ``--out`` and ``--study``) with an option that changes what a trial means is refused before
anything runs; options that only change how much or how fast (``--budget``, ``--workers``,
``--sampler``, ``--accelerator``) are accepted and recorded in the manifest.

To make a new option part of a trial's identity, add one :class:`TrialSetting` to
:data:`TRIAL_SETTINGS`: the option's name and how to read its value from a manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from spikefit_search.exceptions import RunError

MISSING: Any = object()
"""What a reader returns for a manifest written before the setting existed (never compared)."""

Manifest = Mapping[str, Any]


def option(name: str, default: Any = MISSING) -> Callable[[Manifest], Any]:
    """Reader of ``manifest["options"][name]`` (the value given on the command line);
    ``default`` for a manifest written before the option existed, when that version could only
    have used the default."""

    def read(manifest: Manifest) -> Any:
        options = manifest.get("options")
        return options.get(name, default) if isinstance(options, Mapping) else MISSING

    return read


def _section(section: str, *keys: str) -> Callable[[Manifest], Any]:
    def read(manifest: Manifest) -> Any:
        part = manifest.get(section)
        if not isinstance(part, Mapping) or any(k not in part for k in keys):
            return MISSING
        return tuple(part[k] for k in keys) if len(keys) > 1 else part[keys[0]]

    return read


def _space(manifest: Manifest) -> Any:
    """The resolved space without where it was read from (a moved file is the same space)."""
    space = manifest.get("space")
    if not isinstance(space, Mapping):
        return MISSING
    return {k: v for k, v in space.items() if k not in ("path", "notes")}


def _classes(manifest: Manifest) -> Any:
    """The labels kept (a list in a written manifest, a tuple in a new one), None for all."""
    value = option("classes", None)(manifest)
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _epochs(manifest: Manifest) -> Any:
    """(warm-up, fine-tune) epochs a trial trains, ``--epochs`` or the space's defaults."""
    epochs = option("epochs")(manifest)
    space = manifest.get("space")
    if epochs is MISSING or not isinstance(space, Mapping):
        return MISSING
    if epochs is not None:
        warmup = max(1, round(int(epochs) * 2 / 3))
        return (warmup, max(1, int(epochs) - warmup))
    training = space.get("training") or {}
    return (int(training.get("warmup_epochs", 10)), int(training.get("finetune_epochs", 5)))


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return f"{value[0] + value[1]} ({value[0]} warm-up + {value[1]} fine-tune)"
    return repr(value) if isinstance(value, str) else str(value)


def _show_space(value: Any) -> str:
    return repr(value.get("name")) if isinstance(value, Mapping) else _show(value)


def _show_profile(value: Any) -> str:
    return f"sha256 {str(value)[:12]}…"


@dataclass(frozen=True)
class TrialSetting:
    """An option that changes what a trial means.

    Attributes:
        option: the command-line option without ``--`` (named in the error).
        read: its value in a manifest; :data:`MISSING` when the manifest predates it.
        show: how a value is written in the error.
        what: what changed, when it is not the option's value itself.
    """

    option: str
    read: Callable[[Manifest], Any]
    show: Callable[[Any], str] = _show
    what: str = ""


# Checked in this order, so the first difference named is the most specific one (a --timesteps
# change also changes the resolved space, but it is reported as --timesteps).
TRIAL_SETTINGS: tuple[TrialSetting, ...] = (
    TrialSetting("device", _section("device", "name")),
    TrialSetting("dataset", _section("dataset", "name")),
    TrialSetting("data-dir", option("data_dir")),
    TrialSetting("limit-train", option("limit_train")),
    TrialSetting("classes", _classes),  # runs made before it existed kept every class
    TrialSetting("seed", option("seed")),
    TrialSetting("timesteps", option("timesteps")),
    # event data binning; runs made before these options existed binned with the defaults
    TrialSetting("bin-mode", option("bin_mode", "count")),
    TrialSetting("downsample", option("downsample", 1)),
    TrialSetting("channel-group", option("channel_group", 1)),
    TrialSetting("epochs", _epochs),
    TrialSetting("fidelity", option("fidelity", "full")),  # earlier runs trained every trial fully
    TrialSetting("objective", option("objective")),
    TrialSetting("window-ms", _section("objective", "window_ms")),
    TrialSetting("space", _space, _show_space),
    TrialSetting(
        "device", _section("device", "sha256"), _show_profile, what="the device profile file"
    ),
)


def check_same_settings(old: Manifest, new: Manifest) -> None:
    """Refuse to continue the study of ``old`` with settings that change what a trial means.

    Raises:
        RunError: one line naming the option, the study's value and the new one.
    """
    study = new.get("study") or old.get("study")
    for setting in TRIAL_SETTINGS:
        before, after = setting.read(old), setting.read(new)
        if before is MISSING or after is MISSING or before == after:
            continue
        name = f"--{setting.option}"
        what = setting.what or name
        shown_before, shown_after = setting.show(before), setting.show(after)
        if shown_before == shown_after:  # same name, other content (an edited space file)
            shown_before, shown_after = f"{shown_before} as it was then", "an edited one"
        raise RunError(
            f"a study keeps the settings its trials were trained with, but study {study} was "
            f"created with {what} {shown_before} and this command asks for {shown_after}; "
            f"start a new study with --study NEW_NAME (or another --out), or continue with "
            f"the study's {name}."
        )


def accepted_changes(old: Manifest, new: Manifest) -> dict[str, dict[str, Any]]:
    """Options that differ between the study's manifest and this command, e.g. ``budget``."""
    before = old.get("options") if isinstance(old.get("options"), Mapping) else {}
    after = new.get("options") if isinstance(new.get("options"), Mapping) else {}
    assert isinstance(before, Mapping) and isinstance(after, Mapping)
    return {
        key: {"from": before.get(key), "to": after[key]}
        for key in after
        if key in before and before.get(key) != after[key]
    }


def continued_manifest(old: Manifest, new: Manifest) -> dict[str, Any] | None:
    """``old`` with this command's options and a ``continued`` entry recording what changed;
    None when nothing changed (the manifest stays as it is)."""
    changes = accepted_changes(old, new)
    if not changes:
        return None
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "changed": changes,
    }
    history = old.get("continued")
    return {
        **old,
        "options": dict(new["options"]),
        "continued": [*(history if isinstance(history, list) else []), entry],
    }
