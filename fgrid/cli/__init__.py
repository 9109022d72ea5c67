"""fgrid's command line: the Typer app, assembled from one module per command group, and :func:`main`.

- :mod:`~fgrid.cli.analysis`: analyze-player, compare, backtest
- :mod:`~fgrid.cli.tasks`: status, tasks, cancel, retry, purge
- :mod:`~fgrid.cli.monitor`: queues, workers, top, doctor
- :mod:`~fgrid.cli.worker`: worker
- :mod:`~fgrid.cli.data`: data sync, data info, config
- :mod:`~fgrid.cli.ai`: train, predict, grade, model list, model show
- :mod:`~fgrid.cli.serve`: serve

They share :mod:`~fgrid.cli.options` (every common option, declared once), :mod:`~fgrid.cli.output` (consoles,
JSON) and :mod:`~fgrid.cli.live` (following a task, refreshing a view). This module imports them; none imports it.

Heavy imports (celery, kombu, redis, polars, the analysis) happen inside command bodies, so ``fgrid --help``
starts fast. Errors below the CLI are :class:`fgrid.errors.FgridError`; :func:`main` prints them as one line on
stderr and exits with their code (``FGRID_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from fgrid import config
from fgrid.cli import ai, analysis, data, lineup, monitor, serve, tasks, worker
from fgrid.errors import FgridError

#: Exit code of an error that is not an FgridError (those carry their own).
EXIT_FAILURE = 1
#: Exit code of a usage error (click's), and of an interrupted command (128 + SIGINT).
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: The help's panels, in the order `fgrid --help` shows them.
WEEK, AI, TASKS, OPERATIONS, DATA, SERVER = ("Your week", "AI", "Tasks", "Operations", "Data", "Server")
#: What bare `fgrid` prints: the way in.
FIRST_STEPS = """fgrid: fantasy-football matchup analysis as background jobs.

First steps:
  fgrid data sync                 get the NFL data (once a week)
  fgrid worker --detach           start a worker in the background
  fgrid analyze-player "CeeDee Lamb" --wait
  fgrid compare "Tyreek Hill" "Davante Adams" --wait
  fgrid tasks                     what ran, what waits, what failed
  fgrid doctor                    check the setup when something is off

Every command: fgrid COMMAND -h.  All commands: fgrid -h.
"""

app = typer.Typer(
    name="fgrid",
    help="Fantasy-football matchup analysis as background jobs.",
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            sys.stdout.write(f"fgrid {version('fgrid')}\n")
        except PackageNotFoundError:
            sys.stdout.write("fgrid (not installed)\n")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", "-V", help="Print fgrid's version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Fantasy-football matchup analysis as background jobs.

    New here? Run [bold]fgrid[/bold] alone for the first steps.
    """
    if ctx.invoked_subcommand is None:
        sys.stdout.write(FIRST_STEPS)
        raise typer.Exit()


# In the order `fgrid --help` lists them within each panel.
for name, command, panel in (
    ("analyze-player", analysis.analyze_player, WEEK),
    ("compare", analysis.compare, WEEK),
    ("lineup", lineup.lineup, WEEK),
    ("train", ai.train, AI),
    ("predict", ai.predict, AI),
    ("grade", ai.grade, AI),
    ("backtest", analysis.backtest, AI),
    ("status", tasks.status, TASKS),
    ("tasks", tasks.list_tasks, TASKS),
    ("cancel", tasks.cancel, TASKS),
    ("retry", tasks.retry, TASKS),
    ("purge", tasks.purge, TASKS),
    ("worker", worker.worker, OPERATIONS),
    ("workers", monitor.workers, OPERATIONS),
    ("queues", monitor.queues, OPERATIONS),
    ("top", monitor.top, OPERATIONS),
    ("doctor", monitor.doctor, OPERATIONS),
    ("config", data.show_config, DATA),
    ("serve", serve.serve, SERVER),
):
    app.command(name, rich_help_panel=panel)(command)
app.add_typer(data.data_app, name="data", rich_help_panel=DATA)
app.add_typer(ai.model_app, name="model", rich_help_panel=AI)


