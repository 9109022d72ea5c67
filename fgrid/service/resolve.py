"""Requests checked against the synced data before anything is queued: each returns the task's canonical kwargs
or raises InputError with one sentence that helps."""

from __future__ import annotations

from typing import Any

from fgrid import validation
from fgrid.config import Settings
from fgrid.errors import InputError, NoModelError


def analyze_request(settings: Settings, **args: Any) -> dict[str, Any]:
    """Validate an analysis request against the data and return the task's canonical kwargs."""
    kwargs = validation.analyze_args(
        args.get("player"), args.get("opponent"), args.get("location"), args.get("season"), args.get("week"),
        args.get("scoring", "ppr"),
    )
    from fgrid.analysis import data, matchup

    ds = data.load(settings.nfl_dir)
    request = matchup.resolve_request(ds, **kwargs)
    return request.task_kwargs()


def compare_request(settings: Settings, players: list[str], opponents: list[str], season: int | None = None,
                    week: int | None = None, scoring: str = "ppr", slots: int | None = None) -> dict[str, Any]:
    """Validate a comparison against the data and return the compare task's kwargs."""
    pairs = validation.compare_args(players, opponents)
    resolved = [analyze_request(settings, player=p, opponent=o, season=season, week=week, scoring=scoring)
                for p, o in pairs]
    if slots is not None:
        slots = validation.optional_int(slots, "slots", 1, len(pairs))
    return {"requests": resolved, "slots": slots}


def backtest_request(settings: Settings, season: int, weeks: list[int] | None, scoring: str,
                     refit: bool = False) -> dict[str, Any]:
    """Check a backtest request against the data (season and weeks present, ``refit`` possible); return the task's
    kwargs (``refit`` only when set)."""
    from fgrid.analysis import backtest, data

    season = validation.season(season)
    ds = data.load(settings.nfl_dir)
    available = backtest.season_weeks(ds, season, scoring)
    refit = backtest.check_refit(ds, season, refit, scoring)
    missing = sorted(set(weeks or []) - set(available))
    if not available or missing:
        span = f"{available[0]}-{available[-1]}" if available else "none"
        raise InputError(f"no regular-season stats for {season} week(s) {missing or ''}; available: {span}")
    kwargs = {"season": season, "weeks": sorted(set(weeks)) if weeks else None, "scoring": scoring}
    return {**kwargs, "refit": True} if refit else kwargs


def require_model(settings: Settings) -> None:
    """Raise NoDataError, naming `fgrid train`, when no trained model is in the data folder."""
    from fgrid.analysis import model as ai

    if not ai.list_models(settings.models_dir):
        raise NoModelError(f"no trained model in {settings.models_dir}; run `fgrid train` first")
