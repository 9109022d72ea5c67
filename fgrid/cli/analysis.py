"""The matchup engine's commands: analyze-player, compare, backtest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    WhatIfOption,
    parse_weeks,
    settings_from,
    split_opponents,
)
from fgrid.cli.output import console, print_json
from fgrid.errors import InputError

if TYPE_CHECKING:
    from fgrid.config import Settings

#: The predictors ``fgrid backtest --model`` scores.
BACKTEST_MODELS = ("engine", "ai")


def say_week(settings: Settings, kwargs: dict[str, Any], as_json: bool, chosen: bool) -> None:
    """Say on stderr which week a resolved request is about and how it stands against the data, when fgrid chose
    the week (``chosen``: no --season and --week given; not with --json: the result names its week)."""
    from fgrid.render.text import plain
    from fgrid.service import resolve

    if chosen and not as_json and kwargs.get("season") and kwargs.get("week"):
        note = resolve.week_note(settings, kwargs["season"], kwargs["week"])
        console(stderr=True).print(
            plain(note + (": a hypothetical game" if kwargs.get("what_if") else "")), soft_wrap=True
        )


def analyze_player(
    player: Annotated[str, typer.Argument(help="Player name, gsis id, Sleeper id or ESPN id.")],
    opponent: Annotated[
        str | None,
        typer.Option(
            "--opponent", "-o", help="Opponent: code (SF), city or nickname (default: the scheduled one that week)."
        ),
    ] = None,
    location: LocationOption = None,
    season: SeasonOption = None,
    week: WeekOption = None,
    what_if: WhatIfOption = False,
    scoring: ScoringOption = "ppr",
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue a matchup analysis of one player in one game (the week after the data by default)."""
    from fgrid.service import resolve

    settings = settings_from(data_dir)
    kwargs = resolve.analyze_request(
        settings,
        player=player,
        opponent=opponent,
        location=location,
        season=season,
        week=week,
        scoring=scoring,
        what_if=what_if,
    )
    say_week(settings, kwargs, as_json, chosen=season is None or week is None)
    submit_and_report(settings, config.TASK_ANALYZE, kwargs, wait, timeout, as_json)


def compare(
    players: Annotated[list[str], typer.Argument(help="Players to compare (names or ids).")],
    opponents: OpponentsOption = None,
    season: SeasonOption = None,
    week: WeekOption = None,
    what_if: WhatIfOption = False,
    scoring: ScoringOption = "ppr",
    slots: Annotated[
        int | None,
        typer.Option(
            "--slots", help=f"Players to start, at most the number compared (default: {config.DEFAULT_COMPARE_SLOTS})."
        ),
    ] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue a start/sit comparison of players in one week, ranked by projection."""
    from fgrid.service import resolve

    settings = settings_from(data_dir)
    kwargs = resolve.compare_request(
        settings, players, split_opponents(opponents), season, week, scoring, slots, what_if=what_if
    )
    say_week(settings, (kwargs["requests"] or [{}])[0], as_json, chosen=season is None or week is None)
    submit_and_report(settings, config.TASK_COMPARE, kwargs, wait, timeout, as_json)


def backtest(
    season: Annotated[int, typer.Option("--season", help="Season to score.")],
    weeks: Annotated[str | None, typer.Option("--weeks", help="Weeks, e.g. 5-18 (default: all).")] = None,
    scoring: ScoringOption = "ppr",
    model: Annotated[
        str, typer.Option("--model", help="engine (the matchup engine) or ai (the trained model).")
    ] = "engine",
    refit: Annotated[
        bool,
        typer.Option(
            "--refit",
            help="Walk forward: refit the engine before each week on earlier games only (about a second a week).",
        ),
    ] = False,
    lineups: Annotated[
        bool,
        typer.Option(
            "--lineups",
            help="Replay every team's roster-of-13 each week: points of "
            "the chosen lineup, the best in hindsight and the baseline's.",
        ),
    ] = False,
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
    if lineups:
        if submit or refit or out is not None:
            raise InputError("--lineups runs here and prints its figures; drop --submit/--refit/--out")
        from fgrid.render.lineup import lineup_backtest_table
        from fgrid.service import backtest as backtest_service

        with console(stderr=True).status(f"replaying {season} lineups"):
            report = backtest_service.run_lineup_backtest(settings, season, week_list, scoring, model)
        if as_json:
            print_json(report)
        else:
            console().print(lineup_backtest_table(report))
        return
    if submit:
        if model != "engine" or out is not None:
            raise InputError(
                "--submit runs the engine's backtest and returns its rows in the result; drop --model/--out"
            )
        from fgrid.service import resolve

        kwargs = resolve.backtest_request(settings, season, week_list, scoring, refit)
        submit_and_report(settings, config.TASK_BACKTEST, kwargs, wait, timeout, as_json)
        return
    if out is not None and not os.access(out.parent if str(out.parent) else Path("."), os.W_OK):
        raise InputError(f"--out {out}: cannot write in {out.parent or '.'}")
    from fgrid.render.analysis import backtest_view
    from fgrid.service import backtest as backtest_service

    with console(stderr=True).status(f"backtesting {season}") as spinner:
        report = backtest_service.run_backtest(
            settings,
            season,
            week_list,
            scoring,
            model,
            progress=lambda done, total: spinner.update(f"backtesting {season}: week {done}/{total}"),
            refit=refit,
        )
    if out is not None:
        from fgrid.analysis.backtest import write_csv

        try:
            write_csv(report["rows"], out)
        except OSError as exc:
            raise InputError(f"--out {out}: {exc.strerror or exc}") from exc
    if as_json:
        print_json({k: v for k, v in report.items() if k != "rows"})
    else:
        console().print(backtest_view(report))
