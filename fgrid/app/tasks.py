"""Celery tasks: JSON in, one call into :mod:`fgrid.analysis`, JSON out. Retries are declared here.

Task names are a public contract (routing, ``celery call``, Flower). Data is loaded once per worker process.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from celery import Task, chord, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from fgrid import config, validation
from fgrid.broker import leases
from fgrid.broker.backends import STARTED_ATTRIBUTE
from fgrid.config import Settings
from fgrid.errors import FgridError, InputError, TransientDataError

log = logging.getLogger("fgrid")

if TYPE_CHECKING:
    from celery import Celery

    from fgrid.analysis.dataset import Dataset


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
    """Load the data and build the analysis indexes for PPR (the default scoring), so the first task is fast.

    Half-PPR and standard indexes are built on their first use: each costs start-up time and memory in every
    worker process, for a scoring most requests do not use.
    """
    from fgrid.analysis import matchup

    matchup.warm(dataset(app), scorings=("ppr",))


class FgridTask(Task):
    """Base task: transient data errors are retried with backoff; a soft time limit is a one-line failure."""

    autoretry_for = (TransientDataError,)
    retry_backoff = 1
    retry_backoff_max = 30
    # Waits of 1, 2 and 4 s. Celery's jitter draws each wait from 0 up to that, so all three retries could come
    # at once and be spent before a file being replaced is back.
    retry_jitter = False
    max_retries = 3
    #: Characters of the result in the worker's "succeeded" log line: enough to recognize it (an analysis shows its
    #: player). Celery builds this text for every task, logged or not, at a cost that grows with its length: the
    #: default 1024 costs more than the analysis itself (the whole result is in the result store anyway).
    resultrepr_maxsize = 100
    #: At most one copy of a task id runs at a time (a long task that must not run twice at once, such as training):
    #: a second delivery while one runs waits for it and returns its result, one after it finished returns the
    #: stored result. The lease lives in the result store (fgrid.broker.leases).
    single_flight = False
    #: Seconds between two looks at the running copy.
    single_flight_poll = 1.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # When it started running: stored with the task's state (fgrid.broker.backends), for `fgrid tasks`.
        setattr(self.request, STARTED_ATTRIBUTE, time.time())
        self._check_data_is_current()
        try:
            if self.single_flight and self.request.id and not self.request.is_eager:
                return self._single_flight(*args, **kwargs)
            return super().__call__(*args, **kwargs)
        except SoftTimeLimitExceeded:
            # The message's own limit when it has one (`celery call --soft-time-limit`, send_task), else the task's.
            limit = (
                (self.request.timelimit or (None, None))[1]
                or self.soft_time_limit
                or self.app.conf.task_soft_time_limit
            )
            raise FgridError(f"time limit exceeded: {self.name} ran past its soft time limit ({limit:g} s)") from None

    def _check_data_is_current(self) -> None:
        """Refuse a task checked against newer data than this worker's: its answer would silently differ (a host
        whose `fgrid data sync` fell behind the others)."""
        needed = getattr(self.request, config.HEADER_DATA_THROUGH, None)
        if not isinstance(needed, str):
            return
        own = dataset(self.app).meta.get("last_game_date")
        if isinstance(own, str) and own < needed:
            host = self.request.hostname or "this worker"
            raise FgridError(
                f"{host} has NFL data through {own}, older than the data this request was checked "
                f"against (through {needed}): run `fgrid data sync` on {host}, then `fgrid retry`"
            )

    def _single_flight(self, *args: Any, **kwargs: Any) -> Any:
        task_id = self.request.id
        lease = leases.lease(self.app, task_id, self.request.hostname or "")
        said = False
        while not lease.acquire():
            meta = self.app.backend.get_task_meta(task_id, cache=False)
            if meta.get("status") == "SUCCESS":
                log.warning(
                    "fgrid: %s[%s] was delivered again; the copy that ran it finished: its result stands",
                    self.name,
                    task_id,
                )
                return meta.get("result")
            if not said:
                log.warning(
                    "fgrid: %s[%s] was delivered again while a copy runs; waiting for that copy", self.name, task_id
                )
                said = True
            time.sleep(self.single_flight_poll)
        try:
            meta = self.app.backend.get_task_meta(task_id, cache=False)
            if meta.get("status") == "SUCCESS":  # an earlier delivery finished it: its result, not a second run
                return meta.get("result")
            return super().__call__(*args, **kwargs)
        finally:
            lease.release()


# No STARTED state: an analysis takes well under a millisecond, so nobody would see it, and storing it would cost
# each analysis a second write to the result store.
@shared_task(name=config.TASK_ANALYZE, bind=True, base=FgridTask, track_started=False)
def analyze_player(
    self: Task,
    player: str,
    opponent: str,
    location: str | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
    what_if: bool = False,
) -> dict[str, Any]:
    """Analyze one player's matchup against one opponent (``what_if``: a hypothetical game)."""
    from fgrid.analysis import matchup

    args = validation.analyze_args(player, opponent, location, season, week, scoring)
    return matchup.analyze(dataset(self.app), **args, what_if=what_if is True)


