"""The ai model's commands: train, model list/show, predict, grade (their tasks run on the ai queue)."""

from __future__ import annotations

from typing import Annotated

import typer

from fgrid import config
from fgrid.cli.analysis import say_week
from fgrid.cli.live import follow_progress, submit_and_report
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
    parse_seasons,
    settings_from,
    split_opponents,
)
from fgrid.cli.output import console, print_json
from fgrid.errors import InputError

#: Most seasons one training may use.
MOST_TRAINING_SEASONS = 30
#: Most players a slate may list with --top.
MOST_SLATE_ROWS = 500
NO_MODEL_YET = "no trained model yet; run `fgrid train`"

model_app = typer.Typer(help="List and show trained ai models.", no_args_is_help=True)


def train(
    seasons: Annotated[str, typer.Option("--seasons", help="Training seasons; the last one validates.")] = "2019-2022",
    scoring: ScoringOption = "ppr",
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue training of the ai model (on the ai queue); with --wait, show its progress and metrics."""
    from fgrid import validation

    kwargs = {"seasons": parse_seasons(seasons, most=MOST_TRAINING_SEASONS), "scoring": validation.scoring(scoring)}
    submit_and_report(
        settings_from(data_dir), config.TASK_AI_TRAIN, kwargs, wait, timeout, as_json, follow_with=follow_progress
    )


@model_app.command("list")
def model_list(as_json: JsonOption = False, data_dir: DataDirOption = None) -> None:
    """List the trained models, newest first, with their validation metrics."""
    from fgrid.analysis import model as ai
    from fgrid.render.ai import model_table

    models = ai.list_models(settings_from(data_dir).models_dir)
    if as_json:
        print_json(models)
    elif not models:
        console(stderr=True).print(NO_MODEL_YET)
    else:
        console().print(model_table(models))


@model_app.command("show")
def model_show(
    model_id: Annotated[str | None, typer.Argument(help="Model id (default: the latest).")] = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show one model: seasons, scoring, features, data fingerprint and validation metrics."""
    from fgrid.analysis import model as ai
    from fgrid.render.ai import model_table

    models = ai.list_models(settings_from(data_dir).models_dir)
    chosen = (
        next((m for m in models if m.get("latest")), None)
        if model_id is None
        else next((m for m in models if m["model_id"] == model_id), None)
    )
    if chosen is None:
        raise InputError(f"unknown model {model_id!r}; `fgrid model list` shows them" if model_id else NO_MODEL_YET)
    if as_json:
        print_json(chosen)
    else:
        console().print(model_table([chosen], title=f"model {chosen['model_id']}", metrics=True))


def predict(
    player: Annotated[str | None, typer.Argument(help="Player (omit with --season/--week for a whole slate).")] = None,
    opponent: Annotated[
        str | None,
        typer.Option(
            "--opponent", "-o", help="Opponent: code, city or nickname (default: the scheduled one that week)."
        ),
    ] = None,
    location: LocationOption = None,
    season: SeasonOption = None,
    week: WeekOption = None,
    position: Annotated[str | None, typer.Option("--position", help="Slate: only QB, RB, WR or TE.")] = None,
    top: Annotated[int | None, typer.Option("--top", help="Slate: the best N.")] = None,
    what_if: WhatIfOption = False,
    scoring: ScoringOption = "ppr",
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue the ai model's prediction for a player, or with --season/--week alone, rank a week's slate."""
    from fgrid import validation
    from fgrid.service import resolve

    settings = settings_from(data_dir)
    resolve.require_model(settings)
    if player is None:
        if season is None or week is None:
            raise InputError(
                "give a PLAYER (his opponent is the scheduled one), or --season and --week for a whole slate"
            )
        kwargs = {
            "season": validation.optional_int(season, "season", validation.MIN_SEASON, validation.MAX_SEASON),
            "week": validation.optional_int(week, "week", validation.MIN_WEEK, validation.MAX_WEEK),
            "position": validation.position(position),
            "top": validation.optional_int(top, "top", 1, MOST_SLATE_ROWS),
        }
        submit_and_report(settings, config.TASK_AI_SLATE, kwargs, wait, timeout, as_json)
        return
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
    submit_and_report(settings, config.TASK_AI_PREDICT, kwargs, wait, timeout, as_json)


def grade(
    players: Annotated[list[str], typer.Argument(help="Players to grade (names or ids).")],
    opponents: OpponentsOption = None,
    season: SeasonOption = None,
    week: WeekOption = None,
    what_if: WhatIfOption = False,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue A+ to F grades of players' matchups in one week from the ai model's projected percentile."""
    from fgrid.service import resolve

    settings = settings_from(data_dir)
    resolve.require_model(settings)
    kwargs = resolve.compare_request(settings, players, split_opponents(opponents), season, week, what_if=what_if)
    kwargs.pop("slots", None)  # grades are per player: no lineup to fill
    say_week(settings, (kwargs["requests"] or [{}])[0], as_json, chosen=season is None or week is None)
    submit_and_report(settings, config.TASK_AI_GRADE, kwargs, wait, timeout, as_json)
