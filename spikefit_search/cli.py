"""Command line: ``spikefit-search [search] ...``, ``report``, ``export``, ``retrain``, ``check``,
``devices``, ``train``.

Commands parse options, call one library function and render what it returns. Every
:class:`SpikefitError` becomes one red line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from spikefit_search import __version__
from spikefit_search.exceptions import SpikefitError

app = typer.Typer(
    name="spikefit-search",
    help="Find spiking networks that fit a neuromorphic chip and trade accuracy against energy.",
    no_args_is_help=False,
    add_completion=False,
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


@app.command()
@guarded
def train(
    dataset: Annotated[
        str, typer.Option(help="digits, fashion-mnist, mnist, npz or a .npz path.")
    ] = "digits",
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with IDX files, or a .npz file.")
    ] = None,
    hidden: Annotated[str, typer.Option(help="Hidden widths, comma-separated.")] = "128",
    timesteps: Annotated[int, typer.Option(help="Simulation steps per sample.")] = 10,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 20,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 3e-3,
    batch_size: Annotated[int, typer.Option(help="Samples per step.")] = 64,
    seed: Annotated[int, typer.Option(help="Seed for weights, shuffling and rate coding.")] = 0,
    accelerator: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Train one float spiking MLP (no compression) and print its accuracy."""
    from spikefit_search.data import load_dataset
    from spikefit_search.snn import NetworkConfig
    from spikefit_search.training import TrainConfig, resolve_device, train_network

    device = resolve_device(accelerator)
    data = load_dataset(dataset, data_dir=data_dir, seed=seed)
    widths = _parse_ints("hidden", hidden)
    net = NetworkConfig(
        input_shape=data.input_shape, n_classes=data.n_classes, hidden=widths, timesteps=timesteps
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


@app.command()
@guarded
def search(
    device: Annotated[
        str, typer.Option(help="Chip name or profile YAML path; comma-separated for several.")
    ] = "speck",
    budget: Annotated[int, typer.Option(help="Trained candidates (rejected ones are free).")] = 50,
    dataset: Annotated[
        str, typer.Option(help="digits, fashion-mnist, mnist, npz or a .npz path.")
    ] = "digits",
    data_dir: Annotated[str | None, typer.Option(help="Folder with IDX files, or a .npz.")] = None,
    space: Annotated[str, typer.Option(help="Search space name (mlp, conv) or YAML path.")] = "mlp",
    epochs: Annotated[
        int | None, typer.Option(help="Epochs per candidate (2/3 warm-up, 1/3 fine-tune).")
    ] = None,
    timesteps: Annotated[int | None, typer.Option(help="Fix the timesteps T.")] = None,
    accelerator: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    out: Annotated[str, typer.Option(help="Folder that holds run folders.")] = "runs",
    study: Annotated[
        str | None, typer.Option(help="Study name (default DEVICE-SPACE-DATA).")
    ] = None,
    storage: Annotated[
        str | None, typer.Option(help="Optuna RDB URL (e.g. PostgreSQL) instead of a journal.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes on this machine.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and of every trial.")] = 0,
    sampler: Annotated[str, typer.Option(help="gp, tpe, nsga2 or random.")] = "gp",
    limit_train: Annotated[
        int | None, typer.Option(help="Use at most this many training samples.", hidden=True)
    ] = None,
    confirm: Annotated[
        int, typer.Option(help="After the budget, retrain the top K front points in full.")
    ] = 0,
    confirm_epochs: Annotated[
        int | None, typer.Option(help="Epochs of --confirm (default 2x the space's).")
    ] = None,
) -> None:
    """Search for networks that fit the chip: accuracy up, energy per inference down."""
    # on screen at once: the imports and the data below take seconds
    console.print(f"[dim]spikefit-search: preparing {device} on {dataset} ...[/]")
    import optuna
    from rich.live import Live

    from spikefit_search.reporting.live import SearchDisplay, front_table
    from spikefit_search.search import SearchOptions, run_search
    from spikefit_search.search.driver import prepare

    devices = [d.strip() for d in device.split(",") if d.strip()]
    if not devices:
        raise fail(f"--device must name at least one chip, but got {device!r}.")
    all_options = [
        SearchOptions(
            device=d,
            budget=budget,
            dataset=dataset,
            data_dir=data_dir,
            space=space,
            epochs=epochs,
            timesteps=timesteps,
            accelerator=accelerator,
            out=out,
            study=(f"{study}-{d}" if study and len(devices) > 1 else study),
            storage=storage,
            workers=workers,
            seed=seed,
            sampler=sampler,
            limit_train=limit_train,
        )
        for d in devices
    ]
    if confirm < 0 or (confirm_epochs is not None and confirm_epochs < 2):
        raise fail(
            "--confirm must be >= 0 and --confirm-epochs >= 2, but got "
            f"{confirm} and {confirm_epochs}."
        )
    for options in all_options:
        prepare(options)  # every input is checked before any study starts
    for options in all_options:
        display = SearchDisplay(
            options.budget, title=f"{options.device} · {options.dataset} · {options.sampler}"
        )
        resume = "spikefit-search " + " ".join(_shell_quote(a) for a in sys.argv[1:])
        try:
            with Live(display, console=console, refresh_per_second=2, transient=True) as live:

                def on_update(st: Any, d: SearchDisplay = display, lv: Live = live) -> None:
                    d.update(st)
                    lv.refresh()

                def on_start(_: Any, st: Any, d: SearchDisplay = display) -> None:
                    d.update(st)

                result = run_search(options, on_update=on_update, on_start=on_start)
        except KeyboardInterrupt:
            err_console.print(
                "[yellow]interrupted:[/] every finished trial is kept; resume with: " + resume,
                soft_wrap=True,
            )
            raise typer.Exit(code=130) from None
        study_obj = optuna.load_study(
            study_name=result.study_name, storage=_storage_for(result.run_dir, options.storage)
        )
        trials = study_obj.get_trials(deepcopy=False)
        console.print(front_table(trials))
        for note in result.notes:
            console.print(f"[dim]- {note}[/]")
        c = result.counts
        console.print(
            f"{options.device}: {c['trained']} trained"
            + (f" (+{c['stopped']} stopped early)" if c["stopped"] else "")
            + f", {c['rejected']} rejected before training, {c['failed']} failed. "
            f"Run folder: [bold]{result.run_dir}[/]"
        )
        if options.storage is None:
            console.print(f"[dim]optuna-dashboard {result.run_dir / 'study.journal'}[/]")
        if confirm and result.stop_reason == "budget":
            from spikefit_search.reporting.confirm import confirm_front, confirmed_table

            confirmed = confirm_front(
                result.run_dir,
                confirm,
                epochs=confirm_epochs,
                accelerator=accelerator,
                storage=options.storage,
            )
            console.print(confirmed_table(confirmed))
            console.print(f"[dim]wrote {confirmed.path}[/]")
        if result.stop_reason != "budget":
            raise typer.Exit(code=2)


def _storage_for(run_dir: Path, url: str | None) -> Any:
    from spikefit_search.search.storage import open_storage

    return open_storage(run_dir, url)


def _shell_quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


@app.command()
@guarded
def devices(
    name: Annotated[
        str | None, typer.Argument(help="A device name or a profile YAML path; omit for all.")
    ] = None,
) -> None:
    """List the hardware profiles, or show everything in one of them with its sources."""
    from spikefit_search.hardware import list_profiles, load_profile
    from spikefit_search.hardware.render import devices_table, profile_table

    if name is None:
        console.print(devices_table([load_profile(n) for n in list_profiles()]))
        return
    profile = load_profile(name)
    if profile.description:
        console.print(profile.description, highlight=False)
    console.print(profile_table(profile))


@app.command()
@guarded
def check(
    target: Annotated[Path, typer.Argument(help="A YAML run config (network + compression).")],
    device: Annotated[
        str | None,
        typer.Option(help="Check one chip (name or profile path); exit 1 if it does not fit."),
    ] = None,
) -> None:
    """Check a network against every chip's constraints (or one chip with --device)."""
    from spikefit_search.hardware import list_profiles, load_profile
    from spikefit_search.hardware.render import check_matrix
    from spikefit_search.hardware.target import load_target

    checked = load_target(target)
    names = [device] if device is not None else list_profiles()
    results = [checked.check(load_profile(n)) for n in names]
    console.print(check_matrix(results))
    kind = "measured on the trained weights" if checked.model is not None else "static check"
    console.print(f"[dim]{kind}[/]")
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
    runs: Annotated[list[Path], typer.Argument(help="Run folders; several are overlaid.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder for pareto.png and report.html (default: RUN).")
    ] = None,
    storage: Annotated[
        str | None, typer.Option(help="RDB URL of a --storage run (its password is masked).")
    ] = None,
) -> None:
    """Show the feasible Pareto front, the knee and why candidates were rejected; write
    pareto.png and report.html. Reads without the run lock: works while a search runs."""
    from spikefit_search.reporting.render import report_renderable
    from spikefit_search.reporting.report import build_report

    done = build_report(runs, out=out, storage=storage)
    console.print(report_renderable(done.fronts))
    console.print(f"[dim]wrote {done.png} and {done.html}[/]")


