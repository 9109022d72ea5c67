#!/usr/bin/env python3
"""Measure 5, memory: an idle worker of concurrency 2, main process and pool processes, PSS summed.

PSS (``/proc/<pid>/smaps_rollup``) splits each shared page between the processes that share it, so the sum is
what the worker tree really costs. fgrid: ``fgrid worker -c 2`` after it ran analyses in both pool processes
(data loaded and warmed); reference: the bare Celery worker with the same flags after some no-ops.
Goal: fgrid at most 100 MiB more than bare.
"""

from __future__ import annotations

import time

from _common import Bench, Measure, MiB, Row, goal_max, ratio, standalone, tree_pss

GOAL_EXTRA_MIB = 100.0
TASKS = 40
#: Seconds idle before measuring (polars' allocator hands freed memory back within a second or two).
SETTLE_S = 3.0


def run(bench: Bench) -> Measure:
    from bare_app import make_app

    from fgrid import config
    from fgrid.service import lifecycle

    measure = Measure("memory")
    env = bench.redis_env()
    url = bench.ensure_redis().url
    combos = bench.combos(50)

    bench.redis.flush()
    worker = bench.bare_worker(env)
    app = make_app(url, url)
    for res in [app.tasks["bare.noop"].apply_async() for _ in range(TASKS)]:
        res.get(timeout=60)
    app.close()
    time.sleep(SETTLE_S)
    bare = tree_pss(worker.pid)
    worker.stop()

    bench.redis.flush()
    worker = bench.fgrid_worker(env)
    settings = bench.settings(env)
    ids = [lifecycle.submit(settings, config.TASK_ANALYZE, combos[i % len(combos)]) for i in range(TASKS)]
    for task_id in ids:
        lifecycle.wait(settings, task_id, timeout=60)
    time.sleep(SETTLE_S)
    fgrid = tree_pss(worker.pid)
    worker.stop()

    extra = (fgrid["total"] - bare["total"]) / MiB
    measure.add(
        Row(
            f"idle worker -c 2, PSS main + children (MiB; {extra:+.0f} MiB)",
            "MiB",
            fgrid["total"] / MiB,
            bare["total"] / MiB,
            "bare worker",
            ratio(fgrid["total"], bare["total"]),
            f"<= bare + {GOAL_EXTRA_MIB:g} MiB",
            goal_max(extra, GOAL_EXTRA_MIB),
        )
    )
    measure.add(Row("  of which the main process (MiB)", "MiB", fgrid["main"] / MiB, bare["main"] / MiB, "bare worker"))
    measure.add(
        Row(
            "  of which each pool process (MiB)",
            "MiB",
            max(fgrid["children"], default=0) / MiB,
            max(bare["children"], default=0) / MiB,
            "bare worker",
        )
    )
    measure.details = {"fgrid_bytes": fgrid, "bare_bytes": bare, "extra_mib": extra}
    return measure


if __name__ == "__main__":
    standalone("memory", run)
