#!/usr/bin/env python3
"""Measure 3, round trip: one task submitted and awaited, one at a time, p50 and p95.

fgrid: one analysis through ``fgrid.client.submit`` + ``fgrid.client.wait`` (what ``fgrid analyze-player --wait``
calls), against ``fgrid worker -c 2``. Reference: bare Celery's ``apply_async().get()`` of a no-op against a bare
worker with the same flags.

* on Redis (private server): goal fgrid p50 <= 2 x bare p50;
* on the embedded default (kombu's file broker and the file result store in a temp FGRID_DATA_DIR): goal fgrid
  p50 <= 50 ms, absolute. (No bare reference here: a bare worker on kombu's file transport dies now and then with
  "Unrecoverable error: JSONDecodeError", reading a message file its client has created but not yet written.)
"""

from __future__ import annotations

import time
from typing import Any

from _common import Bench, Measure, Row, goal_max, ratio, standalone, summary_ms

GOAL_RATIO = 2.0
GOAL_EMBEDDED_MS = 50.0
WARM_UP = 10


CHUNK = 10


def fgrid_round_trips(settings: Any, combos: list[dict[str, Any]], n: int, start: int = 0) -> list[float]:
    """Seconds of ``n`` analyses, each submitted and awaited as ``fgrid analyze-player --wait`` does."""
    from fgrid import config
    from fgrid.service import lifecycle

    out = []
    for i in range(start, start + n):
        started = time.perf_counter()
        task_id = lifecycle.submit(settings, config.TASK_ANALYZE, combos[i % len(combos)])
        info = lifecycle.wait(settings, task_id, timeout=60)
        out.append(time.perf_counter() - started)
        if info["state"] != "SUCCESS":
            raise RuntimeError(f"analysis {task_id} ended {info['state']}: {info.get('error')}")
    return out


def bare_round_trips(app: Any, n: int) -> list[float]:
    """Seconds of ``n`` no-ops, each ``apply_async().get()``."""
    noop = app.tasks["bare.noop"]
    out = []
    for _ in range(n):
        started = time.perf_counter()
        noop.apply_async().get(timeout=60)
        out.append(time.perf_counter() - started)
    return out


def run(bench: Bench) -> Measure:
    from bare_app import make_app

    measure = Measure("round_trip")
    n_redis = bench.n(300, 60)  # a multiple of CHUNK
    n_file = bench.n(200, 40)
    combos = bench.combos(50)
    figures: dict[str, dict[str, float]] = {}

    # Redis: both workers up, each on a database of its own, taking turns by chunks of CHUNK round trips (so a busy
    # moment of the shared machine hits both alike), after WARM_UP untimed ones each.
    base = bench.ensure_redis().url.rsplit("/", 1)[0]
    fgrid_env = bench.base_env(CELERY_BROKER_URL=f"{base}/0", CELERY_RESULT_BACKEND=f"{base}/0")
    bare_env = bench.base_env(CELERY_BROKER_URL=f"{base}/1", CELERY_RESULT_BACKEND=f"{base}/1")
    workers = [bench.bare_worker(bare_env, wait=False), bench.fgrid_worker(fgrid_env, wait=False)]
    bare = make_app(f"{base}/1", f"{base}/1")
    settings = bench.settings(fgrid_env)
    times: dict[str, list[float]] = {"bare": [], "fgrid": []}
    try:
        for worker in workers:
            worker.wait_for_log(" ready.")
        bare_round_trips(bare, WARM_UP)
        fgrid_round_trips(settings, combos, WARM_UP)
        for chunk in range(0, n_redis, CHUNK):
            times["bare"] += bare_round_trips(bare, CHUNK)
            times["fgrid"] += fgrid_round_trips(settings, combos, CHUNK, start=chunk)
    finally:
        bare.close()
        for worker in workers:
            worker.stop()
    figures["bare_redis"] = summary_ms(times["bare"])
    figures["fgrid_redis"] = summary_ms(times["fgrid"])

    # Embedded: a fresh data folder, so a fresh file broker and result store.
    folder = bench.copy_data("embedded")
    env = bench.base_env(folder)
    worker = bench.fgrid_worker(env)
    fgrid_round_trips(bench.settings(env), combos, WARM_UP)
    figures["fgrid_file"] = summary_ms(fgrid_round_trips(bench.settings(env), combos, n_file))
    worker.stop()

    fr, br = figures["fgrid_redis"], figures["bare_redis"]
    r = ratio(fr["p50"], br["p50"])
    measure.add(
        Row(
            "round trip, Redis, p50 (ms)",
            "ms",
            fr["p50"],
            br["p50"],
            "bare no-op",
            r,
            f"<= {GOAL_RATIO:g}× bare",
            goal_max(r, GOAL_RATIO),
        )
    )
    measure.add(
        Row("round trip, Redis, p95 (ms)", "ms", fr["p95"], br["p95"], "bare no-op", ratio(fr["p95"], br["p95"]))
    )
    ff = figures["fgrid_file"]
    measure.add(
        Row(
            "round trip, embedded file broker, p50 (ms)",
            "ms",
            ff["p50"],
            goal=f"<= {GOAL_EMBEDDED_MS:g} ms",
            passed=goal_max(ff["p50"], GOAL_EMBEDDED_MS),
        )
    )
    measure.add(Row("round trip, embedded file broker, p95 (ms)", "ms", ff["p95"]))
    measure.details = figures
    return measure


if __name__ == "__main__":
    standalone("round_trip", run)
