"""Command line: ``spikefit-search [search] ...``, ``report``, ``export``, ``retrain``, ``check``,
``devices``, ``train``.

Commands parse options, call one library function and render what it returns. Every
:class:`SpikefitError` becomes one red line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from enum import Enum
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandInfo

from spikefit_search import __version__
from spikefit_search._cli_options import (
    ACCELERATOR_HELP,
    BIN_MODE_HELP,
    CHANNEL_GROUP_HELP,
    CLASSES_HELP,
    DATASET_HELP,
    DOWNSAMPLE_HELP,
    options_signature,
    split_values,
)
from spikefit_search.exceptions import SpikefitError

if TYPE_CHECKING:
    from spikefit_search.snn import NetworkConfig


class _Group(TyperGroup):
    """Help without a type label on flags: ``--version`` and ``--help`` take no value."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None and not isinstance(command, _SearchCommand):  # it does its own
            _plain_flags(command.get_params(ctx))
        return command


def _plain_flags(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


app = typer.Typer(
    name="spikefit-search",
    cls=_Group,
    help=(
        "Find spiking networks that fit a neuromorphic chip and trade accuracy against energy."
        "\n\nWithout a command, runs search: `spikefit-search --device speck --budget 50` is "
        "`spikefit-search search --device speck --budget 50`."
    ),
    no_args_is_help=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    """Print one red error line and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def guarded(fn: F) -> F:
    """Turn library errors into one line and exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpikefitError as exc:
            raise fail(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        console.print(f"spikefit-search {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Find spiking networks that fit a neuromorphic chip."""


class Format(str, Enum):
    """How ``devices``, ``check`` and ``report`` print: for people, or for scripts."""

    table = "table"
    csv = "csv"
    json = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", help="table (for people), csv or json (for scripts).")
]


def _emit(records: list[dict[str, Any]], fmt: Format, document: Any = None) -> None:
    """Write ``records`` as CSV (one header, one row each) or ``document`` (default the records)
    as JSON to stdout, without colours or wrapping."""
    import csv
    import json

    if fmt == Format.json:
        sys.stdout.write(
            json.dumps(records if document is None else document, indent=2, default=str)
        )
        sys.stdout.write("\n")
        return
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


BinModeOption = Annotated[str, typer.Option(help=BIN_MODE_HELP)]
DownsampleOption = Annotated[int, typer.Option(help=DOWNSAMPLE_HELP)]
ChannelGroupOption = Annotated[int, typer.Option(help=CHANNEL_GROUP_HELP)]
ClassesOption = Annotated[str | None, typer.Option(help=CLASSES_HELP)]


@app.command()
@guarded
def train(
    dataset: Annotated[str, typer.Option(help=DATASET_HELP)] = "digits",
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with IDX files, or a .npz file.")
    ] = None,
    hidden: Annotated[str, typer.Option(help="Hidden widths, comma-separated.")] = "128",
    timesteps: Annotated[int, typer.Option(help="Simulation steps per sample.")] = 10,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 20,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 3e-3,
    batch_size: Annotated[int, typer.Option(help="Samples per step.")] = 64,
    seed: Annotated[int, typer.Option(help="Seed for weights, shuffling and rate coding.")] = 0,
    accelerator: Annotated[str, typer.Option(help=ACCELERATOR_HELP)] = "auto",
    bin_mode: BinModeOption = "count",
    downsample: DownsampleOption = 1,
    channel_group: ChannelGroupOption = 1,
    classes: ClassesOption = None,
) -> None:
    """Train one float spiking MLP (no compression) and print its accuracy."""
    from spikefit_search.data import Binning, load_dataset, parse_classes
    from spikefit_search.data.binning import check_binning_applies, check_binning_options
    from spikefit_search.search.options import check_seed
    from spikefit_search.search.space import MAX_TIMESTEPS, MAX_WIDTH
    from spikefit_search.snn import NetworkConfig
    from spikefit_search.training import TrainConfig, resolve_device, train_network

    if epochs < 1 or not 1 <= timesteps <= MAX_TIMESTEPS:
        raise fail(
            f"--epochs must be at least 1 and --timesteps within 1..{MAX_TIMESTEPS}, but got "
            f"{epochs} and {timesteps}."
        )
    check_seed(seed, "--seed")
    check_binning_options(bin_mode, downsample, channel_group)
    widths = _parse_ints("hidden", hidden)
    if not all(1 <= w <= MAX_WIDTH for w in widths):
        raise fail(f"--hidden widths must be within 1..{MAX_WIDTH}, but got {hidden!r}.")
    device = resolve_device(accelerator)
    binning = Binning(  # event data: T frames per recording
        timesteps=timesteps,
        mode=bin_mode,  # type: ignore[arg-type]  # checked above
        downsample=downsample,
        channel_group=channel_group,
    )
    labels = parse_classes(classes) if classes is not None else None
    data = load_dataset(dataset, data_dir=data_dir, seed=seed, binning=binning, classes=labels)
    check_binning_applies(binning, data)
    net = NetworkConfig(
        input_shape=data.input_shape,
        n_classes=data.n_classes,
        hidden=widths,
        timesteps=timesteps,
        encoder="events" if data.timesteps else "rate",
    )
    result = train_network(
        net,
        data,
        TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed),
        device=device,
    )
    assert result.test is not None
    console.print(
        f"{dataset}: {'-'.join(str(s.n_inputs) for s in net.layer_specs())}-{data.n_classes} "
        f"T={timesteps}, {epochs} epochs on {device.type}: validation accuracy "
        f"{result.val_accuracy:.2%}, test accuracy {result.test_accuracy:.2%}, "
        f"{result.test.activity.total_sops:,.0f} SOPs/sample, {result.seconds:.1f} s"
    )


class _SearchCommand(TyperCommand):
    """The search command, whose options are made from ``SearchOptions``'s fields
    (:mod:`spikefit_search._cli_options`) when it is first parsed or its help shown: importing
    the search takes seconds (torch), which ``--help``, ``--version`` and the other commands do
    not wait for."""

    _made: Any = None

    def _real(self) -> Any:
        if self._made is None:
            from spikefit_search.search import SearchOptions

            _run_search.__signature__ = options_signature(SearchOptions)  # type: ignore[attr-defined]
            info = CommandInfo(name=self.name, callback=guarded(_run_search))
            self._made = typer.main.get_command_from_info(
                info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
        return self._made

    @property
    def params(self) -> list[Any]:
        return self._real().params

    @params.setter
    def params(self, value: list[Any]) -> None:
        """The parameters typer made from :func:`search`'s signature: none."""

    @property
    def callback(self) -> Any:
        return self._real().callback

    @callback.setter
    def callback(self, value: Any) -> None:
        """Typer's wrapper of :func:`search`, which takes no options."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


@app.command(cls=_SearchCommand)
def search() -> None:
    """Search for networks that fit the chip: accuracy up, energy per inference down."""


def _run_search(**values: Any) -> None:
    """:func:`search`'s body; its options are :func:`options_signature`'s."""
    # on screen at once: the imports and the data below take seconds
    console.print(
        f"[dim]spikefit-search: preparing {values['device']} on {values['dataset']} ...[/]"
    )
    from spikefit_search.reporting.live import front_table
    from spikefit_search.reporting.searches import (
        Confirmation,
        ConfirmedFront,
        SearchInterrupted,
        device_names,
        search_devices,
    )
    from spikefit_search.search import SearchOptions

    device_names(values["device"])  # refused before any other option is read
    options, rest = split_values(SearchOptions, values)
    confirmation = Confirmation(rest["confirm"], rest["confirm_epochs"], rest["confirm_seeds"])
    try:
        for step in search_devices(options, confirmation, argv=sys.argv[1:], watch=_live):
            if isinstance(step, ConfirmedFront):
                from spikefit_search.reporting.confirm import confirmed_table

                console.print(confirmed_table(step.confirmed))
                console.print(f"[dim]wrote {step.confirmed.path}[/]", soft_wrap=True)
                continue
            result = step.result
            console.print(front_table(step.trials))
            for note in result.notes:
                console.print(f"[dim]- {note}[/]")
            console.print(step.summary)
            console.print(f"Run folder: [bold]{result.run_dir}[/]", highlight=False, soft_wrap=True)
            if step.already_trained is not None:
                console.print(
                    f"[yellow]nothing to train:[/] study {result.study_name} already has "
                    f"{step.already_trained} trained candidates (--budget "
                    f"{step.options.budget}). To extend it, raise the budget: "
                    f"{step.extend_command}",
                    soft_wrap=True,
                    highlight=False,
                )
            if step.journal is not None:
                console.print(f"[dim]optuna-dashboard {step.journal}[/]", soft_wrap=True)
            if not step.finished:
                raise typer.Exit(code=2)
    except SearchInterrupted as stop:
        from spikefit_search._interrupt import exit_status, interrupt_name

        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            err_console.print(
                f"[yellow]interrupted ({interrupt_name()}):[/] every finished trial is kept; "
                "resume with: " + stop.resume,
                soft_wrap=True,
            )
        raise typer.Exit(code=exit_status()) from None


@contextlib.contextmanager
def _live(options: Any) -> Iterator[tuple[Callable[[Any], None], Callable[[Any], None]]]:
    """The live table of one search: updated at its start and after every trial."""
    from rich.live import Live

    from spikefit_search.reporting.live import SearchDisplay

    display = SearchDisplay(
        options.budget, title=f"{options.device} · {options.dataset} · {options.sampler}"
    )
    with Live(display, console=console, refresh_per_second=2, transient=True) as live:

        def on_update(study: Any) -> None:
            display.update(study)
            live.refresh()

        yield display.update, on_update


@app.command()
@guarded
def devices(
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="A device name or a profile YAML path; omit for all."),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """List the hardware profiles, or show everything in one of them with its sources."""
    from spikefit_search.hardware import list_profiles, load_profile
    from spikefit_search.hardware.render import (
        devices_records,
        devices_table,
        profile_records,
        profile_table,
        references_lines,
    )

    if name is None:
        profiles = [load_profile(n) for n in list_profiles()]
        if fmt != Format.table:
            return _emit(devices_records(profiles), fmt)
        console.print(devices_table(profiles))
        return
    profile = load_profile(name)
    if fmt != Format.table:
        return _emit(profile_records(profile), fmt)
    if profile.description:
        console.print(profile.description, highlight=False)
    console.print(profile_table(profile))
    if profile.sources:
        console.print(references_lines(profile), highlight=False)


@app.command()
@guarded
def check(
    target: Annotated[
        Path, typer.Argument(metavar="CONFIG", help="A YAML run config (network + compression).")
    ],
    device: Annotated[
        str | None,
        typer.Option(help="Check one chip (name or profile path); exit 1 if it does not fit."),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Check a network against every chip's constraints (or one chip with --device)."""
    from spikefit_search.hardware import list_profiles, load_profile
    from spikefit_search.hardware.render import check_matrix, check_records
    from spikefit_search.hardware.target import load_target

    checked = load_target(target)
    names = [device] if device is not None else list_profiles()
    results = [checked.check(load_profile(n)) for n in names]
    if fmt != Format.table:
        _emit(check_records(results), fmt)
        if device is not None and not results[0].fits:
            raise typer.Exit(code=1)
        return
    console.print(check_matrix(results))
    from spikefit_search.reporting.retrain import weights_description

    console.print(f"[dim]{weights_description(target)}[/]", highlight=False)
    if device is None:
        return
    (result,) = results
    for line in result.messages():
        console.print(f"[red]- {line}[/]", highlight=False)
    if not result.fits:
        raise typer.Exit(code=1)


@app.command()
@guarded
def report(
    runs: Annotated[
        list[Path], typer.Argument(metavar="RUN", help="Run folders; several are overlaid.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Folder for pareto.png and report.html (default: RUN).")
    ] = None,
    storage: Annotated[
        str | None, typer.Option(help="RDB URL of a --storage run (its password is masked).")
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Show the feasible Pareto front, the knee and why candidates were rejected.

    Writes pareto.png and report.html. Reads without the run lock: works while a search runs.
    With --format csv, one row per plotted point; with --format json, everything per run.
    """
    from spikefit_search.reporting.render import (
        report_document,
        report_records,
        report_renderable,
    )
    from spikefit_search.reporting.report import build_report

    done = build_report(runs, out=out, storage=storage)
    if fmt != Format.table:
        return _emit(report_records(done.fronts), fmt, report_document(done.fronts))
    console.print(report_renderable(done.fronts))
    for note in done.notes:  # e.g. an overlay of energies that are not like for like
        console.print(f"[yellow]- {escape(note)}[/]")
    console.print(f"[dim]wrote {done.png} and {done.html}[/]", soft_wrap=True)


@app.command()
@guarded
def export(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="A run folder.")],
    trial: Annotated[int | None, typer.Option(help="Export this trial number.")] = None,
    pick: Annotated[str, typer.Option(help="Which front point: knee.")] = "knee",
    max_energy: Annotated[
        float | None, typer.Option(help="Most accurate front point at or under X µJ.")
    ] = None,
    min_accuracy: Annotated[
        float | None, typer.Option(help="Least-energy front point with accuracy >= Y (0..1).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="YAML file (default RUN/exports/trial_N.yaml)."),
    ] = None,
    nir: Annotated[
        Path | None,
        typer.Option(help="Also write the trial's network in NIR (the deployable one: retrain)."),
    ] = None,
    nir_reader: Annotated[
        str | None,
        typer.Option(
            help="Refuse unless this reader runs the NIR as trained: sinabs, snntorch, norse."
        ),
    ] = None,
    storage: Annotated[str | None, typer.Option(help="RDB URL of a --storage run.")] = None,
) -> None:
    """Write one trial as a YAML config that retrain takes as is (checkpoint copied beside)."""
    from spikefit_search.reporting.export import export_trial

    done = export_trial(
        run,
        trial=trial,
        pick=pick,
        max_energy=max_energy,
        min_accuracy=min_accuracy,
        out=output,
        nir=nir,
        nir_reader=nir_reader,
        storage=storage,
    )
    src = done.config.source or {}
    console.print(
        f"trial {src.get('trial')}: {src.get('accuracy', 0):.2%} validation accuracy, "
        f"{src.get('energy_uj', 0):.4g} µJ -> [bold]{done.config_path}[/]",
        soft_wrap=True,
    )
    if not done.on_front:
        console.print("[yellow]note:[/] this trial is not on the feasible Pareto front.")
    for extra in (done.checkpoint_path, done.nir_path):
        if extra is not None:
            console.print(f"[dim]wrote {extra}[/]", soft_wrap=True)
    if done.nir_path is not None:
        _print_readers(done.config.pipeline.network)
    console.print(f"[dim]spikefit-search retrain {done.config_path}[/]", soft_wrap=True)


def _print_readers(network: NetworkConfig) -> None:
    """One line per NIR reader: runs the file as trained (with which options) or why not."""
    from spikefit_search.reporting.nir_export import reader_support

    for r in reader_support(network):
        if r.ok:
            opts = f" with {'; '.join(r.options)} (docs/reporting.md)" if r.options else ""
            console.print(f"[dim]  {r.reader}: runs as trained{opts}[/]", highlight=False)
        else:
            console.print(
                f"[dim]  {r.reader}: cannot run it as trained: {r.reason}[/]", highlight=False
            )


@app.command()
@guarded
def retrain(
    config: Annotated[
        Path, typer.Argument(metavar="CONFIG", help="A YAML config written by export.")
    ],
    epochs: Annotated[
        int | None, typer.Option(help="Total epochs instead of the exported ones (2/3 + 1/3).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default CONFIG-retrained beside it).")
    ] = None,
    nir: Annotated[
        Path | None, typer.Option(help="Also copy the NIR file (OUT/model.nir) here.")
    ] = None,
    nir_reader: Annotated[
        str | None,
        typer.Option(
            help="Refuse unless this reader runs the NIR as trained: sinabs, snntorch, norse."
        ),
    ] = None,
    accelerator: Annotated[str, typer.Option(help=ACCELERATOR_HELP)] = "auto",
) -> None:
    """Train an exported config in full and write the deployable folder: model.pt, model.nir,
    check.json (measured on these weights), energy.json, metrics.json, config.yaml."""
    from spikefit_search.reporting.retrain import retrain as run_retrain

    done = run_retrain(
        config, epochs=epochs, out=out, nir=nir, nir_reader=nir_reader, accelerator=accelerator
    )
    m = done.metrics
    fits = "[green]fits[/]" if done.fits else "[red]does not fit[/]"
    e = done.energy
    energy = f"{e.total_uj:.4g} µJ per inference"
    if e.low_uj != e.high_uj:
        energy += f" ({e.low_uj:.4g}-{e.high_uj:.4g})"
    if e.not_modelled:
        energy += f", {'/'.join(e.not_modelled)} not modelled"
    console.print(
        f"{m['device']}: validation accuracy {m['val_accuracy']:.2%}, test accuracy "
        f"{m['test_accuracy']:.2%}, {energy}, {fits} "
        f"({m['warmup_epochs']}+{m['finetune_epochs']} epochs, {m['seconds']:.1f} s)"
    )
    for line in done.check.messages():
        console.print(f"[red]- {line}[/]", highlight=False)
    console.print(f"[dim]wrote {done.out_dir}[/]", soft_wrap=True)
    if done.nir_path is not None:
        console.print(f"[dim]NIR: {done.nir_path}[/]", highlight=False, soft_wrap=True)
        _print_readers(done.config.pipeline.network)
    else:
        console.print(f"[yellow]note:[/] no NIR written: {done.nir_skipped}.")
    if done.extra_nir is not None:
        console.print(f"[dim]wrote {done.extra_nir}[/]", soft_wrap=True)
    console.print(
        f"[dim]spikefit-search check {done.checkpoint} --device {m['device']}[/]", soft_wrap=True
    )


def _parse_ints(name: str, text: str) -> tuple[int, ...]:
    from spikefit_search.exceptions import ConfigError

    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated integers, but got {text!r}.") from None
    if not values:
        raise ConfigError(f"{name} must list at least one integer, but got {text!r}.")
    return values


def _with_default_command(argv: list[str]) -> list[str]:
    """``spikefit-search --device x`` means ``spikefit-search search --device x``."""
    commands = {
        c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands
    }
    root_options = ("--help", "-h", "--version", "--install-completion", "--show-completion")
    if argv and argv[0] not in commands and argv[0] not in root_options:
        return ["search", *argv]
    return argv


def main() -> None:
    """Entry point of the ``spikefit-search`` console script.

    Usage errors, library errors and unexpected OS errors each become one line on stderr and a
    non-zero exit code, never a traceback. SIGTERM and SIGHUP end a command as Ctrl-C does; the
    exit status is 128 + the signal (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
    """
    import os
    import signal

    from spikefit_search._interrupt import DEFERRED, exit_status, raise_interrupt

    for sig in DEFERRED:
        if sig != signal.SIGINT:
            signal.signal(sig, raise_interrupt)
    try:
        _main()
    except KeyboardInterrupt:  # a second interrupt while the first one was being handled
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(exit_status())


def _main() -> None:
    from spikefit_search._interrupt import exit_status, ignore_interrupts

    argv = _with_default_command(sys.argv[1:])
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="spikefit-search", standalone_mode=False)
    except KeyboardInterrupt:
        ignore_interrupts()
        err_console.print("[yellow]interrupted[/]")
        sys.exit(exit_status())
    except OSError as exc:
        ignore_interrupts()
        err_console.print(f"[bold red]error:[/] {_os_error(exc)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as exc:
        if exc.__class__.__name__ in _USAGE_ERRORS:
            message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
            where = f"spikefit-search {argv[0]} --help" if argv else "spikefit-search --help"
            err_console.print(
                f"[bold red]error:[/] {message} (see {where})", highlight=False, soft_wrap=True
            )
            sys.exit(2)
        if exc.__class__.__name__ == "Abort":  # click's name for KeyboardInterrupt and EOFError
            ignore_interrupts()
            if isinstance(exc.__cause__, EOFError):
                err_console.print(
                    "[bold red]error:[/] input must not end early, but reached end of file",
                    highlight=False,
                    soft_wrap=True,
                )
                sys.exit(1)
            sys.exit(exit_status())
        raise
    if isinstance(code, int) and code >= 128:
        ignore_interrupts()  # leaving after an interrupt: no traceback from library teardown
    sys.exit(code if isinstance(code, int) else 0)


def _os_error(exc: OSError) -> str:
    """One line for an OS error; a full disk says how to go on."""
    import errno

    if exc.errno == errno.ENOSPC:
        return (
            f"{exc}: the disk is full; every finished trial is kept, free some space and run "
            "the same command again to resume."
        )
    return str(exc)


_USAGE_ERRORS = {
    "UsageError",
    "BadParameter",
    "MissingParameter",
    "NoSuchOption",
    "BadOptionUsage",
    "BadArgumentUsage",
}


if __name__ == "__main__":
    main()