def _analysis_signature(task: Task, r: Any) -> Any:
    """The signature of one analysis request of a fan-out (a dict of :meth:`MatchupRequest.task_kwargs`)."""
    if not isinstance(r, dict):
        raise FgridError("each request must be an object")
    args = validation.analyze_args(
        r.get("player"), r.get("opponent"), r.get("location"), r.get("season"), r.get("week"), r.get("scoring", "ppr")
    )
    return task.s(**args, **({"what_if": True} if r.get("what_if") is True else {}))


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
    header = [_analysis_signature(analyze_player, r) for r in requests]
    return fan_out(self, header, rank_comparison.s(slots=slots))


@shared_task(name=config.TASK_RANK, bind=True, base=FgridTask)
def rank_comparison(self: Task, analyses: list[dict[str, Any]], slots: int | None = None) -> dict[str, Any]:
    """Rank finished analyses by projection and say whom to start."""
    from fgrid.analysis import compare

    return compare.rank(analyses, slots=slots)


@shared_task(name=config.TASK_LINEUP, bind=True, base=FgridTask)
def lineup(
    self: Task,
    requests: list[dict[str, Any]],
    slots: list[str],
    out: list[dict[str, Any]] | None = None,
    model: str = "engine",
    season: int | None = None,
    week: int | None = None,
) -> Any:
    """Fan out one projection per player who plays (the engine's analysis, or the ai model's prediction), then fill
    the slots with the best lineup (the pick inherits this task's id)."""
    from fgrid.analysis import lineup as lineup_mod

    if not isinstance(requests, list) or len(requests) > lineup_mod.MAX_ROSTER:
        raise FgridError(f"a lineup needs at most {lineup_mod.MAX_ROSTER} requests")
    slots = lineup_mod.parse_slots(slots)
    out = out if isinstance(out, list) else []
    body = lineup_pick.s(slots=slots, out=out, model=model)
    if not requests:  # everyone on a bye: nothing to project
        return lineup_pick.run([], slots=slots, out=out, model=model)
    predictor = ai_predict if model == "ai" else analyze_player
    return fan_out(self, [_analysis_signature(predictor, r) for r in requests], body)


@shared_task(name=config.TASK_LINEUP_PICK, bind=True, base=FgridTask)
def lineup_pick(
    self: Task,
    analyses: list[dict[str, Any]],
    slots: list[str],
    out: list[dict[str, Any]] | None = None,
    model: str = "engine",
) -> dict[str, Any]:
    """Fill the slots with the best lineup from the finished projections; bench gaps; players out listed apart."""
    from fgrid.analysis import lineup as lineup_mod

    return lineup_mod.pick(analyses, lineup_mod.parse_slots(slots), out or [], model=model)


@shared_task(name=config.TASK_BACKTEST, bind=True, base=FgridTask)
def backtest(self: Task, season: int, weeks: list[int] | None = None, scoring: str = "ppr", refit: bool = False) -> Any:
    """Backtest a season, one task per week (so more workers finish sooner), then summarize.

    ``refit``: walk forward, each week task refitting the engine on earlier games first (about a second each).
    """
    from fgrid.analysis import backtest as bt

    season = validation.season(season)
    scoring = validation.scoring(scoring)
    available = bt.season_weeks(dataset(self.app), season, scoring)
    refit = bt.check_refit(dataset(self.app), season, refit, scoring)
    if weeks is not None and (not isinstance(weeks, list) or len(weeks) > validation.MAX_WEEK):
        raise InputError(f"weeks must be a list of at most {validation.MAX_WEEK} weeks")
    weeks = available if weeks is None else sorted({validation.week(w) for w in weeks})
    missing = sorted(set(weeks) - set(available))
    if not weeks or missing:
        raise InputError(f"no regular-season stats for {season} week(s) {missing or weeks}")
    # refit only when set, so a plain backtest's messages read as before (and older workers take them).
    extra = {"refit": True} if refit else {}
    header = [backtest_week.s(season, week, scoring, **extra) for week in weeks]
    return fan_out(self, header, backtest_summary.s(season=season, weeks=weeks, scoring=scoring, **extra))


