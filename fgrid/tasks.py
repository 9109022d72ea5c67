"""Celery tasks: JSON in, one call into :mod:`fgrid.analysis`, JSON out. Retries are declared here.

Task names are a public contract (routing, ``celery call``, Flower). Data is loaded once per worker process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import Task, chord, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from fgrid import config, validation
from fgrid.config import Settings
from fgrid.errors import FgridError, TransientDataError

if TYPE_CHECKING:
    from celery import Celery

    from fgrid.analysis.data import Dataset


def settings_of(app: Celery) -> Settings:
    """The settings the app was built from (or the environment's, for an app built elsewhere)."""
    return getattr(app, "fgrid_settings", None) or Settings.from_env()


def dataset(app: Celery) -> Dataset:
    """The synced NFL data, loaded once per process (a newer sync is picked up on the next task)."""
    from fgrid.analysis import data

    try:
        return data.load(settings_of(app).nfl_dir)
    except OSError as exc:  # a file replaced or locked mid-read: worth another try
        raise TransientDataError(f"reading the NFL data failed: {exc}") from exc


def warm_up(app: Celery) -> None:
    """Load the data and build the analysis indexes, so the first task is as fast as the rest."""
    from fgrid.analysis import matchup

    matchup.warm(dataset(app))


class FgridTask(Task):
    """Base task: transient data errors are retried with backoff; a soft time limit is a one-line failure."""

    autoretry_for = (TransientDataError,)
    retry_backoff = 1
    retry_backoff_max = 30
    retry_jitter = True
    max_retries = 3

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except SoftTimeLimitExceeded:
            raise FgridError(f"time limit exceeded: {self.name} ran past its soft time limit "
                             f"({self.soft_time_limit or self.app.conf.task_soft_time_limit} s)") from None


@shared_task(name=config.TASK_ANALYZE, bind=True, base=FgridTask)
def analyze_player(self: Task, player: str, opponent: str, location: str | None = None, season: int | None = None,
                   week: int | None = None, scoring: str = "ppr") -> dict[str, Any]:
    """Analyze one player's matchup against one opponent."""
    from fgrid.analysis import matchup

    args = validation.analyze_args(player, opponent, location, season, week, scoring)
    return matchup.analyze(dataset(self.app), **args)


def fan_out(task: Task, header: list, body: Any) -> Any:
    """Replace ``task`` by ``chord(header, body)``: the body inherits the task's id; progress counts the header."""
    for sig in header:
        sig.freeze()
    task.update_state(state="PROGRESS", meta={"done": 0, "total": len(header), "children": [s.id for s in header]})
    return task.replace(chord(header, body))


@shared_task(name=config.TASK_COMPARE, bind=True, base=FgridTask)
def compare_players(self: Task, requests: list[dict[str, Any]], slots: int | None = None) -> Any:
    """Fan out one analysis per player-opponent pair, then rank them (the ranking inherits this task's id)."""
    if not isinstance(requests, list) or not requests or len(requests) > validation.MAX_COMPARE:
        raise FgridError(f"a comparison needs 1 to {validation.MAX_COMPARE} requests")
    header = [analyze_player.s(**validation.analyze_args(
        r.get("player"), r.get("opponent"), r.get("location"), r.get("season"), r.get("week"),
        r.get("scoring", "ppr"))) for r in requests]
    return fan_out(self, header, rank_comparison.s(slots=slots))


@shared_task(name=config.TASK_RANK, bind=True, base=FgridTask)
def rank_comparison(self: Task, analyses: list[dict[str, Any]], slots: int | None = None) -> dict[str, Any]:
    """Rank finished analyses by projection and say whom to start."""
    from fgrid.analysis import compare

    return compare.rank(analyses, slots=slots)


@shared_task(name=config.TASK_BACKTEST, bind=True, base=FgridTask)
def backtest(self: Task, season: int, weeks: list[int] | None = None, scoring: str = "ppr") -> Any:
    """Backtest a season, one task per week (so more workers finish sooner), then summarize."""
    from fgrid.analysis import backtest as bt

    season = validation.optional_int(season, "season", validation.MIN_SEASON, validation.MAX_SEASON)
    scoring = validation.scoring(scoring)
    available = bt.season_weeks(dataset(self.app), season, scoring)
    weeks = available if weeks is None else [validation.optional_int(w, "week", 1, 22) for w in weeks]
    missing = sorted(set(weeks) - set(available))
    if not weeks or missing:
        raise FgridError(f"no regular-season stats for {season} week(s) {missing or weeks}")
    header = [backtest_week.s(season, week, scoring) for week in weeks]
    return fan_out(self, header, backtest_summary.s(season=season, weeks=weeks, scoring=scoring))


@shared_task(name=config.TASK_BACKTEST_WEEK, bind=True, base=FgridTask)
def backtest_week(self: Task, season: int, week: int, scoring: str = "ppr") -> list[dict[str, Any]]:
    """Backtest rows of one week."""
    from fgrid.analysis import backtest as bt

    return bt.run_week(dataset(self.app), season, week, validation.scoring(scoring))


@shared_task(name=config.TASK_BACKTEST_SUMMARY, bind=True, base=FgridTask)
def backtest_summary(self: Task, weekly_rows: list[list[dict[str, Any]]], season: int, weeks: list[int],
                     scoring: str = "ppr") -> dict[str, Any]:
    """Join the weeks' rows and summarize them against the baseline."""
    from fgrid.analysis import backtest as bt

    rows = [row for week_rows in weekly_rows for row in week_rows]
    return {"season": season, "weeks": weeks, "scoring": scoring, "predictor": "engine", "rows": rows,
            "summary": bt.summarize(rows)}
