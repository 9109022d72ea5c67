"""A task's life as the CLI and the HTTP API see it: submit it by name, read its state, wait for it.

Everything here raises :mod:`fgrid.errors` exceptions with one-line messages; broker and result-store failures
become :class:`~fgrid.errors.UnavailableError` naming the URL with its password masked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fgrid import validation
from fgrid.app import get_app
from fgrid.broker import connection, results
from fgrid.broker.connection import reachable
from fgrid.broker.results import READY_STATES, StateChanges
from fgrid.config import Settings
from fgrid.errors import FgridError, UnknownTaskError
from fgrid.recovery import ledger
from fgrid.recovery.ledger import TaskLedger

if TYPE_CHECKING:
    from celery import Celery

#: Seconds between two polls of a task's state while waiting: the first gap, growing by POLL_GROWTH up to
#: POLL_INTERVAL_MAX. A Redis result store also announces each change, which ends a gap at once.
POLL_INTERVAL = 0.002
POLL_GROWTH = 1.25
POLL_INTERVAL_MAX = 0.25


def submit(settings: Settings, task_name: str, kwargs: dict[str, Any]) -> str:
    """Queue ``task_name`` with ``kwargs`` (routed by name) and return its id."""
    app = get_app(settings)
    # With one server for both, recording the task is the check: it fails, naming the broker, before anything is
    # queued, and saves the check's round trips on every submit.
    if settings.broker_url != settings.result_backend:
        connection.check_broker(app)
    task_id = ledger.new_task_id()
    ledger.submit(app, task_name, kwargs, task_id)
    return task_id


def task_state(settings: Settings, task_id: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything known of a task: state, result or error, worker, times, progress; UnknownTaskError if never seen.

    ``meta`` is the task's stored state when the caller already has it (as announced by the result store).
    """
    task_id = validation.task_id(task_id)
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
            info["progress"] = _progress(app, value)
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
            return (f"task {task_id} was submitted at {when}, before the result store restarted without keeping its "
                    f"data: the task and its record were lost with it; submit it again (and see README: Reliability "
                    f"for keeping Redis's data)")
    return f"unknown task id {task_id}: never submitted, or its record has expired"


def status(settings: Settings, task_id: str) -> dict[str, Any]:
    """The seed's status document: task_id, status, ready, successful, result (null until ready)."""
    info = task_state(settings, task_id)
    ready = info["state"] in READY_STATES
    result = info["result"] if info["state"] == "SUCCESS" else info["error"] if ready else None
    return {
        "task_id": info["task_id"],
        "status": info["state"],
        "ready": ready,
        "successful": info["state"] == "SUCCESS",
        "result": result,
    }


def wait(settings: Settings, task_id: str, timeout: float | None = None,
         on_update: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Poll a task until it is ready (or ``timeout`` seconds pass); return its final ``task_state``."""
    start = time.monotonic()
    interval = POLL_INTERVAL
    changes: StateChanges | None = None  # set up once a poll finds the task unfinished
    final: dict[str, Any] | None = None  # the final state, when the result store announced it
    try:
        while True:
            info = task_state(settings, task_id, final)
            info["elapsed"] = time.monotonic() - start
            if on_update:
                on_update(info)
            if info["state"] in READY_STATES:
                return info
            if timeout is not None and info["elapsed"] >= timeout:
                raise FgridError(f"task {task_id} not finished after {timeout:g} s (state {info['state']}); "
                                 f"check it later with `fgrid status {task_id}`")
            if changes is None:
                changes = StateChanges(get_app(settings), task_id)
                continue  # poll again at once: the state may have changed before the subscription
            while True:
                # With announcements, polling is only a fallback (a message is lost if the connection drops).
                gap = POLL_INTERVAL_MAX if changes.announced else interval
                if timeout is not None:
                    gap = max(min(gap, timeout - (time.monotonic() - start)), 0.0)
                announced = changes.wait(gap)
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
            changes.close()


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


def _progress(app: Celery, meta: dict[str, Any]) -> dict[str, Any]:
    # A fanned-out task stores its children's ids; count the finished ones live (one read for all on Redis).
    children = meta.get("children") or []
    done = meta.get("done", 0)
    if children:
        done = sum(1 for state in results.states(app, children) if state in READY_STATES)
    kept = {k: v for k, v in meta.items() if k != "children"}
    return {**kept, "done": done, "total": meta.get("total", len(children))}
