"""Watching the system: queue depths joined with the workers that consume them, the workers themselves (Celery's
remote control, which works on Redis and on the embedded broker's fanout), and ``fgrid top``'s dashboard."""

from __future__ import annotations

import statistics
import time
from typing import Any

from fgrid import config
from fgrid.app import get_app
from fgrid.broker import connection, queues, results
from fgrid.broker.connection import reachable
from fgrid.broker.queues import Depths
from fgrid.config import Settings
from fgrid.recovery import sweep
from fgrid.recovery.ledger import TaskLedger
from fgrid.service.operations import add_progress, is_part, task_row

#: Window (seconds) over which ``fgrid top`` counts recent successes.
RATE_WINDOW = 60
#: Tasks of the index ``fgrid top`` reads for its rates and failures.
TOP_SCAN = 300
#: Recent tasks ``fgrid top`` keeps (the screen shows as many as fit).
RECENT_ROWS = 40
POOL_NAMES = {"prefork": "prefork", "thread": "threads", "solo": "solo", "eventlet": "eventlet", "gevent": "gevent"}


def list_queues(settings: Settings, timeout: float = config.INSPECT_TIMEOUT) -> list[dict[str, Any]]:
    """Per queue: waiting and reserved messages, and the workers consuming it."""
    depths = queues.depths(get_app(settings))
    workers = inspect_workers(settings, timeout)
    return queue_rows(depths, workers)


def queue_rows(depths: Depths, workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join queue depths with the workers' queues (and, where the broker cannot say, their reserved tasks)."""
    rows = []
    for q in config.QUEUES:
        consumers = [w["hostname"] for w in workers if q in w["queues"]]
        reserved = depths[q]["reserved"]
        if reserved is None:
            # The file broker hands a message to the worker outright: its running and prefetched tasks are it.
            reserved = sum(w["by_queue"].get(q, 0) for w in workers) if workers else None
        rows.append(
            {
                "queue": q,
                "waiting": depths[q]["waiting"],
                "reserved": reserved,
                "consumers": len(consumers),
                "workers": consumers,
            }
        )
    return rows


def consumers(settings: Settings, queue: str, timeout: float = config.INSPECT_TIMEOUT) -> list[str]:
    """The workers that consume ``queue`` now (those that answer within ``timeout``)."""
    app = get_app(settings)
    with connection.control(app, timeout) as inspect:
        replies = inspect.active_queues() or {}
    return sorted(host for host, queues_ in replies.items() if any(q.get("name") == queue for q in queues_ or []))


# --- workers -------------------------------------------------------------------------------------------------


def inspect_workers(settings: Settings, timeout: float = config.INSPECT_TIMEOUT) -> list[dict[str, Any]]:
    """Every worker that answers within ``timeout``: queues, pool, concurrency, active and processed counts..."""
    app = get_app(settings)
    # Where workers send recovery heartbeats, they say how many will answer: the broadcast returns when they all
    # have (a few ms) instead of waiting out ``timeout`` for anyone else. Without heartbeats, wait it out.
    beating = queues.live_workers(app, sweep.WORKER_TTL)
    with connection.control(app, timeout, limit=len(beating) if beating else None) as inspect:
        stats = inspect.stats() or {}
    if not stats:
        return []
    # Everyone who will answer has answered stats: the next requests return as soon as they all have.
    with connection.control(app, timeout, limit=len(stats)) as quick:
        active = quick.active() or {}
        reserved = quick.reserved() or {}
        active_queues = quick.active_queues() or {}
    return [
        worker_row(host, stats[host], active.get(host) or [], reserved.get(host) or [], active_queues.get(host) or [])
        for host in sorted(stats)
    ]


def worker_row(
    host: str, stats: dict[str, Any], active: list[dict], reserved: list[dict], queues: list[dict]
) -> dict[str, Any]:
    """One worker from its remote-control replies."""
    pool = stats.get("pool") or {}
    impl = str(pool.get("implementation") or "")
    pool_name = next(
        (name for key, name in POOL_NAMES.items() if key in impl.rsplit(".", 1)[-1] or key in impl), impl or None
    )
    by_queue: dict[str, int] = {}
    for task in [*active, *reserved]:
        queue = (task.get("delivery_info") or {}).get("routing_key")
        if queue:
            by_queue[queue] = by_queue.get(queue, 0) + 1
    now = time.time()
    running = [
        {
            "task_id": t.get("id"),
            "name": t.get("name"),
            "elapsed": round(now - t["time_start"], 1) if t.get("time_start") else None,
        }
        for t in active
    ]
    return {
        "hostname": host,
        "queues": sorted(q.get("name") for q in queues if q.get("name")),
        "all_queues": {q.get("name") for q in queues} >= set(config.QUEUES),
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


def dashboard(settings: Settings, timeout: float = config.INSPECT_TIMEOUT) -> dict[str, Any]:
    """Everything ``fgrid top`` shows, read once: queues, workers, rates, latency, recent failures."""
    now = time.time()
    app = get_app(settings)
    depths = queues.depths(app)
    workers = inspect_workers(settings, timeout)
    with reachable(settings, "result store"):
        records = TaskLedger(app).recent(TOP_SCAN)
        metas = results.metas(app, [r["id"] for r in records])
    rows = [task_row(r, metas.get(r["id"]) or {}, now) for r in records if not is_part(r)]
    add_progress(app, rows, metas)
    return {"time": now, "queues": queue_rows(depths, workers), "workers": workers, **task_stats(rows, now)}


def task_stats(rows: list[dict[str, Any]], now: float, window: float = RATE_WINDOW) -> dict[str, Any]:
    """Rates and latency over the last ``window`` seconds, from the task index."""
    recent = [r for r in rows if r["date_done"] and now - r["date_done"] <= window]
    ok = [r for r in recent if r["state"] == "SUCCESS"]
    runtimes = [r["runtime"] for r in ok if r["runtime"] is not None]
    latencies = [r["latency"] for r in ok if r["latency"] is not None]
    waits = [r["wait"] for r in ok if r.get("wait") is not None]
    states: dict[str, int] = {}
    for r in rows:
        states[r["state"]] = states.get(r["state"], 0) + 1
    return {
        "window": window,
        "succeeded_last_window": len(ok),
        "failed_last_window": sum(1 for r in recent if r["state"] == "FAILURE"),
        "median_runtime": round(statistics.median(runtimes), 3) if runtimes else None,
        "median_latency": round(statistics.median(latencies), 3) if latencies else None,
        "median_wait": round(statistics.median(waits), 3) if waits else None,
        "states": states,
        "failures": [r for r in rows if r["state"] == "FAILURE"][:5],
        "recent": rows[:RECENT_ROWS],
    }


def rate(previous: dict[str, Any] | None, current: dict[str, Any]) -> float | None:
    """Tasks processed per second between two dashboards (workers' processed counters)."""
    if not previous:
        return None
    before = {w["hostname"]: w["processed"] for w in previous.get("workers", [])}
    delta = sum(
        max(0, w["processed"] - before[w["hostname"]]) for w in current.get("workers", []) if w["hostname"] in before
    )
    seconds = current["time"] - previous["time"]
    return round(delta / seconds, 2) if seconds > 0 else None
