"""Operating on tasks: the task index (``fgrid tasks``), cancel, retry and purge.

The CLI calls one function here per command and renders what it returns (plain, JSON-ready dicts and lists).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fgrid import config
from fgrid.app import get_app
from fgrid.broker import connection, messages, queues, results
from fgrid.broker.connection import reachable
from fgrid.broker.results import READY_STATES
from fgrid.config import Settings
from fgrid.errors import FgridError, InputError
from fgrid.recovery import ledger
from fgrid.recovery.ledger import TaskLedger
from fgrid.service import lifecycle

#: Tasks listed by default, and the most ``fgrid tasks`` reads from the index when filtering.
DEFAULT_LIMIT = 20
MAX_SCAN = 1000
#: States a task can be in (Celery's, plus fgrid's PROGRESS for a fanned-out comparison).
STATES = ("PENDING", "RECEIVED", "STARTED", "PROGRESS", "RETRY", "SUCCESS", "FAILURE", "REVOKED")
RUNNING_STATES = frozenset({"STARTED", "PROGRESS"})


def list_tasks(
    settings: Settings, state: str | None = None, queue: str | None = None, limit: int = DEFAULT_LIMIT
) -> list[dict[str, Any]]:
    """Recently submitted tasks, newest first, exactly ``limit`` when there are as many: the index joined with each
    task's state in the result store. The parts of a fanned-out task (a comparison's analyses) are counted in their
    task's row, not listed."""
    state = _check_state(state)
    queue = _check_queue(queue) if queue is not None else None
    if not 1 <= limit <= MAX_SCAN:
        raise InputError(f"--limit must be between 1 and {MAX_SCAN}")
    app = get_app(settings)
    scan = min(MAX_SCAN, limit * 3) if state is None and queue is None else MAX_SCAN
    while True:
        with reachable(settings, "result store"):
            records = TaskLedger(app).recent(scan)
        tops = [r for r in records if not is_part(r)]
        if len(tops) >= limit or len(records) < scan or scan >= MAX_SCAN:
            break
        scan = MAX_SCAN  # parts and chord steps took the room: read the whole index once
    if state is None and queue is None:
        tops = tops[:limit]  # no filter: these are the rows
    with reachable(settings, "result store"):
        metas = results.metas(app, [r["id"] for r in tops])
    now = time.time()
    rows = []
    for record in tops:
        row = task_row(record, metas.get(record["id"]) or {}, now)
        if state is not None and row["state"] != state:
            continue
        if queue is not None and row["queue"] != queue:
            continue
        rows.append(row)
        if len(rows) >= limit:
            break
    add_progress(app, rows, metas)
    return rows


def add_progress(app: Any, rows: list[dict[str, Any]], metas: dict[str, dict[str, Any]]) -> None:
    """Give each PROGRESS row its progress (a fan-out's finished parts counted now)."""
    for row in rows:
        value = (metas.get(row["task_id"]) or {}).get("result")
        if row["state"] == "PROGRESS" and isinstance(value, dict):
            with reachable(app.fgrid_settings, "result store"):
                row["progress"] = lifecycle.progress_of(app, value)


def is_part(record: dict[str, Any]) -> bool:
    """A part of another task (a comparison's analysis, a backtest's week): its root is another task."""
    root = record.get("root_id")
    return bool(root) and root != record.get("id")


def _check_state(state: str | None) -> str | None:
    if state is None:
        return None
    wanted = state.strip().upper()
    if wanted == "FAILED":
        wanted = "FAILURE"
    if wanted not in STATES:
        raise InputError(f"unknown state {state!r}; use one of {', '.join(STATES)}")
    return wanted


def _check_queue(queue: str) -> str:
    if queue not in config.QUEUES:
        raise InputError(f"unknown queue {queue!r}; queues are {', '.join(config.QUEUES)}")
    return queue


