"""Requests checked against the synced data before anything is queued: each returns the task's canonical kwargs
or raises InputError with one sentence that helps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fgrid import validation
from fgrid.config import Settings
from fgrid.errors import InputError, NoModelError

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: The projections a lineup can use: the matchup engine's or the trained ai model's.
LINEUP_MODELS = ("engine", "ai")


def _what_if(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"what_if must be true or false, not {value!r}"[:120])
    return value


def _opponent(value: Any) -> str | None:
    """An opponent as given (checked for shape), or None: the schedule's opponent that week."""
    return (
        None if value is None or (isinstance(value, str) and not value.strip()) else validation.text(value, "opponent")
    )


def analyze_request(settings: Settings, **args: Any) -> dict[str, Any]:
    """Validate an analysis request against the data and the schedule and return the task's canonical kwargs (the
    game resolved: player id, opponent code, season and week; ``what_if`` for a hypothetical game).

    ``opponent`` may be None (the scheduled opponent that week); a game the schedule does not have is an InputError
    naming the team's next games, unless ``what_if``."""
    opponent = _opponent(args.get("opponent"))
    kwargs = validation.analyze_args(
        args.get("player"),
        opponent or "-",
        args.get("location"),
        args.get("season"),
        args.get("week"),
        args.get("scoring", "ppr"),
    )
    kwargs["opponent"] = opponent
    from fgrid.analysis import data, matchup

    ds = data.load(settings.nfl_dir)
    request = matchup.resolve_request(ds, **kwargs, what_if=_what_if(args.get("what_if", False)))
    return request.task_kwargs()


def compare_request(
    settings: Settings,
    players: list[str],
    opponents: list[str] | None,
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
    slots: int | None = None,
    what_if: bool = False,
) -> dict[str, Any]:
    """Validate a comparison against the data and return the compare task's kwargs: every player's game in ONE
    week (the week after the data by default), each opponent the scheduled one (``opponents`` empty or None) or,
    with ``what_if``, the one given."""
    if opponents:
        pairs: list[tuple[str, str | None]] = list(validation.compare_args(players, opponents))
    else:
        if not isinstance(players, (list, tuple)) or not players:
            raise InputError("no players to compare")
        if len(players) > validation.MAX_COMPARE:
            raise InputError(f"too many players to compare ({len(players)}; at most {validation.MAX_COMPARE})")
        pairs = [(validation.text(p, "player"), None) for p in players]
    season = validation.optional_int(season, "season", validation.MIN_SEASON, validation.MAX_SEASON)
    week = validation.optional_int(week, "week", validation.MIN_WEEK, validation.MAX_WEEK)
    scoring = validation.scoring(scoring)
    if slots is not None:
        slots = validation.optional_int(slots, "slots", 1, len(pairs))
    from fgrid.analysis import data
    from fgrid.analysis.matchup.request import decision_week, resolve_week

    ds = data.load(settings.nfl_dir)
    distinct_players(ds, [p for p, _o in pairs], decision_week(ds, season, week, scoring).season)
    requests = resolve_week(
        ds, [p for p, _o in pairs], [o for _p, o in pairs], season, week, scoring, what_if=_what_if(what_if)
    )
    return {"requests": [r.task_kwargs() for r in requests], "slots": slots}


def distinct_players(ds: Dataset, names: list[str], season: int | None, where: str = "named") -> None:
    """Refuse a player given twice (a name and an id that resolve to the same player count as the same) with one
    sentence naming him, before anything is queued: comparing, grading or fielding a player against himself is a
    mistake in the request. ``season`` breaks ties between namesakes as the analysis does."""
    from fgrid.analysis import players

    seen: dict[str, str] = {}
    for name in names:
        found = players.resolve_player(ds, name, season=season)
        first = seen.get(found.id)
        if first is not None:
            given = f" (as {first!r} and {name!r})" if first.strip() != name.strip() else ""
            raise InputError(f"{found.name} is {where} twice{given}; give each player once")
        seen[found.id] = name


def lineup_request(
    settings: Settings,
    roster: list[str],
    slots: str | list[str] | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
    model: str = "engine",
) -> dict[str, Any]:
    """Validate a lineup against the data and return the lineup task's kwargs: the week, the slots, one analysis
    request per player who plays, and the players who cannot (on a bye) listed apart."""
    if not isinstance(roster, (list, tuple)):
        raise InputError("the roster must be a list of players")
    names = [validation.text(p, "player") for p in roster]
    season = validation.optional_int(season, "season", validation.MIN_SEASON, validation.MAX_SEASON)
    week = validation.optional_int(week, "week", validation.MIN_WEEK, validation.MAX_WEEK)
    scoring = validation.scoring(scoring)
    if model not in LINEUP_MODELS:
        raise InputError(f"unknown model {str(model)[:20]!r}; use engine or ai")
    from fgrid.analysis import data, lineup

    parsed = lineup.parse_slots(slots)
    if model == "ai":
        require_model(settings)
    ds = data.load(settings.nfl_dir)
    chosen = lineup.decision_week(ds, season, week, scoring)
    distinct_players(ds, names, chosen.season, where="on the roster")
    requests, out = lineup.roster_requests(ds, names, season, week, scoring)
    return {
        "requests": [r.task_kwargs() for r in requests],
        "out": out,
        "slots": parsed,
        "model": model,
        "season": chosen.season,
        "week": chosen.week,
    }


def week_note(settings: Settings, season: int, week: int) -> str:
    """How the week of a resolved request stands against the data: "2024 week 1, the first week after your data
    (through 2023 week 18)" or "2023 week 5, a played week: ..."."""
    from fgrid.analysis import data, schedule
    from fgrid.analysis.feature_store import store

    return schedule.describe(store(data.load(settings.nfl_dir), "ppr"), season, week)


def backtest_request(
    settings: Settings, season: int, weeks: list[int] | None, scoring: str, refit: bool = False
) -> dict[str, Any]:
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