@shared_task(name=config.TASK_BACKTEST_WEEK, bind=True, base=FgridTask)
def backtest_week(
    self: Task, season: int, week: int, scoring: str = "ppr", refit: bool = False
) -> list[dict[str, Any]]:
    """Backtest rows of one week (``refit``: with the engine refitted on the games before it)."""
    from fgrid.analysis import backtest as bt

    return bt.run_week(dataset(self.app), season, week, validation.scoring(scoring), refit=refit)


@shared_task(name=config.TASK_BACKTEST_SUMMARY, bind=True, base=FgridTask)
def backtest_summary(
    self: Task,
    weekly_rows: list[list[dict[str, Any]]],
    season: int,
    weeks: list[int],
    scoring: str = "ppr",
    refit: bool = False,
) -> dict[str, Any]:
    """Join the weeks' rows and summarize them against the baseline."""
    from fgrid.analysis import backtest as bt

    rows = [row for week_rows in weekly_rows for row in week_rows]
    return {
        "season": season,
        "weeks": weeks,
        "scoring": scoring,
        "predictor": bt.REFIT_NAME if refit else bt.ENGINE_NAME,
        "rows": rows,
        "summary": bt.summarize(rows),
    }


def trained_model(app: Celery) -> Any:
    """The latest trained model, read once per process (a newer one is picked up when saved)."""
    from fgrid.analysis import model as ai

    return ai.load_model(settings_of(app).models_dir)


# Single flight: a redelivery (a broker restart, a worker thought dead) never trains a second model at once. No
# STARTED state: the copy that holds the lease reports its own progress, so a waiting copy never overwrites it.
@shared_task(
    name=config.TASK_AI_TRAIN,
    bind=True,
    base=FgridTask,
    soft_time_limit=config.TRAIN_SOFT_TIME_LIMIT,
    time_limit=config.TRAIN_TIME_LIMIT,
    single_flight=True,
    track_started=False,
)
def ai_train(self: Task, seasons: list[int], scoring: str = "ppr") -> dict[str, Any]:
    """Train the ai model on past seasons, save it atomically as the latest, and return its metrics."""
    from fgrid.analysis import model as ai

    if not isinstance(seasons, list) or not 1 <= len(seasons) <= 30:
        raise FgridError("seasons must be a list of 1 to 30 seasons")
    seasons = [validation.season(s) for s in seasons]

    def progress(stage: str, percent: float) -> None:
        self.update_state(state="PROGRESS", meta={"stage": stage, "percent": round(float(percent), 1)})

    progress("start", 0)
    trained = ai.train(dataset(self.app), seasons, validation.scoring(scoring), progress=progress)
    model_id = ai.save(trained, settings_of(self.app).models_dir)
    return {"model_id": model_id, "seasons": seasons, "scoring": trained.scoring, "metrics": trained.metrics}


@shared_task(name=config.TASK_AI_PREDICT, bind=True, base=FgridTask)
def ai_predict(
    self: Task,
    player: str,
    opponent: str,
    location: str | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
    what_if: bool = False,
) -> dict[str, Any]:
    """Predict a player's points in one game with the trained model, with the factors that explain it."""
    from fgrid.analysis import model as ai

    args = validation.analyze_args(player, opponent, location, season, week, scoring)
    return ai.predict(trained_model(self.app), dataset(self.app), **args, what_if=what_if is True)


@shared_task(name=config.TASK_AI_GRADE, bind=True, base=FgridTask)
def ai_grade(self: Task, requests: list[dict[str, Any]], slots: int | None = None) -> dict[str, Any]:
    """Grade each player's matchup A+ to F from the model's projected percentile at his position that week."""
    from fgrid.analysis import model as ai

    if not isinstance(requests, list) or not requests or len(requests) > validation.MAX_COMPARE:
        raise FgridError(f"grading needs 1 to {validation.MAX_COMPARE} requests")
    model, ds = trained_model(self.app), dataset(self.app)
    grades = []
    for r in requests:
        args = validation.analyze_args(
            r.get("player"),
            r.get("opponent"),
            r.get("location"),
            r.get("season"),
            r.get("week"),
            r.get("scoring", "ppr"),
        )
        grades += ai.grade(
            model,
            ds,
            [(args["player"], args["opponent"])],
            season=args["season"],
            week=args["week"],
            what_if=r.get("what_if") is True,
        )
    return {"grades": grades}


@shared_task(name=config.TASK_AI_SLATE, bind=True, base=FgridTask)
def ai_slate(self: Task, season: int, week: int, position: str | None = None, top: int | None = None) -> dict[str, Any]:
    """Rank a whole week's slate by the model's projection."""
    from fgrid.analysis import model as ai

    season = validation.season(season)
    week = validation.week(week)
    top = validation.optional_int(top, "top", 1, 500)
    rows = ai.predict_slate(trained_model(self.app), dataset(self.app), season, week, position, top)
    return {"season": season, "week": week, "position": position, "slate": rows}