@app.command()
@guarded
def export(
    run: Annotated[Path, typer.Argument(help="A run folder.")],
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
        Path | None, typer.Option(help="Also write the trained network in NIR (HDF5) here.")
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
        storage=storage,
    )
    src = done.config.source or {}
    console.print(
        f"trial {src.get('trial')}: {src.get('accuracy', 0):.2%} validation accuracy, "
        f"{src.get('energy_uj', 0):.4g} µJ -> [bold]{done.config_path}[/]"
    )
    if not done.on_front:
        console.print("[yellow]note:[/] this trial is not on the feasible Pareto front.")
    for extra in (done.checkpoint_path, done.nir_path):
        if extra is not None:
            console.print(f"[dim]wrote {extra}[/]")
    console.print(f"[dim]spikefit-search retrain {done.config_path}[/]")


@app.command()
@guarded
def retrain(
    config: Annotated[Path, typer.Argument(help="A YAML config written by export.")],
    epochs: Annotated[
        int | None, typer.Option(help="Total epochs instead of the exported ones (2/3 + 1/3).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default CONFIG-retrained beside it).")
    ] = None,
    nir: Annotated[
        Path | None, typer.Option(help="Also write the trained network in NIR (HDF5) here.")
    ] = None,
    accelerator: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Train an exported config in full, then check it on its chip and estimate its energy."""
    from spikefit_search.reporting.retrain import retrain as run_retrain

    done = run_retrain(config, epochs=epochs, out=out, nir=nir, accelerator=accelerator)
    m = done.metrics
    fits = "[green]fits[/]" if done.fits else "[red]does not fit[/]"
    console.print(
        f"{m['device']}: validation accuracy {m['val_accuracy']:.2%}, test accuracy "
        f"{m['test_accuracy']:.2%}, {m['energy_uj']:.4g} µJ per inference, {fits} "
        f"({m['warmup_epochs']}+{m['finetune_epochs']} epochs, {m['seconds']:.1f} s)"
    )
    for line in done.check.messages():
        console.print(f"[red]- {line}[/]", highlight=False)
    console.print(f"[dim]wrote {done.out_dir}[/]")
    if done.nir_path is not None:
        console.print(f"[dim]wrote {done.nir_path}[/]")


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
    if argv and argv[0] not in commands and argv[0] not in ("--help", "-h", "--version"):
        return ["search", *argv]
    return argv


def main() -> None:
    """Entry point of the ``spikefit-search`` console script.

    Usage errors, library errors and unexpected OS errors each become one line on stderr and a
    non-zero exit code, never a traceback.
    """
    argv = _with_default_command(sys.argv[1:])
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="spikefit-search", standalone_mode=False)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as exc:
        if exc.__class__.__name__ in _USAGE_ERRORS:
            message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
            where = f"spikefit-search {argv[0]} --help" if argv else "spikefit-search --help"
            err_console.print(
                f"[bold red]error:[/] {message} (see {where})", highlight=False, soft_wrap=True
            )
            sys.exit(2)
        if exc.__class__.__name__ == "Abort":
            sys.exit(130)
        raise
    sys.exit(code if isinstance(code, int) else 0)


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
