"""A task's life as the CLI and the HTTP API see it: submit it by name, read its state, wait for it.

Everything here raises :mod:`fgrid.errors` exceptions with one-line messages; broker and result-store failures
become :class:`~fgrid.errors.UnavailableError` naming the URL with its password masked.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fgrid import config, validation
from fgrid.app import get_app
from fgrid.broker import connection, results
from fgrid.broker.connection import reachable
from fgrid.broker.results import READY_STATES, StateChanges
from fgrid.config import Settings
from fgrid.errors import FgridError, InputError, UnavailableError, UnknownTaskError
from fgrid.recovery import ledger
from fgrid.recovery.ledger import TaskLedger

if TYPE_CHECKING:
    from celery import Celery

#: Seconds between two polls of a task's state while waiting: the first gap, growing by POLL_GROWTH up to
#: POLL_INTERVAL_MAX. A Redis result store also announces each change, which ends a gap at once.
POLL_INTERVAL = 0.002
POLL_GROWTH = 1.25
POLL_INTERVAL_MAX = 0.25
#: Characters of a short task id, as people read it (git and docker show as many).
SHORT_ID = 8
#: Fewest characters of an id prefix looked up in the ledger.
MIN_PREFIX = 4
#: Seconds a wait rides out an unreachable broker or result store before it gives up (exit 3).
OUTAGE_GRACE = 30.0
_HEX_PREFIX = re.compile(rf"^[0-9a-f][0-9a-f-]{{{MIN_PREFIX - 1},35}}$")


def short_id(task_id: str) -> str:
    """The first :data:`SHORT_ID` characters of a task id: what tables and messages show."""
    return task_id[:SHORT_ID]


def resolve_id(settings: Settings, task_id: str) -> str:
    """The full task id for ``task_id``, which may be a unique prefix of one (``3f1c9e5e``); InputError when the
    prefix matches several recorded tasks (listing them), UnknownTaskError when it matches none."""
    text = task_id.strip().lower() if isinstance(task_id, str) else task_id
    if isinstance(text, str) and len(text) < 36 and _HEX_PREFIX.match(text):
        app = get_app(settings)
        with reachable(settings, "result store"):
            found = TaskLedger(app).ids_starting(text, limit=10)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InputError(
                f"task id {text} is ambiguous: it starts {', '.join(sorted(found))}"
                f"{' and more' if len(found) >= 10 else ''}; give more characters"
            )
        raise UnknownTaskError(f"no task id starts with {text}: never submitted, or its record has expired")
    return validation.task_id(task_id)


def submit(settings: Settings, task_name: str, kwargs: dict[str, Any]) -> str:
    """Queue ``task_name`` with ``kwargs`` (routed by name) and return its id."""
    app = get_app(settings)
    # With one server for both, recording the task is the check: it fails, naming the broker, before anything is
    # queued, and saves the check's round trips on every submit.
    if settings.broker_url != settings.result_backend:
        connection.check_broker(app, pooled=True)
    task_id = ledger.new_task_id()
    through = data_through(settings)
    ledger.submit(
        app,
        task_name,
        kwargs,
        task_id,
        summary=summarize(kwargs, player_names(settings, kwargs)),
        headers={config.HEADER_DATA_THROUGH: through} if through else None,
    )
    return task_id


def data_through(settings: Settings) -> str | None:
    """The last game date (ISO) of the synced data this process checks requests against; None without data."""
    try:
        from fgrid.analysis import data

        return data.load(settings.nfl_dir).meta.get("last_game_date")
    except (FgridError, ImportError, OSError):
        return None


def summarize(kwargs: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """A task's arguments in one short line, the same way for every task: players by name (``names``: id to name),
    ``vs`` the opponent, the season and week as ``2023 w5``, a location by its stadium's name (``at Levi's Stadium``),
    any other argument as ``key=value``.

    >>> summarize({"player": "00-0033040", "opponent": "SF", "season": 2023, "week": 5, "scoring": "ppr"},
    ...           {"00-0033040": "Tyreek Hill"})
    'Tyreek Hill vs SF, 2023 w5'
    """
    names = names or {}
    parts: list[str] = []
    player, opponent = kwargs.get("player"), kwargs.get("opponent")
    requests = kwargs.get("requests")
    if isinstance(requests, list):
        players = [names.get(str(r.get("player")), str(r.get("player"))) for r in requests if isinstance(r, dict)]
        parts.append(", ".join(players))
        first = next((r for r in requests if isinstance(r, dict)), {})
        kwargs = {**{k: v for k, v in first.items() if k in ("season", "week", "scoring")}, **kwargs}
    elif player is not None:
        parts.append(names.get(str(player), str(player)) + (f" vs {opponent}" if opponent else ""))
    season, week = kwargs.get("season"), kwargs.get("week")
    if season is not None:
        parts.append(f"{season} w{week}" if week is not None else str(season))
    seasons = kwargs.get("seasons")
    if isinstance(seasons, list) and seasons:
        parts.append(f"{min(seasons)}-{max(seasons)}" if len(seasons) > 1 else str(seasons[0]))
    for key, value in kwargs.items():
        if key in ("player", "opponent", "requests", "season", "week", "seasons") or value is None:
            continue
        if key == "scoring" and value == "ppr":
            continue  # the default
        if key == "what_if" and value:
            parts.append("what-if")
            continue
        if key == "location":
            parts.append(f"at {_venue_name(str(value))}")
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return ", ".join(p for p in parts if p)[: ledger.SUMMARY_CHARS]


def _venue_name(stadium_id: str) -> str:
    """A stadium's name for its schedules id (``SFO01``: Levi's Stadium), or the id if the table lacks it."""
    from fgrid.analysis import venues

    venue = venues.get_venue(stadium_id)
    return venue.name if venue else stadium_id


def player_names(settings: Settings, kwargs: dict[str, Any]) -> dict[str, str]:
    """The names of the players a task's arguments name by id, from the synced data (read once per process);
    empty when there is no data to read them from."""
    ids = [kwargs.get("player")] + [r.get("player") for r in kwargs.get("requests") or [] if isinstance(r, dict)]
    wanted = {str(i) for i in ids if i}
    if not wanted:
        return {}
    try:
        from fgrid.analysis import data, players

        index = players.player_index(data.load(settings.nfl_dir))
    except (FgridError, ImportError, OSError):
        return {}
    return {pid: index.players[pid].name for pid in wanted if pid in index.players}


def task_state(settings: Settings, task_id: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything known of a task: state, result or error, worker, times, progress; UnknownTaskError if never seen.

    ``meta`` is the task's stored state when the caller already has it (as announced by the result store).
    """
    task_id = resolve_id(settings, task_id)
    app = get_app(settings)
    with reachable(settings, "result store"):
        if meta is None:
            meta, record = TaskLedger(app).state_and_record(task_id)
        else:
            record = TaskLedger(app).lookup(task_id)
    state = meta.get("status", "PENDING")
    if state == "PENDING" and record is None:
        raise UnknownTaskError(_unknown(app, task_id))
    info: dict[str, Any] = {
        "task_id": task_id,
        "state": state,
        "name": meta.get("name") or (record or {}).get("name"),
        "worker": meta.get("worker"),
        "queue": meta.get("queue") or (record or {}).get("queue"),
        "submitted_at": (record or {}).get("submitted_at"),
        "summary": (record or {}).get("summary"),
        "date_done": str(meta["date_done"]) if meta.get("date_done") else None,
        "result": None,
        "error": None,
        "progress": None,
    }
    value = meta.get("result")
    if state == "SUCCESS":
        info["result"] = value
    elif state in ("FAILURE", "RETRY", "REVOKED"):
        info["error"] = one_line_error(value, state)
    elif state == "PROGRESS" and isinstance(value, dict):
        with reachable(settings, "result store"):
            info["progress"] = progress_of(app, value)
    elif state == "STARTED" and isinstance(value, dict):
        info["worker"] = info["worker"] or value.get("hostname")
    return info


