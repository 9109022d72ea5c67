"""The ai queue's commands: train, model, predict, grade."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from fgrid import config
from fgrid.cli.common import (
    DataDirOption,
    JsonOption,
    ScoringOption,
    SeasonOption,
    TimeoutOption,
    WaitOption,
    WeekOption,
    _console,
    _print_json,
    _settings,
    _submit_and_report,
    parse_seasons,
)
from fgrid.errors import InputError

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

    kwargs = {"seasons": parse_seasons(seasons, most=30), "scoring": validation.scoring(scoring)}
    _submit_and_report(_settings(data_dir), config.TASK_AI_TRAIN, kwargs, wait, timeout, as_json,
                       follow=_follow_training)


def _follow_training(settings: Any, task_id: str, timeout: float | None, show: bool) -> dict[str, Any]:
    """Wait for a training task with a progress bar (stage and percent) on stderr."""
    from fgrid.service import lifecycle

    if not show:
        return lifecycle.wait(settings, task_id, timeout)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())
    with Progress(*columns, console=_console(stderr=True)) as bar:
        job = bar.add_task("queued", total=100)

        def update(info: dict[str, Any]) -> None:
            progress = info.get("progress") or {}
            bar.update(job, description=str(progress.get("stage") or info["state"].lower()),
                       completed=float(progress.get("percent") or (100 if info["state"] == "SUCCESS" else 0)))

        return lifecycle.wait(settings, task_id, timeout, on_update=update)


def model_list(as_json: JsonOption = False, data_dir: DataDirOption = None) -> None:
    """List the trained models, newest first, with their validation metrics."""
    from fgrid.analysis import model as ai
    from fgrid.render import analysis as render

    models = ai.list_models(_settings(data_dir).models_dir)
    if as_json:
        _print_json(models)
    elif not models:
        _console(stderr=True).print("no trained model yet; run `fgrid train`")
    else:
        _console().print(render.model_table(models))


def model_show(
    model_id: Annotated[Optional[str], typer.Argument(help="Model id (default: the latest).")] = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show one model: seasons, scoring, features, data fingerprint and validation metrics."""
    from fgrid.analysis import model as ai
    from fgrid.render import analysis as render

    models = ai.list_models(_settings(data_dir).models_dir)
    chosen = next((m for m in models if m.get("latest")), None) if model_id is None else next(
        (m for m in models if m["model_id"] == model_id), None)
    if chosen is None:
        raise InputError(f"unknown model {model_id!r}; `fgrid model list` shows them" if model_id else
                         "no trained model yet; run `fgrid train`")
    if as_json:
        _print_json(chosen)
    else:
        _console().print(render.model_table([chosen], title=f"model {chosen['model_id']}", metrics=True))


def predict(
    player: Annotated[Optional[str], typer.Argument(help="Player (omit with --season/--week for a whole slate).")]
    = None,
    opponent: Annotated[Optional[str], typer.Option("--opponent", "-o", help="Opponent: code, city or nickname.")]
    = None,
    location: Annotated[Optional[str], typer.Option("--location", help='Venue city, e.g. "Santa Clara, CA".')] = None,
    season: SeasonOption = None,
    week: WeekOption = None,
    position: Annotated[Optional[str], typer.Option("--position", help="Slate: only QB, RB, WR or TE.")] = None,
    top: Annotated[Optional[int], typer.Option("--top", help="Slate: the best N.")] = None,
    scoring: ScoringOption = "ppr",
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue the ai model's prediction for a player, or with --season/--week alone, rank a week's slate."""
    from fgrid import validation
    from fgrid.service import resolve

    settings = _settings(data_dir)
    resolve.require_model(settings)
    if player is None:
        if season is None or week is None:
            raise InputError("give a PLAYER with --opponent, or --season and --week for a whole slate")
        kwargs = {"season": validation.optional_int(season, "season", validation.MIN_SEASON, validation.MAX_SEASON),
                  "week": validation.optional_int(week, "week", validation.MIN_WEEK, validation.MAX_WEEK),
                  "position": validation.position(position),
                  "top": validation.optional_int(top, "top", 1, 500)}
        _submit_and_report(settings, config.TASK_AI_SLATE, kwargs, wait, timeout, as_json)
        return
    if opponent is None:
        raise InputError("--opponent is required with a PLAYER")
    kwargs = resolve.analyze_request(settings, player=player, opponent=opponent, location=location, season=season,
                                    week=week, scoring=scoring)
    _submit_and_report(settings, config.TASK_AI_PREDICT, kwargs, wait, timeout, as_json)


def grade(
    players: Annotated[list[str], typer.Argument(help="Players to grade (names or ids).")],
    opponents: Annotated[str, typer.Option("--opponents", help="Opponents, comma-separated: one per player, or one.")],
    season: SeasonOption = None,
    week: WeekOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue A+ to F grades of players' matchups from the ai model's projected percentile that week."""
    from fgrid.service import resolve

    settings = _settings(data_dir)
    resolve.require_model(settings)
    kwargs = resolve.compare_request(settings, players, [o for o in opponents.split(",") if o.strip()], season, week)
    kwargs.pop("slots", None)
    _submit_and_report(settings, config.TASK_AI_GRADE, kwargs, wait, timeout, as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(train)
    app.command()(predict)
    app.command()(grade)
    model_app.command("list")(model_list)
    model_app.command("show")(model_show)
    app.add_typer(model_app, name="model")
