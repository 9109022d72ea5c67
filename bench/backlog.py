#!/usr/bin/env python3
"""Measure 8, a backlog: 100,000 analyses submitted from one client process while a ``fgrid worker -c 2`` runs.

* **Submit rate** (no worker running, so only the client and Redis share the cores): ``fgrid.service.lifecycle.
  submit`` (what the CLI and the HTTP API call: the ledger record, then the publish) against bare Celery's
  ``apply_async`` of a no-op on the same Redis server, taking turns by chunks. Goal: >= 0.8 x bare.
* **Redis memory** (``INFO memory``'s ``used_memory``, before and after): per queued task (no worker: the message,
  fgrid's record and its index entries) and per stored result (after a worker ran them all: the result, fgrid's
  record), each beside bare Celery's no-op message and result. Goal: a queued task at most 4 KiB, a stored result
  at most 4 KiB more than its analysis's JSON.
* **The backlog**: N analyses (50 real requests, cycling) submitted while the worker runs, then awaited: none lost
  (every id ends SUCCESS), every result equal to the same analysis run in this process, every per-task key with a
  TTL (kombu's own few bookkeeping keys listed apart), Redis's peak memory.
* **Reads with the backlog's records in store**: what ``fgrid tasks``, ``fgrid queues``, ``fgrid status`` (a full
  id and an 8-character prefix) and ``fgrid top`` call, timed in this process (median of a few), beside the same
  reads with a few hundred records. Goal: each under 200 ms.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from _common import Bench, Measure, Row, goal_max, goal_min, ratio, standalone

GOAL_SUBMIT = 0.8
GOAL_READ_MS = 200.0
GOAL_BYTES = 4096
CHUNK = 500
READ_REPS = 5


def used_memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def submit_fgrid(settings: Any, combos: list[dict[str, Any]], n: int, start: int = 0) -> tuple[list[str], float]:
    from fgrid import config
    from fgrid.service import lifecycle

    began = time.perf_counter()
    ids = [lifecycle.submit(settings, config.TASK_ANALYZE, combos[i % len(combos)]) for i in range(start, start + n)]
    return ids, time.perf_counter() - began


def submit_bare(app: Any, n: int, combos: list[dict[str, Any]] | None = None) -> tuple[list[Any], float]:
    """``n`` no-ops by ``apply_async``; with ``combos``, fgrid's analyses by ``send_task`` (what ``apply_async``
    calls) with the same keyword arguments as fgrid's, to a queue no worker reads."""
    noop = app.tasks["bare.noop"]
    began = time.perf_counter()
    if combos:
        results = [app.send_task("fgrid.analyze_player", kwargs=combos[i % len(combos)]) for i in range(n)]
    else:
        results = [noop.apply_async() for _ in range(n)]
    return results, time.perf_counter() - began


