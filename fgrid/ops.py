"""Operating fgrid: read the task index, the queues and the workers; cancel, retry and purge; check the setup.

The CLI (``fgrid/cli_ops.py``) calls one function here per command and renders what it returns (plain,
JSON-ready dicts and lists). Workers are asked through Celery's remote control, which works on Redis and on the
embedded file broker (its fanout carries the broadcast); queue depths are read from the broker itself.
Connection failures become :class:`~fgrid.errors.UnavailableError` via :func:`fgrid.client.reachable`.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fgrid import client, config, validation
from fgrid.config import Settings, mask_url
from fgrid.errors import FgridError, InputError, UnavailableError

if TYPE_CHECKING:
    from celery import Celery

#: Seconds to wait for workers to answer a remote-control request.
INSPECT_TIMEOUT = config.INSPECT_TIMEOUT
#: Tasks listed by default, and the most ``fgrid tasks`` reads from the index when filtering.
DEFAULT_LIMIT = 20
MAX_SCAN = 1000
#: States a task can be in (Celery's, plus fgrid's PROGRESS for a fanned-out comparison).
STATES = ("PENDING", "RECEIVED", "STARTED", "PROGRESS", "RETRY", "SUCCESS", "FAILURE", "REVOKED")
RUNNING_STATES = frozenset({"STARTED", "PROGRESS"})
#: Window (seconds) over which ``fgrid top`` counts recent successes.
RATE_WINDOW = 60
#: Tasks of the index ``fgrid top`` reads for its rates and failures.
TOP_SCAN = 300
POOL_NAMES = {"prefork": "prefork", "thread": "threads", "solo": "solo", "eventlet": "eventlet", "gevent": "gevent"}


def _app(settings: Settings) -> Celery:
    return client.app_for(settings)


# --- the task index -------------------------------------------------------------------------------------------


def list_tasks(settings: Settings, state: str | None = None, queue: str | None = None,
               limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """Recently submitted tasks, newest first: the index joined with each task's state in the result store."""
    state = _check_state(state)
    queue = _check_queue(queue) if queue is not None else None
    if not 1 <= limit <= MAX_SCAN:
        raise InputError(f"--limit must be between 1 and {MAX_SCAN}")
    from fgrid.registry import TaskRegistry

    app = _app(settings)
    scan = limit if state is None and queue is None else MAX_SCAN
    with client.reachable(settings, "result store"):
        records = TaskRegistry(app).recent(scan)
        metas = _metas(app, [r["id"] for r in records])
    now = time.time()
    rows = []
    for record in records:
        row = task_row(record, metas.get(record["id"]) or {}, now)
        if state is not None and row["state"] != state:
            continue
        if queue is not None and row["queue"] != queue:
            continue
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows


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


