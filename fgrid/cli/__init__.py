"""fgrid's command line: parse input, call one function, render output.

Heavy imports (celery, kombu, redis, polars, the analysis) happen inside command bodies, so ``fgrid --help``
starts fast. Errors below the CLI are :class:`fgrid.errors.FgridError`; :func:`main` prints them as one line on
stderr and exits with their code (``FGRID_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from fgrid import config
from fgrid.cli.common import (  # noqa: F401 - parse_seasons and parse_weeks are re-exported for the tests
    DataDirOption,
    JsonOption,
    ScoringOption,
    SeasonOption,
    TimeoutOption,
    WaitOption,
    WeekOption,
    _console,
    _follow,
    _print_json,
    _settings,
    _submit_and_report,
    parse_seasons,
    parse_weeks,
)
from fgrid.errors import FgridError, InputError

app = typer.Typer(
    name="fgrid",
    help="Fantasy-football matchup analysis as background jobs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
data_app = typer.Typer(help="Sync and inspect the NFL data.", no_args_is_help=True)
app.add_typer(data_app, name="data")

EXIT_FAILURE = 1


@app.command("analyze-player")
def analyze_player(
    player: Annotated[str, typer.Argument(help="Player name, gsis id, Sleeper id or ESPN id.")],
    opponent: Annotated[str, typer.Option("--opponent", "-o", help="Opponent: code (SF), city or nickname.")],
    location: Annotated[Optional[str], typer.Option("--location", help='Venue city, e.g. "Santa Clara, CA".')] = None,
    season: SeasonOption = None,
    week: WeekOption = None,
    scoring: ScoringOption = "ppr",
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue a matchup analysis of one player against one opponent."""
    from fgrid.service import backtest as backtest_service
    from fgrid.service import lifecycle, resolve

    settings = _settings(data_dir)
    kwargs = resolve.analyze_request(settings, player=player, opponent=opponent, location=location, season=season,
                                    week=week, scoring=scoring)
    _submit_and_report(settings, config.TASK_ANALYZE, kwargs, wait, timeout, as_json)


