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
from typing import Any

import typer

from fgrid import config
from fgrid.cli import ai, analysis, data, monitor, serve, tasks, worker
from fgrid.errors import FgridError

#: Exit code of an error that is not an FgridError (those carry their own).
EXIT_FAILURE = 1
#: Exit code of a usage error (click's), and of an interrupted command (128 + SIGINT).
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="fgrid",
    help="Fantasy-football matchup analysis as background jobs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# In the order `fgrid --help` lists them (the groups, data and model, come after the commands).
for name, command in (
    ("analyze-player", analysis.analyze_player),
    ("compare", analysis.compare),
    ("status", tasks.status),
    ("worker", worker.worker),
    ("config", data.show_config),
    ("backtest", analysis.backtest),
    ("tasks", tasks.list_tasks),
    ("queues", monitor.queues),
    ("workers", monitor.workers),
    ("cancel", tasks.cancel),
    ("retry", tasks.retry),
    ("purge", tasks.purge),
    ("top", monitor.top),
    ("doctor", monitor.doctor),
    ("train", ai.train),
    ("predict", ai.predict),
    ("grade", ai.grade),
    ("serve", serve.serve),
):
    app.command(name)(command)
app.add_typer(data.data_app, name="data")
app.add_typer(ai.model_app, name="model")


def main() -> None:
    """Run the CLI: one line on stderr and an exit code for every error; a traceback only with FGRID_DEBUG=1."""
    exits, aborts, click_errors, usage_errors = _click_exceptions()
    debug = os.environ.get(config.ENV_DEBUG, "").lower() in {"1", "true", "yes", "on"}
    try:
        code = app(standalone_mode=False)  # a typer.Exit comes back as its code in this mode
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
    secrets = tuple(filter(None, (config.url_password(os.environ.get(name)) for name in (
        config.ENV_BROKER_URL, config.ENV_RESULT_BACKEND, config.ENV_REDIS_URL))))
    line = " ".join(config.mask_secrets(message, *secrets).split())
    sys.stderr.write(f"error: {line}\n")