def _metas(app: Celery, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each task's stored meta (state, result, worker, args...), read in one round trip where the store can."""
    if not ids:
        return {}
    backend = app.backend
    keys = [backend.get_key_for_task(i) for i in ids]
    try:
        raws = backend.mget(keys)
    except NotImplementedError:
        return {i: backend.get_task_meta(i) for i in ids}
    if isinstance(raws, dict):
        raws = [raws.get(k) for k in keys]
    out = {}
    for task_id, raw in zip(ids, raws):
        if raw:
            try:
                out[task_id] = backend.decode_result(raw)
            except Exception:  # noqa: BLE001 - one unreadable result must not hide the others
                out[task_id] = {"status": "UNKNOWN"}
    return out


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
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    return None


def task_row(record: dict[str, Any], meta: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """One task as a row: its record in the index joined with its meta from the result store."""
    now = time.time() if now is None else now
    state = meta.get("status") or "PENDING"
    submitted = record.get("submitted_at")
    done = _timestamp(meta.get("date_done"))
    started = record.get("started_at")
    worker = meta.get("worker")
    if not worker and isinstance(meta.get("result"), dict) and state in RUNNING_STATES:
        worker = meta["result"].get("hostname")
    error = None
    if state in ("FAILURE", "RETRY", "REVOKED"):
        error = client.one_line_error(meta.get("result"), state)
    return {
        "task_id": record["id"],
        "name": meta.get("name") or record.get("name"),
        "summary": record.get("summary") or _summary(meta),
        "state": state,
        "worker": worker,
        "queue": meta.get("queue") or record.get("queue"),
        "submitted_at": submitted,
        "date_done": done,
        # Start-to-finish seconds when the start is known; latency is submission to finish (queue wait included).
        "runtime": round(done - started, 3) if done and started else None,
        "latency": round(done - submitted, 3) if done and submitted else None,
        "age": round(now - submitted, 1) if submitted else None,
        "error": error,
    }


def _summary(meta: dict[str, Any]) -> str:
    args, kwargs = meta.get("args") or [], meta.get("kwargs") or {}
    parts = [str(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items() if v is not None]
    return ", ".join(parts)[:120]


# --- queues --------------------------------------------------------------------------------------------------


def queue_depths(settings: Settings) -> dict[str, dict[str, int | None]]:
    """Per queue: messages waiting in the broker and messages delivered but not yet acknowledged."""
    if settings.embedded:
        return _file_depths(settings)
    if settings.broker_url.startswith(("redis://", "rediss://")):
        return _redis_depths(settings)
    return _generic_depths(settings)


def _file_depths(settings: Settings) -> dict[str, dict[str, int | None]]:
    # kombu's file transport names a message <ms>_<uuid>.<queue>.msg; a consumer moves it out when it takes it,
    # so reserved messages live only in the worker (remote control reports them).
    folder = settings.broker_dir / "queue"
    counts = dict.fromkeys(config.QUEUES, 0)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        names = []
    for name in names:
        queue = name.partition(".")[2].removesuffix(".msg")
        if name.endswith(".msg") and queue in counts:
            counts[queue] += 1
    return {q: {"waiting": n, "reserved": None} for q, n in counts.items()}


def _redis_depths(settings: Settings) -> dict[str, dict[str, int | None]]:
    app = _app(settings)
    with client.reachable(settings, "broker"), app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
        channel = conn.default_channel
        redis_client = channel.client
        # A message with a priority goes to a sub-list "<queue>\x06\x16<step>"; count them all.
        names = {q: [channel._q_for_pri(q, pri) for pri in channel.priority_steps] for q in config.QUEUES}
        with redis_client.pipeline() as pipe:
            for q in config.QUEUES:
                for name in names[q]:
                    pipe.llen(name)
            pipe.hvals(channel.unacked_key)
            replies = pipe.execute()
    unacked = replies.pop()
    out: dict[str, dict[str, int | None]] = {}
    for q in config.QUEUES:
        out[q] = {"waiting": sum(replies[: len(names[q])]), "reserved": 0}
        replies = replies[len(names[q]):]
    for raw in unacked:
        queue = _unacked_queue(raw)
        if queue in out:
            out[queue]["reserved"] += 1
    return out


def _unacked_queue(raw: bytes | str) -> str | None:
    # kombu stores each unacknowledged message as [message, exchange, routing_key]; fgrid's exchanges are
    # direct, one per queue, with the queue's name as routing key.
    try:
        message, exchange, routing_key = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if routing_key in config.QUEUES:
        return routing_key
    delivery = (message.get("properties") or {}).get("delivery_info") or {} if isinstance(message, dict) else {}
    return delivery.get("routing_key") or exchange


def _generic_depths(settings: Settings) -> dict[str, dict[str, int | None]]:
    app = _app(settings)
    out: dict[str, dict[str, int | None]] = {}
    with client.reachable(settings, "broker"), app.connection_for_read() as conn:
        channel = conn.default_channel
        for q in config.QUEUES:
            declared = app.amqp.queues[q].bind(channel).queue_declare(passive=True)
            out[q] = {"waiting": declared.message_count, "reserved": None}
    return out


def list_queues(settings: Settings, timeout: float = INSPECT_TIMEOUT) -> list[dict[str, Any]]:
    """Per queue: waiting and reserved messages, and the workers consuming it."""
    depths = queue_depths(settings)
    workers = inspect_workers(settings, timeout)
    return queue_rows(depths, workers)


def queue_rows(depths: dict[str, dict[str, int | None]], workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join queue depths with the workers' queues (and, where the broker cannot say, their reserved tasks)."""
    rows = []
    for q in config.QUEUES:
        consumers = [w["hostname"] for w in workers if q in w["queues"]]
        reserved = depths[q]["reserved"]
        if reserved is None:
            # The file broker hands a message to the worker outright: its running and prefetched tasks are it.
            reserved = sum(w["by_queue"].get(q, 0) for w in workers) if workers else None
        rows.append({"queue": q, "waiting": depths[q]["waiting"], "reserved": reserved,
                     "consumers": len(consumers), "workers": consumers})
    return rows


# --- workers -------------------------------------------------------------------------------------------------


def inspect_workers(settings: Settings, timeout: float = INSPECT_TIMEOUT) -> list[dict[str, Any]]:
    """Every worker that answers within ``timeout``: queues, pool, concurrency, active and processed counts..."""
    app = _app(settings)
    with client.reachable(settings, "broker"):
        stats = app.control.inspect(timeout=timeout).stats() or {}
        if not stats:
            return []
        # Everyone who will answer has answered stats: the next requests return as soon as they all have.
        quick = app.control.inspect(timeout=timeout, limit=len(stats))
        active = quick.active() or {}
        reserved = quick.reserved() or {}
        active_queues = quick.active_queues() or {}
    return [worker_row(host, stats[host], active.get(host) or [], reserved.get(host) or [],
                       active_queues.get(host) or []) for host in sorted(stats)]


def worker_row(host: str, stats: dict[str, Any], active: list[dict], reserved: list[dict],
               queues: list[dict]) -> dict[str, Any]:
    """One worker from its remote-control replies."""
    pool = stats.get("pool") or {}
    impl = str(pool.get("implementation") or "")
    pool_name = next((name for key, name in POOL_NAMES.items() if key in impl.rsplit(".", 1)[-1] or key in impl),
                     impl or None)
    by_queue: dict[str, int] = {}
    for task in [*active, *reserved]:
        queue = (task.get("delivery_info") or {}).get("routing_key")
        if queue:
            by_queue[queue] = by_queue.get(queue, 0) + 1
    now = time.time()
    running = [{"task_id": t.get("id"), "name": t.get("name"),
                "elapsed": round(now - t["time_start"], 1) if t.get("time_start") else None} for t in active]
    return {
        "hostname": host,
        "queues": sorted(q.get("name") for q in queues if q.get("name")),
        "concurrency": pool.get("max-concurrency"),
        "pool": pool_name,
        "active": len(active),
        "reserved": len(reserved),
        "processed": sum((stats.get("total") or {}).values()),
        "processed_by_task": stats.get("total") or {},
        "uptime": stats.get("uptime"),
        "pid": stats.get("pid"),
        # Peak resident memory of the worker's main process, KiB (ru_maxrss).
        "max_rss_kib": (stats.get("rusage") or {}).get("maxrss"),
        "running": running,
        "by_queue": by_queue,
    }


# --- cancel, retry, purge ------------------------------------------------------------------------------------


def cancel(settings: Settings, task_id: str, terminate: bool = False,
           timeout: float = INSPECT_TIMEOUT) -> dict[str, Any]:
    """Revoke a task: drop it from its queue if it waits there; with ``terminate``, kill it if it runs."""
    info = client.task_state(settings, task_id)
    task_id, state = info["task_id"], info["state"]
    if state in client.READY_STATES:
        raise InputError(f"task {task_id} already finished ({state}); nothing to cancel")
    if state in RUNNING_STATES and not terminate:
        raise InputError(f"task {task_id} is running on {info['worker'] or 'a worker'}; "
                         f"add --terminate to stop it")
    app = _app(settings)
    ids = [task_id]
    if state == "PROGRESS":
        # A fanned-out comparison: its parts run as tasks of their own, and its ranking step will reuse its id.
        with client.reachable(settings, "result store"):
            progress = app.backend.get_task_meta(task_id).get("result")
        ids += [child for child in (progress or {}).get("children") or [] if isinstance(child, str)]
    waiting = state not in RUNNING_STATES
    if waiting or state == "PROGRESS":
        # A waiting task will never run (revoked in every worker, dropped from its queue): record it as such first,
        # so nothing (fgrid's recovery included) takes it for a task lost on the way.
        with client.reachable(settings, "result store"):
            app.backend.mark_as_revoked(task_id, reason="cancelled with fgrid cancel")
    with client.reachable(settings, "broker"):
        replies = app.control.revoke(ids, terminate=terminate, signal="SIGTERM", reply=True, timeout=timeout) or []
        removed = remove_queued(settings, set(ids)) if waiting or state == "PROGRESS" else 0
    workers = sorted(host for reply in replies for host in reply)
    return {"task_id": task_id, "previous_state": state, "revoked_by": workers, "removed_from_queue": removed,
            "terminated": bool(terminate and state in RUNNING_STATES), "parts": ids[1:]}


def remove_queued(settings: Settings, task_ids: set[str]) -> int:
    """Delete the waiting messages of ``task_ids`` from the broker's queues; return how many were removed."""
    if settings.embedded:
        removed = 0
        for path in (settings.broker_dir / "queue").glob("*.msg"):
            try:
                if _message_task_id(path.read_bytes()) in task_ids:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # taken by a worker meanwhile: the revoke covers it
                continue
        return removed
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return 0
    app = _app(settings)
    removed = 0
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        redis_client = channel.client
        for q in config.QUEUES:
            for pri in channel.priority_steps:
                name = channel._q_for_pri(q, pri)
                for raw in redis_client.lrange(name, 0, -1):
                    if _message_task_id(raw) in task_ids:
                        # LREM by value: a message a worker popped meanwhile is simply not found.
                        removed += redis_client.lrem(name, 1, raw)
    return removed


def _message_task_id(raw: bytes | str) -> str | None:
    try:
        message = json.loads(raw)
    except (ValueError, TypeError):
        return None
    headers = message.get("headers") or {} if isinstance(message, dict) else {}
    return headers.get("id")


def retry(settings: Settings, task_id: str) -> dict[str, Any]:
    """Queue a failed (or cancelled) task again with the same arguments; return the new id."""
    import uuid

    from fgrid.registry import TaskRegistry
    from fgrid.signals import RECORDED_HEADER, task_info

    task_id = validation.task_id(task_id)
    info = client.task_state(settings, task_id)
    if info["state"] not in ("FAILURE", "REVOKED"):
        raise InputError(f"task {task_id} is {info['state']}; only a failed or cancelled task can be retried")
    app = _app(settings)
    with client.reachable(settings, "result store"):
        meta = app.backend.get_task_meta(task_id)
    name = meta.get("name") or info.get("name")
    args, kwargs = meta.get("args"), meta.get("kwargs")
    if args is None and kwargs is None:
        # Cancelled, purged or given up by recovery: Celery stored no arguments, fgrid's own record has them.
        with client.reachable(settings, "result store"):
            record = TaskRegistry(app).lookup(task_id) or {}
        name = name or record.get("name")
        kwargs = record.get("kwargs")
    if not name or not name.startswith("fgrid.") or (args is None and kwargs is None):
        raise FgridError(f"task {task_id} has no stored arguments to retry with (was it submitted by fgrid?)")
    args, kwargs = list(args or []), dict(kwargs or {})
    client.check_broker(settings)
    new_id = str(uuid.uuid4())
    headers = {}
    if not args:
        # As fgrid's client submits: recorded first (with what it takes to queue it again), then sent by name.
        queue = app.amqp.router.route({}, name).get("queue")
        summary = ", ".join(f"{k}={v}" for k, v in kwargs.items() if v is not None and k != "requests")
        with client.reachable(settings, "result store"):
            TaskRegistry(app).record(new_id, {**task_info(name, getattr(queue, "name", str(queue)), summary,
                                                          kwargs=kwargs), "retry_of": task_id})
        headers = {RECORDED_HEADER: True}
    # With positional arguments (a chord's ranking step), fgrid's publish hook records the whole message instead.
    with client.reachable(settings, "broker"):
        app.send_task(name, args=args, kwargs=kwargs, task_id=new_id, headers=headers)
    return {"task_id": new_id, "retry_of": task_id, "name": name, "status": "queued"}


def purge(settings: Settings, queue: str) -> int:
    """Delete every waiting message of one queue (priority sub-queues included); return how many.

    Each purged task is marked REVOKED in the result store, so ``fgrid status`` tells it was dropped and fgrid's
    recovery (which re-queues open tasks found in no queue) leaves it alone.
    """
    queue = _check_queue(queue)
    app = _app(settings)
    with client.reachable(settings, "broker"):
        if settings.embedded:
            raws = _take_all_files(settings, queue)
        elif settings.broker_url.startswith(("redis://", "rediss://")):
            raws = _take_all_redis(app, queue)
        else:  # another transport: kombu's own purge, which does not say which tasks it dropped
            with app.connection_for_write() as conn:
                return int(app.amqp.queues[queue].bind(conn.default_channel).purge() or 0)
    ids = [i for i in (_message_task_id(raw) for raw in raws) if i]
    if ids:
        with client.reachable(settings, "result store"):
            for task_id in ids:
                app.backend.mark_as_revoked(task_id, reason=f"purged from {queue} with fgrid purge")
    return len(raws)


def _take_all_redis(app: Celery, queue: str) -> list[bytes]:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
        channel = conn.default_channel
        names = [channel._q_for_pri(queue, pri) for pri in channel.priority_steps]
        # Read and delete in one transaction, so a message published meanwhile is either read here or kept.
        with channel.client.pipeline(transaction=True) as pipe:
            for name in names:
                pipe.lrange(name, 0, -1)
                pipe.delete(name)
            replies = pipe.execute()
    return [raw for messages in replies[::2] for raw in messages]


def _take_all_files(settings: Settings, queue: str) -> list[bytes]:
    taken = []
    for path in (settings.broker_dir / "queue").glob(f"*.{queue}.msg"):
        if path.name.partition(".")[2] != f"{queue}.msg":
            continue
        try:
            raw = path.read_bytes()
            path.unlink()  # whoever unlinks it owns it: a worker taking it meanwhile moves it first
        except FileNotFoundError:
            continue
        taken.append(raw)
    return taken


# --- the dashboard -------------------------------------------------------------------------------------------


def snapshot(settings: Settings, timeout: float = INSPECT_TIMEOUT) -> dict[str, Any]:
    """Everything ``fgrid top`` shows, read once: queues, workers, rates, latency, recent failures."""
    from fgrid.registry import TaskRegistry

    now = time.time()
    depths = queue_depths(settings)
    workers = inspect_workers(settings, timeout)
    app = _app(settings)
    with client.reachable(settings, "result store"):
        records = TaskRegistry(app).recent(TOP_SCAN)
        metas = _metas(app, [r["id"] for r in records])
    rows = [task_row(r, metas.get(r["id"]) or {}, now) for r in records]
    return {"time": now, "queues": queue_rows(depths, workers), "workers": workers, **task_stats(rows, now)}


def task_stats(rows: list[dict[str, Any]], now: float, window: float = RATE_WINDOW) -> dict[str, Any]:
    """Rates and latency over the last ``window`` seconds, from the task index."""
    recent = [r for r in rows if r["date_done"] and now - r["date_done"] <= window]
    ok = [r for r in recent if r["state"] == "SUCCESS"]
    runtimes = [r["runtime"] for r in ok if r["runtime"] is not None]
    latencies = [r["latency"] for r in ok if r["latency"] is not None]
    states: dict[str, int] = {}
    for r in rows:
        states[r["state"]] = states.get(r["state"], 0) + 1
    return {
        "window": window,
        "succeeded_last_window": len(ok),
        "failed_last_window": sum(1 for r in recent if r["state"] == "FAILURE"),
        "median_runtime": round(statistics.median(runtimes), 3) if runtimes else None,
        "median_latency": round(statistics.median(latencies), 3) if latencies else None,
        "states": states,
        "failures": [r for r in rows if r["state"] == "FAILURE"][:5],
        "recent": rows[:8],
    }


def rate(previous: dict[str, Any] | None, current: dict[str, Any]) -> float | None:
    """Tasks processed per second between two snapshots (workers' processed counters)."""
    if not previous:
        return None
    before = {w["hostname"]: w["processed"] for w in previous.get("workers", [])}
    delta = sum(max(0, w["processed"] - before[w["hostname"]]) for w in current.get("workers", [])
                if w["hostname"] in before)
    seconds = current["time"] - previous["time"]
    return round(delta / seconds, 2) if seconds > 0 else None


# --- doctor --------------------------------------------------------------------------------------------------


def doctor(settings: Settings, timeout: float = INSPECT_TIMEOUT) -> list[dict[str, Any]]:
    """The seed's troubleshooting as checks: each with ok, what was found and, when it fails, the fix."""
    checks: list[dict[str, Any]] = []

    def add(name: str, ok: bool, detail: str, fix: str | None = None) -> None:
        checks.append({"check": name, "ok": ok, "detail": detail, "fix": None if ok else fix})

    start_redis = ("start Redis (`redis-server`, or `docker run -d -p 6379:6379 redis:alpine`) so that "
                   "`redis-cli ping` answers PONG, and check CELERY_BROKER_URL / REDIS_URL")
    try:
        # The `redis-cli ping` of the seed's troubleshooting: one connection attempt, bounded in time.
        with client.reachable(settings, "broker"), _app(settings).connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
        broker_ok = True
        add("broker reachable", True, mask_url(settings.broker_url))
    except UnavailableError as exc:
        broker_ok = False
        add("broker reachable", False, str(exc),
            start_redis if settings.broker_url.startswith("redis") else "check CELERY_BROKER_URL")
    checks.append(_result_store_check(settings))

    start_worker = "start one: `fgrid worker -Q {queues}` (see deploy/README.md for one worker per queue)"
    if broker_ok:
        try:
            workers = inspect_workers(settings, timeout)
        except UnavailableError as exc:
            workers = []
            add("workers answer", False, str(exc), start_redis)
        for q in config.QUEUES:
            consumers = [w["hostname"] for w in workers if q in w["queues"]]
            add(f"worker consuming {q!r}", bool(consumers),
                ", ".join(consumers) if consumers else "no worker consumes this queue; its tasks wait forever",
                start_worker.format(queues=q if workers else ",".join(config.QUEUES)))
        if workers:
            checks.append(_registered_check(settings, timeout, len(workers)))
        else:
            add("tasks registered", False, "no worker answered `inspect registered`",
                start_worker.format(queues=",".join(config.QUEUES)))
    else:
        first = "make the broker reachable first (see above)"
        for q in config.QUEUES:
            add(f"worker consuming {q!r}", False, "not checked: the broker is unreachable", first)
        add("tasks registered", False, "not checked: the broker is unreachable", first)

    checks.append(_data_check(settings))
    checks.append(_model_check(settings))
    return checks


def _result_store_check(settings: Settings) -> dict[str, Any]:
    name, url = "result store reachable", mask_url(settings.result_backend)
    if settings.result_backend.startswith(("redis://", "rediss://")):
        try:
            with client.reachable(settings, "result store"):
                _app(settings).backend.client.ping()
        except UnavailableError as exc:
            return {"check": name, "ok": False, "detail": str(exc),
                    "fix": "start Redis so that `redis-cli ping` answers PONG, and check CELERY_RESULT_BACKEND"}
        return {"check": name, "ok": True, "detail": url, "fix": None}
    if settings.result_backend.startswith("file://"):
        folder = Path(settings.result_backend.removeprefix("file://"))
        ok = folder.is_dir() and os.access(folder, os.W_OK)
        return {"check": name, "ok": ok, "detail": f"{url} ({'writable' if ok else 'not writable'})",
                "fix": None if ok else f"create {folder} and make it writable, or set CELERY_RESULT_BACKEND"}
    return {"check": name, "ok": True, "detail": f"{url} (not checked: neither Redis nor files)", "fix": None}


def _registered_check(settings: Settings, timeout: float, workers: int) -> dict[str, Any]:
    app = _app(settings)
    expected = sorted(name for name in app.tasks if name.startswith("fgrid."))
    fix = "restart the workers on this version of fgrid (`fgrid worker`), so they load the same tasks"
    try:
        with client.reachable(settings, "broker"):
            replies = app.control.inspect(timeout=timeout, limit=workers).registered() or {}
    except UnavailableError as exc:
        return {"check": "tasks registered", "ok": False, "detail": str(exc), "fix": fix}
    known = {name.split()[0] for names in replies.values() for name in names}
    missing = [name for name in expected if name not in known]
    if missing:
        return {"check": "tasks registered", "ok": False,
                "detail": f"not registered on any worker: {', '.join(missing)}", "fix": fix}
    return {"check": "tasks registered", "ok": True, "detail": f"{len(expected)} fgrid tasks on {len(replies)} "
                                                                f"worker(s)", "fix": None}


def _data_check(settings: Settings) -> dict[str, Any]:
    from fgrid.analysis import data

    fix = "sync it: `fgrid data sync` (or `fgrid data sync --from <folder of nflverse files>`)"
    try:
        info = data.info(settings.nfl_dir)
    except FgridError as exc:  # NoDataError, or data from another fgrid version
        return {"check": "NFL data present", "ok": False, "detail": str(exc), "fix": fix}
    seasons = [s["season"] if isinstance(s, dict) else s for s in info.get("seasons") or []]
    span = f"seasons {min(seasons)}-{max(seasons)}, " if seasons else ""
    return {"check": "NFL data present", "ok": True,
            "detail": f"{span}last game {info.get('last_game_date')}, synced {info.get('synced_at')}", "fix": None}


def _model_check(settings: Settings) -> dict[str, Any]:
    name, fix = "ai model present", "train one: `fgrid train` (the ai queue's tasks need a model)"
    try:
        from fgrid.analysis import model

        models = model.list_models(settings.models_dir)  # newest first
    except ImportError as exc:  # the ai extras (lightgbm...) not installed
        return {"check": name, "ok": False, "detail": f"the ai model code cannot be loaded: {exc}",
                "fix": "install fgrid with its dependencies (`pip install -e .`)"}
    except FgridError as exc:
        return {"check": name, "ok": False, "detail": str(exc), "fix": fix}
    usable = [m for m in models if m.get("loadable", True)]
    if not usable:
        detail = (f"{len(models)} model(s) in {settings.models_dir}, none loadable by this fgrid version" if models
                  else f"no model in {settings.models_dir}")
        return {"check": name, "ok": False, "detail": detail, "fix": fix}
    latest = next((m for m in usable if m.get("latest")), usable[0])
    return {"check": name, "ok": True, "fix": None,
            "detail": f"{len(usable)} model(s); latest {latest['model_id']} ({latest.get('scoring')}, "
                      f"created {latest.get('created_at')})"}