def _unknown(app: Celery, task_id: str) -> str:
    """Why an id is unknown: lost with a result store that restarted empty, or never submitted (or expired)."""
    made = ledger.submitted_at(task_id)
    expires = float(app.conf.result_expires or 0)
    if made is not None and time.time() - made < expires:
        with reachable(app.fgrid_settings, "result store"):
            restarted = results.store_started_at(app)
        if restarted is not None and restarted > made:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(made))
            return (
                f"task {task_id} was submitted at {when}, before the result store restarted without keeping its "
                f"data: the task and its record were lost with it; submit it again (and see README: Reliability "
                f"for keeping Redis's data)"
            )
    return f"unknown task id {task_id}: never submitted, or its record has expired"


def status(settings: Settings, task_id: str) -> dict[str, Any]:
    """The seed's status document: task_id, status, ready, successful, result (null until ready), and progress
    (stage, done/total, percent; null unless the task reports PROGRESS)."""
    return status_document(task_state(settings, task_id))


def status_document(info: dict[str, Any]) -> dict[str, Any]:
    """The seed's status document from a :func:`task_state`."""
    ready = info["state"] in READY_STATES
    result = info["result"] if info["state"] == "SUCCESS" else info["error"] if ready else None
    return {
        "task_id": info["task_id"],
        "status": info["state"],
        "ready": ready,
        "successful": info["state"] == "SUCCESS",
        "result": result,
        "progress": info.get("progress"),
    }