@app.command()
def compare(
    players: Annotated[list[str], typer.Argument(help="Players to compare (names or ids).")],
    opponents: Annotated[str, typer.Option("--opponents", help="Opponents, comma-separated: one per player, or one.")],
    season: SeasonOption = None,
    week: WeekOption = None,
    scoring: ScoringOption = "ppr",
    slots: Annotated[Optional[int], typer.Option("--slots", help="Lineup slots to fill (default: half).")] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue a comparison of players, each against an opponent, ranked by projection."""
    from fgrid.service import backtest as backtest_service
    from fgrid.service import lifecycle, resolve

    settings = _settings(data_dir)
    kwargs = resolve.compare_request(settings, players, [o for o in opponents.split(",") if o.strip()], season,
                                    week, scoring, slots)
    _submit_and_report(settings, config.TASK_COMPARE, kwargs, wait, timeout, as_json)


@app.command()
def status(
    task_id: Annotated[str, typer.Argument(help="The task id printed when the task was queued.")],
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until the task is ready.")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show a task's state and, once it is ready, its result."""
    from fgrid.render import analysis as render
    from fgrid.service import backtest as backtest_service
    from fgrid.service import lifecycle, resolve

    settings = _settings(data_dir)
    if watch:
        _follow(settings, task_id, None, show=not as_json)
    doc = lifecycle.status(settings, task_id)
    if as_json:
        _print_json(doc)
    else:
        _console().print(render.status_table(doc))


@app.command()
def worker(
    queues: Annotated[str, typer.Option("--queues", "-Q", help="Queues to consume, comma-separated.")] = ",".join(
        config.QUEUES),
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", "-c", help="Worker processes.")] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l", help="debug, info, warning or error.")] = (
        config.DEFAULT_LOGLEVEL),
    max_tasks_per_child: Annotated[int, typer.Option("--max-tasks-per-child", help="Recycle a process after N tasks.")]
    = config.DEFAULT_MAX_TASKS_PER_CHILD,
    max_memory_per_child: Annotated[Optional[int], typer.Option(
        "--max-memory-per-child", help="Recycle a process above this resident memory (KiB).")] = None,
    hostname: Annotated[Optional[str], typer.Option("--hostname", "-n", help="Node name, e.g. w1@%h.")] = None,
    pool: Annotated[Optional[str], typer.Option("--pool", "-P", help="prefork, threads or solo.")] = None,
    events: Annotated[bool, typer.Option("--task-events", "-E", help="Send task events (for Flower and "
                                         "`celery events`; Flower also turns them on by itself).")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Run in the background (pid and log in the data folder).")]
    = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the workers started with --detach.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Run a worker that executes fgrid's tasks (Celery's own worker, on fgrid's app)."""
    from fgrid.service import workers

    settings = _settings(data_dir)
    if stop:
        stopped = workers.stop_detached(settings)
        _console(stderr=True).print(f"stopped {stopped} worker(s)" if stopped else "no detached worker running")
        return
    argv = workers.worker_argv(settings, queues=queues, concurrency=concurrency, loglevel=loglevel,
                               max_tasks_per_child=max_tasks_per_child, max_memory_per_child=max_memory_per_child,
                               hostname=hostname, pool=pool, detach=detach, events=events)
    if detach:
        pid, log = workers.start_detached(settings, argv)
        _console(stderr=True).print(f"worker started in the background (pid {pid}); log: {log}; "
                                    "stop it with `fgrid worker --stop`")
        return
    workers.run(settings, argv)


@app.command("config")
def show_config(as_json: JsonOption = False, data_dir: DataDirOption = None) -> None:
    """Show the effective settings and where each came from (passwords masked)."""
    from fgrid.render import analysis as render

    rows = _settings(data_dir).describe()
    if as_json:
        _print_json({row["name"]: {"value": row["value"], "source": row["source"]} for row in rows})
    else:
        _console().print(render.settings_table(rows))


@data_app.command("sync")
def data_sync(
    source: Annotated[Optional[Path], typer.Option("--from", help="Import local nflverse files from this folder.")]
    = None,
    seasons: Annotated[str, typer.Option("--seasons", help="Seasons, e.g. 2019-2024 or 2022,2023.")] = "2019-2024",
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Fill the data folder with nflverse stats, schedules and player ids."""
    from fgrid.analysis import data

    settings = _settings(data_dir)
    wanted = parse_seasons(seasons)
    err = _console(stderr=True)
    with err.status("syncing NFL data") as spinner:
        def progress(message: str) -> None:
            spinner.update(message)

        if source is not None:
            if not source.is_dir():
                raise InputError(f"--from {source}: no such folder")
            report = data.sync_from_dir(source, settings.nfl_dir, seasons=wanted, progress=progress)
        else:
            report = data.sync_online(settings.nfl_dir, seasons=wanted, progress=progress)
    if as_json:
        _print_json(report)
    else:
        err.print(f"synced {report.get('rows', 0):,} rows, seasons {_season_span(report)} into {settings.nfl_dir}")
        skipped = report.get("skipped") or {}
        if skipped:
            err.print("skipped rows: " + ", ".join(f"{k}: {v}" for k, v in skipped.items()))


def _season_span(report: dict[str, Any]) -> str:
    seasons = report.get("seasons") or []
    seasons = [s["season"] if isinstance(s, dict) else s for s in seasons]
    return f"{min(seasons)}-{max(seasons)}" if seasons else "none"


@data_app.command("info")
def data_info(as_json: JsonOption = False, data_dir: DataDirOption = None) -> None:
    """Show the synced seasons and weeks, rows, players, last game, source and sync time."""
    from fgrid.analysis import data
    from fgrid.render import analysis as render

    info = data.info(_settings(data_dir).nfl_dir)
    if as_json:
        _print_json(info)
    else:
        _console().print(render.data_info_table(info))


@app.command()
def backtest(
    season: Annotated[int, typer.Option("--season", help="Season to score.")],
    weeks: Annotated[Optional[str], typer.Option("--weeks", help="Weeks, e.g. 5-18 (default: all).")] = None,
    scoring: ScoringOption = "ppr",
    model: Annotated[str, typer.Option("--model", help="engine (the matchup engine) or ai (the trained model).")]
    = "engine",
    refit: Annotated[bool, typer.Option("--refit", help="Walk forward: refit the engine before each week on earlier "
                                        "games only (about a second a week).")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the rows to this CSV file.")] = None,
    submit: Annotated[bool, typer.Option("--submit", help="Run it as a task on the analysis queue.")] = False,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Score the projections on past games against a naive baseline (recent weighted average)."""
    from fgrid import validation

    settings = _settings(data_dir)
    span = parse_weeks(weeks)
    week_list = list(range(span[0], span[1] + 1)) if span else None
    scoring = validation.scoring(scoring)
    if model not in ("engine", "ai"):
        raise InputError(f"unknown model {model!r}; use engine or ai")
    if refit and model != "engine":
        raise InputError("--refit refits the engine; it does not apply to --model ai")
    if submit:
        if model != "engine" or out is not None:
            raise InputError("--submit runs the engine's backtest and returns its rows in the result; drop --model/--out")
        from fgrid.service import backtest as backtest_service
        from fgrid.service import lifecycle, resolve

        kwargs = resolve.backtest_request(settings, season, week_list, scoring, refit)
        _submit_and_report(settings, config.TASK_BACKTEST, kwargs, wait, timeout, as_json)
        return
    from fgrid.render import analysis as render
    from fgrid.service import backtest as backtest_service
    from fgrid.service import lifecycle, resolve

    if out is not None and not os.access(out.parent if str(out.parent) else Path("."), os.W_OK):
        raise InputError(f"--out {out}: cannot write in {out.parent or '.'}")

    err = _console(stderr=True)
    with err.status(f"backtesting {season}") as spinner:
        report = backtest_service.run_backtest(
            settings, season, week_list, scoring, model,
            progress=lambda done, total: spinner.update(f"backtesting {season}: week {done}/{total}"), refit=refit)
    if out is not None:
        from fgrid.analysis.backtest import write_csv

        try:
            write_csv(report["rows"], out)
        except OSError as exc:
            raise InputError(f"--out {out}: {exc.strerror or exc}") from exc
    if as_json:
        _print_json({k: v for k, v in report.items() if k != "rows"})
    else:
        _console().print(render.backtest_table(report))


def _register_command_modules() -> None:
    # Commands of other areas live in their own modules (each imports only typer at module level).
    from fgrid.cli import ai as cli_ai
    from fgrid.cli import operations as cli_ops
    from fgrid.cli import serve as cli_serve

    for module in (cli_ops, cli_ai, cli_serve):
        module.register(app)


_register_command_modules()


def _click_exceptions() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """(Exit, Abort, ClickException, UsageError) classes of click and of the copy of click newer Typers ship."""
    import click

    exits, aborts = [click.exceptions.Exit, typer.Exit], [click.exceptions.Abort, typer.Abort]
    errors, usage = [click.ClickException], [click.UsageError]
    try:
        from typer._click import (
            exceptions as vendored,  # Typer >= 0.26 bundles its own click
        )

        errors.append(vendored.ClickException)
        usage.append(vendored.UsageError)
    except ImportError:
        pass
    return tuple(exits), tuple(aborts), tuple(errors), tuple(usage)


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
        sys.exit(130)
    except usage_errors as exc:
        ctx = getattr(exc, "ctx", None)
        if ctx is not None and type(exc).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(ctx.get_help() + "\n")  # a bare group: its help, as `fgrid` alone prints
        else:
            command = ctx.command_path if ctx is not None else "fgrid"
            _error_line(f"{exc.format_message()} (see `{command} --help`)")
        sys.exit(2)
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
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, the type named, the traceback on request
        if debug:
            raise
        _error_line(f"unexpected {type(exc).__name__}: {exc} (set {config.ENV_DEBUG}=1 for the traceback)")
        sys.exit(EXIT_FAILURE)


def _error_line(message: str) -> None:
    secrets = tuple(filter(None, (config.url_password(os.environ.get(name)) for name in (
        config.ENV_BROKER_URL, config.ENV_RESULT_BACKEND, config.ENV_REDIS_URL))))
    line = " ".join(config.mask_secrets(message, *secrets).split())
    sys.stderr.write(f"error: {line}\n")
