#!/usr/bin/env python3
"""Measure 10, several worker hosts: N analyses through two fgrid workers, each as a host of its own (its own node
name and its own synced data folder, ``-c 1`` each), on one Redis; the reference is two bare Celery workers with
the same flags. Each side runs alone (its workers started fresh, stopped before the other side starts), the sides
alternate, best round per side. Also each host's share of the tasks. Goal: fgrid >= 0.8 x bare, as on one host.
"""

from __future__ import annotations

from typing import Any

from _common import Bench, Measure, Row, goal_min, ratio, standalone
from throughput import GOAL, run_bare, run_fgrid

HOSTS = 2


def one_side(bench: Bench, name: str, n: int, combos: list[dict[str, Any]]) -> dict[str, Any]:
    from bare_app import make_app

    server = bench.ensure_redis()
    server.flush()
    workers = []
    for host in range(HOSTS):
        data = bench.copy_data(f"host{host}")
        env = bench.base_env(data, CELERY_BROKER_URL=server.url, CELERY_RESULT_BACKEND=server.url)
        start = bench.fgrid_worker if name == "fgrid" else bench.bare_worker
        workers.append(start(env, concurrency=1, wait=False))
    try:
        for worker in workers:
            worker.wait_for_log(" ready.")
        if name == "fgrid":
            settings = bench.settings(bench.redis_env())
            run_fgrid(settings, combos, 20)
            figures = run_fgrid(settings, combos, n)
        else:
            app = make_app(server.url, server.url)
            run_bare(app, "bare.noop", 20)
            figures = run_bare(app, "bare.noop", n)
            app.close()
    finally:
        for worker in workers:
            worker.stop()
    figures["shares"] = [w.text().count(" succeeded in ") for w in workers]
    return figures


def run(bench: Bench) -> Measure:
    measure = Measure("hosts")
    n = bench.n(2000, 300)
    # Four rounds: a round here runs either at full speed or at about one task per 5 ms per host, for bare Celery
    # as for fgrid (2,000 tasks in 5.0 s, the hosts taking turns), so a side needs several rounds to show its best.
    rounds = bench.n(4, 1)
    combos = bench.combos(50)
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "fgrid": []}
    for round_ in range(rounds):
        for name in ("bare", "fgrid") if round_ % 2 == 0 else ("fgrid", "bare"):
            runs[name].append(one_side(bench, name, n, combos))
    best = {k: max(v, key=lambda r: r["tasks_per_s"]) for k, v in runs.items()}
    r = ratio(best["fgrid"]["tasks_per_s"], best["bare"]["tasks_per_s"])
    measure.add(
        Row(
            f"{HOSTS} worker hosts (-c 1 each, own data), {n} analyses (tasks/s)",
            "/s",
            best["fgrid"]["tasks_per_s"],
            best["bare"]["tasks_per_s"],
            "bare no-op, 2 hosts",
            r,
            f">= {GOAL}× bare",
            goal_min(r, GOAL),
        )
    )
    measure.add(
        Row(
            "  tasks per host (warm-up included)",
            "",
            None,
            note=f"fgrid {' / '.join(map(str, best['fgrid']['shares']))}; "
            f"bare {' / '.join(map(str, best['bare']['shares']))}",
        )
    )
    slow = {k: sum(r["tasks_per_s"] < best[k]["tasks_per_s"] / 2 for r in v) for k, v in runs.items()}
    measure.add(
        Row(
            "  rounds under half the side's best rate",
            "",
            None,
            note=f"fgrid {slow['fgrid']} of {rounds}; bare {slow['bare']} of {rounds}",
        )
    )
    measure.details = {"tasks": n, "rounds": rounds, "runs": runs}
    return measure


if __name__ == "__main__":
    standalone("hosts", run)