def wait(
    settings: Settings,
    task_id: str,
    timeout: float | None = None,
    on_update: Callable[[dict[str, Any]], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    outage_grace: float = OUTAGE_GRACE,
) -> dict[str, Any]:
    """Poll a task until it is ready (or ``timeout`` seconds pass); return its final ``task_state``.

    An unreachable broker or result store is ridden out for ``outage_grace`` seconds (``on_notice`` is told when it
    starts and when it ends) before the UnavailableError is raised.
    """
    start = time.monotonic()
    interval = POLL_INTERVAL
    changes: StateChanges | None = None  # set up once a poll finds the task unfinished
    final: dict[str, Any] | None = None  # the final state, when the result store announced it
    down_since: float | None = None
    try:
        while True:
            try:
                info = task_state(settings, task_id, final)
                if changes is None and info["state"] not in READY_STATES:
                    changes = StateChanges(get_app(settings), task_id)
                    info = task_state(settings, task_id)  # the state may have changed before the subscription
            except UnavailableError as exc:
                now = time.monotonic()
                if down_since is None:
                    down_since = now
                    if on_notice:
                        on_notice(f"{exc}; retrying for up to {outage_grace:g} s")
                if now - down_since >= outage_grace or (timeout is not None and now - start >= timeout):
                    raise
                if changes is not None:
                    with _quietly():
                        changes.close()
                    changes = None
                time.sleep(min(1.0, max(outage_grace - (now - down_since), 0.0)))
                continue
            if down_since is not None:
                down_since = None
                if on_notice:
                    on_notice("reconnected; still following the task")
            task_id = info["task_id"]
            info["elapsed"] = time.monotonic() - start
            if on_update:
                on_update(info)
            if info["state"] in READY_STATES:
                return info
            if timeout is not None and info["elapsed"] >= timeout:
                raise FgridError(
                    f"task {task_id} not finished after {timeout:g} s (state {info['state']}); "
                    f"check it later with `fgrid status {short_id(task_id)}`"
                )
            assert changes is not None
            while True:
                # With announcements, polling is only a fallback (a message is lost if the connection drops).
                gap = POLL_INTERVAL_MAX if changes.announced else interval
                if timeout is not None:
                    gap = max(min(gap, timeout - (time.monotonic() - start)), 0.0)
                try:
                    announced = changes.wait(gap)
                except Exception:  # noqa: BLE001 - a dropped subscription: the next poll says whether the store is down
                    announced = None
                    with _quietly():
                        changes.close()
                    changes = None
                    break
                interval = min(interval * POLL_GROWTH, POLL_INTERVAL_MAX)
                state = (announced or {}).get("status")
                if state in READY_STATES:
                    final = announced  # the announcement carries the stored result: no need to read it again
                    break
                # An announced STARTED or PROGRESS needs no poll unless someone displays it.
                if on_update is not None or state is None or gap == 0.0:
                    break
    finally:
        if changes is not None:
            with _quietly():
                changes.close()


def _quietly() -> contextlib.suppress:
    # Closing a subscription on a connection that already dropped may fail in any way: nothing is lost.
    return contextlib.suppress(Exception)


def one_line_error(value: Any, state: str) -> str:
    """A one-line reason from a stored exception (never a traceback)."""
    if state == "REVOKED":
        return "revoked (cancelled)"
    if isinstance(value, BaseException):
        message = str(value) or type(value).__name__
        if not isinstance(value, FgridError):
            message = f"{type(value).__name__}: {message}" if str(value) else type(value).__name__
    elif isinstance(value, dict) and "exc_type" in value:
        message = f"{value.get('exc_type')}: {value.get('exc_message')}"
    else:
        message = str(value)
    return " ".join(message.split())[:300]


def progress_of(app: Celery, meta: dict[str, Any]) -> dict[str, Any]:
    """What a PROGRESS task reports, in one shape: ``stage``, ``done`` of ``total`` parts, ``percent`` (each None
    when the task does not report it). Training reports a stage and a percentage; a fanned-out task stores its
    parts' ids, whose finished ones are counted live (one read for all on Redis)."""
    children = meta.get("children") or []
    done, total = meta.get("done"), meta.get("total")
    if children:
        done = sum(1 for state in results.states(app, children) if state in READY_STATES)
        total = total or len(children)
    percent = meta.get("percent")
    if percent is None and done is not None and total:
        percent = round(100 * done / total, 1)
    return {
        "stage": meta.get("stage"),
        "done": done,
        "total": total,
        "percent": None if percent is None else float(percent),
    }