def _timestamp(value: Any) -> float | None:
    """Seconds since the epoch from a stored date (ISO text or datetime; naive dates are UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return None


def task_row(record: dict[str, Any], meta: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """One task as a row: its record in the index joined with its meta from the result store."""
    now = time.time() if now is None else now
    state = meta.get("status") or "PENDING"
    submitted = record.get("submitted_at")
    done = _timestamp(meta.get("date_done"))
    started = _timestamp(record.get("started_at") or meta.get("date_started"))
    worker = meta.get("worker")
    if not worker and isinstance(meta.get("result"), dict) and state in RUNNING_STATES:
        worker = meta["result"].get("hostname")
    error = None
    if state in ("FAILURE", "RETRY", "REVOKED"):
        error = lifecycle.one_line_error(meta.get("result"), state)
    return {
        "task_id": record["id"],
        # What was asked for: a comparison's ranking step inherits its id, and its name in the result store.
        "name": record.get("name") or meta.get("name"),
        "summary": record.get("summary") or _summary(meta),
        "state": state,
        "worker": worker,
        "queue": meta.get("queue") or record.get("queue"),
        "submitted_at": submitted,
        "date_done": done,
        # Start-to-finish seconds when the start is known; latency is submission to finish (queue wait included).
        "runtime": round(done - started, 3) if done and started else None,
        "latency": round(done - submitted, 3) if done and submitted else None,
        # Seconds in the queue before a worker started it (known when the start is).
        "wait": round(started - submitted, 3) if started and submitted else None,
        "age": round(now - submitted, 1) if submitted else None,
        "error": error,
    }


def _summary(meta: dict[str, Any]) -> str:
    return lifecycle.summarize(meta.get("kwargs") or {})


def cancel(
    settings: Settings, task_id: str, terminate: bool = False, timeout: float = config.INSPECT_TIMEOUT
) -> dict[str, Any]:
    """Revoke a task: drop it from its queue if it waits there; with ``terminate``, kill it if it runs."""
    info = lifecycle.task_state(settings, task_id)
    task_id, state = info["task_id"], info["state"]
    if state in READY_STATES:
        raise InputError(f"task {task_id} already finished ({state}); nothing to cancel")
    if state in RUNNING_STATES and not terminate:
        raise InputError(f"task {task_id} is running on {info['worker'] or 'a worker'}; add --terminate to stop it")
    app = get_app(settings)
    ids = [task_id]
    if state == "PROGRESS":
        # A fanned-out comparison: its parts run as tasks of their own, and its ranking step will reuse its id.
        with reachable(settings, "result store"):
            progress = app.backend.get_task_meta(task_id).get("result")
        ids += [child for child in (progress or {}).get("children") or [] if isinstance(child, str)]
    waiting = state not in RUNNING_STATES
    if waiting or state == "PROGRESS":
        # A waiting task will never run (revoked in every worker, dropped from its queue): record it as such first,
        # so nothing (fgrid's recovery included) takes it for a task lost on the way.
        with reachable(settings, "result store"):
            app.backend.mark_as_revoked(task_id, reason="cancelled with fgrid cancel")
    with reachable(settings, "broker"):
        # SIGKILL: a pool process finishes its task on SIGTERM (fgrid.app.shutdown).
        replies = app.control.revoke(ids, terminate=terminate, signal="SIGKILL", reply=True, timeout=timeout) or []
        removed = queues.remove(app, set(ids)) if waiting or state == "PROGRESS" else 0
    workers = sorted(host for reply in replies for host in reply)
    return {
        "task_id": task_id,
        "previous_state": state,
        "revoked_by": workers,
        "removed_from_queue": removed,
        "terminated": bool(terminate and state in RUNNING_STATES),
        "parts": ids[1:],
    }


def retry(settings: Settings, task_id: str) -> dict[str, Any]:
    """Queue a failed (or cancelled) task again with the same arguments; return the new id."""
    info = lifecycle.task_state(settings, task_id)
    task_id = info["task_id"]
    if info["state"] not in ("FAILURE", "REVOKED"):
        raise InputError(f"task {task_id} is {info['state']}; only a failed or cancelled task can be retried")
    app = get_app(settings)
    with reachable(settings, "result store"):
        meta = app.backend.get_task_meta(task_id)
    name = meta.get("name") or info.get("name")
    args, kwargs = meta.get("args"), meta.get("kwargs")
    if args is None and kwargs is None:
        # Cancelled, purged or given up by recovery: Celery stored no arguments, fgrid's own record has them.
        with reachable(settings, "result store"):
            record = TaskLedger(app).lookup(task_id) or {}
        name = name or record.get("name")
        kwargs = record.get("kwargs")
    if not name or not name.startswith("fgrid.") or (args is None and kwargs is None):
        raise FgridError(f"task {task_id} has no stored arguments to retry with (was it submitted by fgrid?)")
    args, kwargs = list(args or []), dict(kwargs or {})
    connection.check_broker(app)
    new_id = ledger.new_task_id()
    if not args:
        # As fgrid submits: recorded first (with what it takes to queue it again), then sent by name.
        ledger.submit(
            app,
            name,
            kwargs,
            new_id,
            retry_of=task_id,
            summary=lifecycle.summarize(kwargs, lifecycle.player_names(settings, kwargs)),
        )
    else:
        # Positional arguments (a chord's ranking step): the publish hook records the whole message.
        with reachable(settings, "broker"):
            app.send_task(name, args=args, kwargs=kwargs, task_id=new_id)
    return {"task_id": new_id, "retry_of": task_id, "name": name, "status": "queued"}


def purge(settings: Settings, queue: str) -> int:
    """Delete every waiting message of one queue (priority sub-queues included); return how many.

    Each purged task is marked REVOKED in the result store, so ``fgrid status`` tells it was dropped and fgrid's
    recovery (which re-queues open tasks found in no queue) leaves it alone.
    """
    queue = _check_queue(queue)
    app = get_app(settings)
    raws = queues.take_all(app, queue)
    if isinstance(raws, int):  # a broker that purges without saying which tasks it dropped
        return raws
    ids = [i for i in (messages.task_id(raw) for raw in raws) if i]
    if ids:
        with reachable(settings, "result store"):
            for task_id in ids:
                app.backend.mark_as_revoked(task_id, reason=f"purged from {queue} with fgrid purge")
    return len(raws)