def submit_rates(settings: Any, bare: Any, combos: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Tasks a second from one client, no worker running, the two sides taking turns by chunks of CHUNK."""
    submit_fgrid(settings, combos, 50)  # warm-up: the app, the data, the connections
    submit_bare(bare, 50, combos)
    seconds = {"fgrid": 0.0, "bare": 0.0}
    done = 0
    while done < n:
        size = min(CHUNK, n - done)
        seconds["fgrid"] += submit_fgrid(settings, combos, size, done)[1]
        seconds["bare"] += submit_bare(bare, size, combos)[1]
        done += size
    return {"n": n, "fgrid_per_s": n / seconds["fgrid"], "bare_per_s": n / seconds["bare"]}


def drain(app: Any, timeout: float) -> None:
    """Wait until no message waits or is reserved in any queue."""
    from fgrid.broker import queues

    deadline = time.monotonic() + timeout
    while True:
        depths = queues.depths(app)
        if all(d["waiting"] == 0 and not d["reserved"] for d in depths.values()):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the queues were not drained after {timeout:g} s: {depths}")
        time.sleep(0.5)


def expected_results(bench: Bench, combos: list[dict[str, Any]]) -> list[Any]:
    """Each request's analysis run in this process, as JSON would carry it."""
    from fgrid import validation
    from fgrid.analysis import data, matchup

    ds = data.load(bench.settings(bench.base_env()).nfl_dir)
    out = []
    for c in combos:
        args = validation.analyze_args(
            c["player"], c["opponent"], c.get("location"), c.get("season"), c.get("week"), c.get("scoring", "ppr")
        )
        out.append(json.loads(json.dumps(matchup.analyze(ds, **args, what_if=c.get("what_if") is True), default=str)))
    return out


def check_results(app: Any, ids: list[str], combos: list[dict[str, Any]], expected: list[Any]) -> dict[str, int]:
    """Read every task's stored state: how many succeeded, how many results differ from the expected one."""
    from fgrid.broker import results

    states: dict[str, int] = {}
    wrong = 0
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        metas = results.metas(app, chunk)
        for i, task_id in enumerate(chunk, start):
            meta = metas[task_id]
            states[meta.get("status", "PENDING")] = states.get(meta.get("status", "PENDING"), 0) + 1
            if meta.get("status") == "SUCCESS" and meta.get("result") != expected[i % len(combos)]:
                wrong += 1
    return {"states": states, "wrong": wrong}


def ttl_census(client: Any) -> dict[str, Any]:
    """Every key of the database by TTL: how many expire, and the names of those that do not."""
    expiring = 0
    forever: list[str] = []
    keys: list[bytes] = []

    def flush() -> None:
        nonlocal expiring
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.ttl(key)
            for key, ttl in zip(keys, pipe.execute(), strict=True):
                if ttl == -1:
                    forever.append(key.decode())
                elif ttl >= 0:
                    expiring += 1
        keys.clear()

    for key in client.scan_iter(count=5000):
        keys.append(key)
        if len(keys) >= 5000:
            flush()
    flush()
    return {"keys": expiring + len(forever), "with_ttl": expiring, "without_ttl": sorted(forever)}


def per_task(forever: list[str]) -> list[str]:
    """The keys without a TTL that belong to one task (kombu's bindings and its unacked bookkeeping do not)."""
    return [k for k in forever if not k.startswith(("_kombu.binding", "unacked"))]


def time_reads(settings: Any, task_id: str) -> dict[str, float]:
    """Milliseconds (median of READ_REPS) of what each command calls."""
    from fgrid.service import lifecycle, monitor, operations

    reads = {
        "tasks": lambda: operations.list_tasks(settings),
        "queues": lambda: monitor.list_queues(settings),
        "status": lambda: lifecycle.status(settings, task_id),
        "status by prefix": lambda: lifecycle.status(settings, task_id[:8]),
        "top": lambda: monitor.dashboard(settings),
    }
    out = {}
    for name, read in reads.items():
        read()  # warm
        times = []
        for _ in range(READ_REPS):
            began = time.perf_counter()
            read()
            times.append(time.perf_counter() - began)
        out[name] = statistics.median(times) * 1000
    return out


def run(bench: Bench) -> Measure:
    import redis
    from bare_app import make_app

    from fgrid.app import get_app
    from fgrid.broker import queues

    measure = Measure("backlog")
    n = bench.n(100_000, 300)
    n_rate = bench.n(10_000, 300)
    n_memory = bench.n(10_000, 300)
    combos = bench.combos(50)
    expected = expected_results(bench, combos)
    server = bench.ensure_redis()
    server.flush()
    base = server.url.rsplit("/", 1)[0]
    env = bench.base_env(CELERY_BROKER_URL=f"{base}/0", CELERY_RESULT_BACKEND=f"{base}/0")
    settings = bench.settings(env)
    app = get_app(settings)
    bare = make_app(f"{base}/1", f"{base}/1")
    client = server.client()
    bare_client = redis.Redis(host="127.0.0.1", port=server.port, db=1)
    details: dict[str, Any] = {"tasks": n, "result_json_bytes": statistics.fmean(len(json.dumps(e)) for e in expected)}
    try:
        # 1. Submit rates, no worker.
        details["submit"] = submit_rates(settings, bare, combos, n_rate)
        server.flush()

        # 2. Memory per queued task, then per stored result (a worker runs them), fgrid and bare.
        m0 = used_memory(client)
        ids, _ = submit_fgrid(settings, combos, n_memory)
        m1 = used_memory(client)
        bare_results, _ = submit_bare(bare, n_memory)
        b1 = used_memory(client)
        worker = bench.fgrid_worker(env)
        drain(app, 600)
        check = check_results(app, ids, combos, expected)
        if check["states"].get("SUCCESS") != n_memory:
            raise RuntimeError(f"memory phase: {check['states']}")
        worker.stop()
        m2 = used_memory(client)
        bare_env = bench.base_env(CELERY_BROKER_URL=f"{base}/1", CELERY_RESULT_BACKEND=f"{base}/1")
        bare_worker = bench.bare_worker(bare_env)
        for result in bare_results:
            result.get(timeout=300)
        bare_worker.stop()
        b2 = used_memory(client)
        details["memory"] = {
            "fgrid_queued_bytes": (m1 - m0) / n_memory,
            "bare_queued_bytes": (b1 - m1) / n_memory,
            # m2 still counts bare's queued messages; b2 has bare's results instead of them.
            "fgrid_stored_bytes": (m2 - m0 - (b1 - m1)) / n_memory,
            "bare_stored_bytes": (b2 - m2 + (b1 - m1)) / n_memory,
        }
        bare_ttl = ttl_census(bare_client)
        details["reads_small"] = time_reads_with_worker(bench, env, settings, ids[-1])
        server.flush()

        # 3. The backlog: N submitted while a worker runs, then awaited and checked.
        worker = bench.fgrid_worker(env)
        began = time.perf_counter()
        ids, submit_s = submit_fgrid(settings, combos, n)
        details["backlog_submit_per_s"] = n / submit_s
        details["waiting_at_end_of_submit"] = sum(d["waiting"] for d in queues.depths(app).values())
        details["reads_backlog_waiting"] = time_reads(settings, ids[-1])
        drain(app, 3600)
        details["all_done_s"] = time.perf_counter() - began
        check = check_results(app, ids, combos, expected)
        details["check"] = check
        details["reads_large"] = time_reads(settings, ids[-1])
        worker.stop()
        census = ttl_census(client)
        details["ttl"] = {
            **census,
            "without_ttl": census["without_ttl"][:20],
            "bare_without_ttl": bare_ttl["without_ttl"][:20],
        }
        info = client.info("memory")
        details["redis_peak_bytes"] = int(info["used_memory_peak"])
        details["redis_end_bytes"] = int(info["used_memory"])
        details["index_entries"] = client.zcard("fgrid:tasks")
        details["records"] = sum(1 for _ in client.scan_iter(match="fgrid:task:*", count=5000))
    finally:
        bare.close()

    sub = details["submit"]
    r = ratio(sub["fgrid_per_s"], sub["bare_per_s"])
    measure.add(
        Row(
            f"submit rate, one client, {n_rate:,} tasks, no worker (tasks/s)",
            "/s",
            sub["fgrid_per_s"],
            sub["bare_per_s"],
            "bare send_task, same kwargs",
            r,
            f">= {GOAL_SUBMIT}× bare",
            goal_min(r, GOAL_SUBMIT),
        )
    )
    mem = details["memory"]
    f, b = mem["fgrid_queued_bytes"], mem["bare_queued_bytes"]
    measure.add(
        Row(
            "Redis memory per queued task (bytes)",
            "B",
            f,
            b,
            "bare no-op message",
            ratio(f, b),
            f"<= {GOAL_BYTES} B",
            goal_max(f, GOAL_BYTES),
        )
    )
    # A stored result holds the analysis itself (a few KiB of JSON): the goal bounds what fgrid adds to it.
    f, b = mem["fgrid_stored_bytes"], mem["bare_stored_bytes"]
    payload = details["result_json_bytes"]
    measure.add(
        Row(
            f"Redis memory per stored result (bytes; the analysis is {payload:,.0f} B of JSON)",
            "B",
            f,
            b,
            "bare no-op result",
            ratio(f, b),
            f"<= result + {GOAL_BYTES} B",
            goal_max(f - payload, GOAL_BYTES),
        )
    )
    ok = check["states"].get("SUCCESS", 0)
    lost = n - ok
    measure.add(
        Row(
            f"backlog of {n:,} analyses with a worker -c 2: succeeded",
            "",
            ok,
            n,
            "submitted",
            ratio(ok, n),
            "none lost",
            lost == 0,
            note=json.dumps(check["states"]),
        )
    )
    measure.add(
        Row(
            "  results different from the same analysis in-process",
            "",
            check["wrong"] or None,
            goal="0",
            passed=check["wrong"] == 0,
            note="0",
        )
    )
    per_task_forever = per_task(census["without_ttl"])
    measure.add(
        Row(
            "  Redis keys without a TTL, per task (of all keys)",
            "",
            len(per_task_forever) or None,
            census["keys"],
            "keys",
            goal="0",
            passed=not per_task_forever,
            note=f"0 (kombu's own: {len(census['without_ttl'])})",
        )
    )
    measure.add(Row("  submit rate while the worker ran (tasks/s)", "/s", details["backlog_submit_per_s"], note="—"))
    measure.add(Row("  Redis peak memory (MiB)", "MiB", details["redis_peak_bytes"] / 2**20))
    small, large = details["reads_small"], details["reads_large"]
    for name in ("tasks", "queues", "status", "status by prefix", "top"):
        measure.add(
            Row(
                f"  `fgrid {name}` with {n:,} records (ms)",
                "ms",
                large[name],
                small[name],
                f"{n_memory:,} records",
                ratio(large[name], small[name]),
                f"<= {GOAL_READ_MS:g} ms",
                goal_max(large[name], GOAL_READ_MS),
            )
        )
    measure.details = details
    return measure


def time_reads_with_worker(bench: Bench, env: dict[str, str], settings: Any, task_id: str) -> dict[str, float]:
    worker = bench.fgrid_worker(env)
    try:
        return time_reads(settings, task_id)
    finally:
        worker.stop()


if __name__ == "__main__":
    standalone("backlog", run)
