"""Celery signal handlers: record each submitted task, and load the data once per worker process."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fgrid import config

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("fgrid")
_state: dict[str, Any] = {}

#: Characters of the argument summary kept in the task record.
SUMMARY_CHARS = 120
#: Message header set by fgrid's client on tasks it has already recorded.
RECORDED_HEADER = "fgrid_recorded"
#: Tasks recorded when published by other clients (name prefixes): fgrid's, and the task that completes a chord on
#: the embedded default's file store (it waits in its worker's memory between polls, so a killed worker would lose it).
RECORDED_TASKS = ("fgrid.", config.TASK_CHORD_UNLOCK)


def connect(app: Celery) -> None:
    """Connect fgrid's handlers for ``app`` (the latest app built in this process wins)."""
    from celery import signals

    _state["app"] = app
    signals.before_task_publish.connect(_record_submitted, weak=False, dispatch_uid="fgrid.record")
    signals.worker_process_init.connect(_warm_up, weak=False, dispatch_uid="fgrid.warm")
    signals.worker_init.connect(_warm_up_single_process, weak=False, dispatch_uid="fgrid.warm1")
    from fgrid import recovery

    recovery.install()  # each worker re-queues tasks that killed workers took with them


def _record_submitted(sender: str | None = None, headers: dict | None = None, routing_key: str = "",
                      body: Any = None, exchange: str = "", **_: Any) -> None:
    # Tasks published by other clients (`celery call`, a chord's subtasks); fgrid's own client records first and
    # marks the message, so that a failure to record stops the submission (Celery only logs a handler's error).
    if not sender or not sender.startswith(RECORDED_TASKS) or not headers or headers.get(RECORDED_HEADER):
        return
    from fgrid.registry import TaskRegistry

    summary = f"{headers.get('argsrepr') or ''} {headers.get('kwargsrepr') or ''}".strip()
    # The whole message is kept, so that fgrid.recovery can publish it again if it is lost (a chord's part
    # carries its chord in the body and its group in the headers).
    message = {"body": body, "headers": headers, "exchange": exchange, "routing_key": routing_key}
    TaskRegistry(_state["app"]).record(
        headers["id"], task_info(sender, routing_key, summary, headers.get("root_id"), message=message))


def task_info(name: str, queue: str, summary: str, root_id: str | None = None, **replay: Any) -> dict[str, Any]:
    """The record kept for a submitted task; ``replay`` (``kwargs=`` or ``message=``) lets it be queued again."""
    return {"name": name, "queue": queue, "summary": summary[:SUMMARY_CHARS], "root_id": root_id, **replay}


def _warm_up(**_: Any) -> None:
    # Each worker process has the data loaded and its indexes built before its first task: inherited from the main
    # process when that preloaded the snapshot, else built here (and the snapshot written for the next start).
    from fgrid.analysis import features, snapshot
    from fgrid.errors import FgridError
    from fgrid.tasks import dataset, warm_up

    try:
        ds = dataset(_state["app"])
        built = features.store_key(snapshot.SCORING) not in ds.derived
        if built:  # another pool process may have written the snapshot since the main process looked
            ds.derived.update(snapshot.read(ds.path) or {})
            built = features.store_key(snapshot.SCORING) not in ds.derived
        warm_up(_state["app"])
        if built:
            snapshot.write(ds)
    except FgridError as exc:
        log.warning("fgrid: data not loaded at start-up (%s); tasks will report it", exc)
    except OSError as exc:  # e.g. a read-only data folder: each start builds the indexes again
        log.warning("fgrid: analysis snapshot not written (%s)", exc)


def _warm_up_single_process(sender: Any = None, **_: Any) -> None:
    # The solo and threads pools run tasks in the main process, which gets no worker_process_init.
    pool = getattr(sender, "pool_cls", None)
    name = pool if isinstance(pool, str) else getattr(pool, "__module__", "") or ""
    if "solo" in name or "thread" in name:
        _warm_up()
    else:
        _preload()


def _preload() -> None:
    # Prefork: load the analysis in the main process, before the pool forks, so that every pool process (and every
    # replacement after --max-tasks-per-child) starts with it and they all share one copy of its memory. Only
    # numpy and json run here: polars code would leave the pool processes a thread pool with no threads (they
    # would hang), so the data comes from the version's snapshot; without one, each pool process builds it.
    import gc

    try:
        import fgrid.analysis.backtest
        import fgrid.analysis.compare  # noqa: F401
        from fgrid.analysis import features, matchup, snapshot
        from fgrid.tasks import dataset
    except ImportError as exc:
        log.warning("fgrid: analysis not preloaded (%s)", exc)
        return
    from fgrid.errors import FgridError

    try:
        ds = dataset(_state["app"])
    except FgridError as exc:
        log.warning("fgrid: data not loaded at start-up (%s); tasks will report it", exc)
        return
    if features.store_key(snapshot.SCORING) in ds.derived:
        matchup.warm(ds, scorings=(snapshot.SCORING,))
    # What the main process holds now is shared with the pool processes: keep the collector off it, so it does not
    # write to (and so copy) those pages in each of them.
    gc.freeze()