def main() -> None:
    """Run the CLI: one line on stderr and an exit code for every error; a traceback only with FGRID_DEBUG=1."""
    exits, aborts, click_errors, usage_errors = _click_exceptions()
    debug = os.environ.get(config.ENV_DEBUG, "").lower() in {"1", "true", "yes", "on"}
    try:
        cli = typer.main.get_command(app)
        tidy_help(cli)
        code = cli(standalone_mode=False)  # a typer.Exit comes back as its code in this mode
        if isinstance(code, int) and code:
            sys.exit(code)
    except exits as exc:
        sys.exit(exc.exit_code)
    except aborts:
        sys.stderr.write("aborted\n")
        sys.exit(EXIT_INTERRUPTED)
    except usage_errors as exc:
        ctx = getattr(exc, "ctx", None)
        if ctx is not None and type(exc).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(ctx.get_help() + "\n")  # a bare group: its help, as `fgrid` alone prints
        else:
            command = ctx.command_path if ctx is not None else "fgrid"
            _error_line(f"{exc.format_message()} (see `{command} --help`)")
        sys.exit(EXIT_USAGE)
    except click_errors as exc:
        _error_line(exc.format_message())
        sys.exit(exc.exit_code)
    except FgridError as exc:
        if debug:
            raise
        _error_line(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # the last resort: one line, the type named, the traceback on request
        if debug:
            raise
        _error_line(f"unexpected {type(exc).__name__}: {exc} (set {config.ENV_DEBUG}=1 for the traceback)")
        sys.exit(EXIT_FAILURE)


#: Placeholders in the help for values of each type (as click names them), instead of Typer's ``<list[str]>``.
PLACEHOLDERS = {"int": "N", "float": "NUMBER", "str": "TEXT", "Path": "PATH"}


def tidy_help(command: Any) -> None:
    """Give every parameter of ``command`` and its subcommands a plain placeholder in the help: ``TEXT``, ``N``,
    ``PATH`` (or the choices, or the option's own metavar), none for a flag and for an argument (its name is shown)."""
    get_help_option = getattr(command, "get_help_option", None)
    if get_help_option is not None:

        def help_option(ctx: Any, get: Any = get_help_option) -> Any:
            option = get(ctx)
            if option is not None:
                option.metavar = ""  # a flag
            return option

        command.get_help_option = help_option
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "argument":
            param.display_type_rich = lambda ctx: None  # the argument's name says it
            if param.metavar is None and param.name:
                param.metavar = param.name.upper()
        elif getattr(param, "is_flag", False):
            param.metavar = ""
        elif param.metavar is None and hasattr(param, "bare_type"):
            bare = param.bare_type()
            if bare in PLACEHOLDERS:
                param.metavar = PLACEHOLDERS[bare]
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)


# Any: the classes of two copies of click share no base class that has exit_code and format_message.
ExceptionTypes = tuple[type[Any], ...]


def _click_exceptions() -> tuple[ExceptionTypes, ExceptionTypes, ExceptionTypes, ExceptionTypes]:
    """(Exit, Abort, ClickException, UsageError) classes of click and of the copy of click newer Typers ship."""
    import click

    exits: list[type[Any]] = [click.exceptions.Exit, typer.Exit]
    aborts: list[type[Any]] = [click.exceptions.Abort, typer.Abort]
    errors: list[type[Any]] = [click.ClickException]
    usage: list[type[Any]] = [click.UsageError]
    try:
        from typer._click import exceptions as vendored  # Typer >= 0.26 bundles its own click
    except ImportError:
        pass
    else:
        errors.append(vendored.ClickException)
        usage.append(vendored.UsageError)
    return tuple(exits), tuple(aborts), tuple(errors), tuple(usage)


def _error_line(message: str) -> None:
    """Write ``message`` as one line on stderr, ``error:`` first, any password of the configured URLs masked."""
    secrets = tuple(
        filter(
            None,
            (
                config.url_password(os.environ.get(name))
                for name in (config.ENV_BROKER_URL, config.ENV_RESULT_BACKEND, config.ENV_REDIS_URL)
            ),
        )
    )
    line = " ".join(config.mask_secrets(message, *secrets).split())
    sys.stderr.write(f"error: {line}\n")
