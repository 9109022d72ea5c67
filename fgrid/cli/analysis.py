"""The matchup engine's commands: analyze-player, compare, backtest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from fgrid import config
from fgrid.cli.live import submit_and_report
from fgrid.cli.options import (
    DataDirOption,
    JsonOption,
    LocationOption,
    OpponentsOption,
    ScoringOption,
    SeasonOption,
    TimeoutOption,
    WaitOption,
    WeekOption,
    parse_weeks,
    settings_from,
    split_opponents,
)
from fgrid.cli.output import console, print_json
from fgrid.errors import InputError

#: The predictors ``fgrid backtest --model`` scores.
BACKTEST_MODELS = ("engine", "ai")


def analyze_player(
    player: Annotated[str, typer.Argument(help="Player name, gsis id, Sleeper id or ESPN id.")],
    opponent: Annotated[str, typer.Option("--opponent", "-o", help="Opponent: code (SF), city or nickname.")],
    location: LocationOption = None,
    season: SeasonOption = None,
    week: WeekOption = None,
    scoring: ScoringOption = "ppr",
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue a matchup analysis of one player against one opponent."""
    from fgrid.service import resolve

    settings = settings_from(data_dir)
    kwargs = resolve.analyze_request(settings, player=player, opponent=opponent, location=location, season=season,
                                     week=week, scoring=scoring)
    submit_and_report(settings, config.TASK_ANALYZE, kwargs, wait, timeout, as_json)


def compare(
    players: Annotated[list[str], typer.Argument(help="Players to compare (names or ids).")],
    opponents: OpponentsOption,
    season: SeasonOption = None,
    week: WeekOption = None,
    scoring: ScoringOption = "ppr",
    slots: Annotated[int | None, typer.Option("--slots", help="Lineup slots to fill (default: half).")] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue a comparison of players, each against an opponent, ranked by projection."""
    from fgrid.service import resolve

    settings = settings_from(data_dir)
    kwargs = resolve.compare_request(settings, players, split_opponents(opponents), season, week, scoring, slots)
    submit_and_report(settings, config.TASK_COMPARE, kwargs, wait, timeout, as_json)


def backtest(
    season: Annotated[int, typer.Option("--season", help="Season to score.")],
    weeks: Annotated[str | None, typer.Option("--weeks", help="Weeks, e.g. 5-18 (default: all).")] = None,
    scoring: ScoringOption = "ppr",
    model: Annotated[str, typer.Option("--model", help="engine (the matchup engine) or ai (the trained model).")]
    = "engine",
    refit: Annotated[bool, typer.Option("--refit", help="Walk forward: refit the engine before each week on earlier "
                                        "games only (about a second a week).")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write the rows to this CSV file.")] = None,
    submit: Annotated[bool, typer.Option("--submit", help="Run it as a task on the analysis queue.")] = False,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Score the projections on past games against a naive baseline (recent weighted average)."""
    from fgrid import validation

    settings = settings_from(data_dir)
    span = parse_weeks(weeks)
    week_list = list(range(span[0], span[1] + 1)) if span else None
    scoring = validation.scoring(scoring)
    if model not in BACKTEST_MODELS:
        raise InputError(f"unknown model {model!r}; use engine or ai")
    if refit and model != "engine":
        raise InputError("--refit refits the engine; it does not apply to --model ai")
    if submit:
        if model != "engine" or out is not None:
            raise InputError("--submit runs the engine's backtest and returns its rows in the result; "
                             "drop --model/--out")
        from fgrid.service import resolve

        kwargs = resolve.backtest_request(settings, season, week_list, scoring, refit)
        submit_and_report(settings, config.TASK_BACKTEST, kwargs, wait, timeout, as_json)
        return
    if out is not None and not os.access(out.parent if str(out.parent) else Path("."), os.W_OK):
        raise InputError(f"--out {out}: cannot write in {out.parent or '.'}")
    from fgrid.render.analysis import backtest_table
    from fgrid.service import backtest as backtest_service

    with console(stderr=True).status(f"backtesting {season}") as spinner:
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
        print_json({k: v for k, v in report.items() if k != "rows"})
    else:
        console().print(backtest_table(report))
