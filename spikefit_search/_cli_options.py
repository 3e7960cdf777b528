"""The options of ``spikefit-search search``, made from the fields of
:class:`~spikefit_search.search.SearchOptions`.

Each search option is declared once, as a field of ``SearchOptions`` (its name, type and
default); this module gives each field only what the command line adds: its help text, and for
a field whose command-line form differs, that form and how it is parsed. A field of
``SearchOptions`` that is neither here nor in :data:`NOT_ON_COMMAND_LINE` is refused when the
command is made, so a new field cannot be forgotten. Options of the command that are not search
options (``--confirm``) are declared here in full.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

BIN_MODE_HELP = (
    "Event data: count (events per pixel and time bin, up to 255) or binary (1 where any "
    "event). Refused on image datasets."
)
DOWNSAMPLE_HELP = (
    "Event data: sum events over N x N pixel blocks (128x128 DVS with 2 -> 64x64). Refused on "
    "image datasets."
)
CHANNEL_GROUP_HELP = (
    "Event data: sum N adjacent channels (2 merges a camera's polarities; SHD's 700 channels "
    "with 4 -> 175). Refused on image datasets."
)
CLASSES_HELP = (
    "Keep only these classes, e.g. 0-7 or 0,1,2,3 (relabelled 0..k-1 in ascending order), for a "
    "chip with fewer outputs than the data has classes."
)
DATASET_HELP = (
    "digits, fashion-mnist, mnist, npz, a .npz path, or event data: an N-MNIST folder, an SHD "
    ".h5 file or an event .npz."
)
ACCELERATOR_HELP = "auto, cpu or cuda."


def _parse_classes(text: str | None) -> tuple[int, ...] | None:
    from spikefit_search.data import parse_classes

    return parse_classes(text) if text is not None else None


_NO_DEFAULT: Any = inspect.Parameter.empty


@dataclass(frozen=True)
class Flag:
    """What the command line adds to one option.

    Args:
        help: the help text.
        hidden: left out of ``--help``.
        cli_type: the command line's type, where the field's differs (then ``parse`` turns the
            value into the field's); for an option that is no field, its type.
        parse: the value as the field takes it, from the command line's.
        default: the default of an option that is no field (a field's is its own).
    """

    help: str
    hidden: bool = False
    cli_type: Any = None
    parse: Callable[[Any], Any] | None = None
    default: Any = _NO_DEFAULT

    def option(self) -> Any:
        return typer.Option(help=self.help, hidden=self.hidden)


SEARCH_FLAGS: dict[str, Flag] = {  # in the order of --help
    "device": Flag("Chip name or profile YAML path; comma-separated for several."),
    "budget": Flag("Trained candidates (rejected ones are free)."),
    "dataset": Flag(DATASET_HELP),
    "data_dir": Flag("Folder with IDX files, or a .npz."),
    "space": Flag("Search space name (mlp, conv) or YAML path."),
    "epochs": Flag("Epochs per candidate (2/3 warm-up, 1/3 fine-tune)."),
    "timesteps": Flag("Fix the timesteps T."),
    "accelerator": Flag(ACCELERATOR_HELP),
    "out": Flag("Folder that holds run folders."),
    "study": Flag("Study name (default DEVICE-SPACE-DATA)."),
    "storage": Flag("Optuna RDB URL (e.g. PostgreSQL) instead of a journal."),
    "workers": Flag("Worker processes on this machine."),
    "seed": Flag("Seed of the sampler and of every trial."),
    "sampler": Flag("gp, tpe, nsga2 or random."),
    "fidelity": Flag(
        "full: train every candidate with all its epochs; halving: multi-objective successive "
        "halving (most candidates briefly, the promising ones fully)."
    ),
    "objective": Flag(
        "Second objective, minimised: energy (total), dynamic (energy without the static term), "
        "sops or latency (clocked chips). Default: energy where the chip's energy is modelled, "
        "else sops."
    ),
    "window_ms": Flag(
        "Inference window in ms of an event-driven chip (Speck, DYNAP-SE2): the time it is on "
        "per inference. Default: the data's recording length, else the profile's."
    ),
    "limit_train": Flag("Use at most this many training samples.", hidden=True),
    "confirm": Flag(
        "After the budget, retrain the top K front points in full.", cli_type=int, default=0
    ),
    "confirm_epochs": Flag(
        "Epochs of --confirm (default 2x the space's).", cli_type=int | None, default=None
    ),
    "confirm_seeds": Flag(
        "Seeds per --confirm point: the mean ± its standard error is shown.",
        cli_type=int,
        default=1,
    ),
    "bin_mode": Flag(BIN_MODE_HELP),
    "downsample": Flag(DOWNSAMPLE_HELP),
    "channel_group": Flag(CHANNEL_GROUP_HELP),
    "classes": Flag(CLASSES_HELP, cli_type=str | None, parse=_parse_classes),
}

NOT_ON_COMMAND_LINE = frozenset({"max_rejections", "max_failures"})
"""Fields of ``SearchOptions`` for library callers only."""


def _fields(options_class: type) -> dict[str, dataclasses.Field[Any]]:
    fields = {f.name: f for f in dataclasses.fields(options_class)}
    missing = set(fields) - set(SEARCH_FLAGS) - NOT_ON_COMMAND_LINE
    if missing:
        raise TypeError(
            f"every field of {options_class.__name__} must have a flag or be marked as not on "
            f"the command line, but {sorted(missing)} have neither"
        )
    return fields


def options_signature(options_class: type) -> inspect.Signature:
    """The parameters of the search command, for typer: one per entry of :data:`SEARCH_FLAGS`,
    a field's with its type (or its ``cli_type``) and default."""
    fields = _fields(options_class)
    hints = typing.get_type_hints(options_class)
    params = []
    for name, flag in SEARCH_FLAGS.items():
        if name in fields:
            kind = flag.cli_type if flag.cli_type is not None else hints[name]
            default = fields[name].default
        else:
            kind, default = flag.cli_type, flag.default
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[kind, flag.option()],
            )
        )
    return inspect.Signature(params, return_annotation=None)


def split_values(options_class: type, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The search command's values as ``options_class`` (each parsed where its flag says) and
    the values of the options that are no field, by name."""
    fields = _fields(options_class)
    own = {k: v for k, v in values.items() if k in fields}
    for name, value in own.items():
        parse = SEARCH_FLAGS[name].parse
        if parse is not None:
            own[name] = parse(value)
    rest = {k: v for k, v in values.items() if k not in fields}
    return options_class(**own), rest
