#!/usr/bin/env python3
"""Measure 6, scale-out: a CPU-bound fan-out with one worker process against two.

``fgrid.backtest`` of the latest season with stats fans out one ``fgrid.backtest_week`` task per week, then
summarizes them (a chord). Timed from submit to result with ``fgrid worker -c 1`` and with ``-c 2`` (median of a
few runs each). Goal: >= 1.7 x faster with two. For context, the bench also times each week's work in this
process (``fgrid.analysis.backtest.run_week``): when a week costs little next to a task's overhead, two processes
cannot halve the time.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from _common import Bench, Measure, Row, goal_min, ratio, standalone

GOAL = 1.7


def backtest_once(settings: Any, season: int) -> tuple[float, int]:
    from fgrid import client, config

    started = time.perf_counter()
    task_id = client.submit(settings, config.TASK_BACKTEST, {"season": season, "weeks": None, "scoring": "ppr"})
    info = client.wait(settings, task_id, timeout=600)
    elapsed = time.perf_counter() - started
    if info["state"] != "SUCCESS":
        raise RuntimeError(f"backtest {task_id} ended {info['state']}: {info.get('error')}")
    return elapsed, len(info["result"]["rows"])


def week_costs(bench: Bench) -> dict[str, Any]:
    """Seconds of each week's backtest in this process, data loaded and warmed (what one week task computes)."""
    from fgrid.analysis import backtest, data, matchup
    from fgrid.config import Settings

    ds = data.load(Settings.from_env({"FGRID_DATA_DIR": str(bench.ensure_data())}).nfl_dir)
    matchup.warm(ds, ("ppr",))
    season = int(ds.stats["season"].max())
    weeks = backtest.season_weeks(ds, season, "ppr")
    backtest.run_week(ds, season, weeks[0], "ppr")  # anything built lazily on first use
    costs = []
    for week in weeks:
        started = time.perf_counter()
        backtest.run_week(ds, season, week, "ppr")
        costs.append(time.perf_counter() - started)
    return {"season": season, "weeks": len(weeks), "week_ms": [round(c * 1000, 2) for c in costs],
            "sum_ms": sum(costs) * 1000, "median_week_ms": statistics.median(costs) * 1000}


def run(bench: Bench) -> Measure:
    measure = Measure("scale_out")
    costs = week_costs(bench)
    season = costs["season"]
    reps = bench.n(3, 1)
    env = bench.redis_env()
    settings = bench.settings(env)
    runs: dict[int, list[float]] = {}
    rows = 0
    for concurrency in (1, 2):
        bench.redis.flush()
        worker = bench.fgrid_worker(env, concurrency)
        backtest_once(settings, season)  # warm-up: every pool process has loaded and warmed its data
        runs[concurrency] = []
        for _ in range(reps):
            elapsed, rows = backtest_once(settings, season)
            runs[concurrency].append(elapsed)
        worker.stop()
    one, two = statistics.median(runs[1]), statistics.median(runs[2])
    speedup = ratio(one, two)
    label = f"backtest {season}, {costs['weeks']} week tasks, -c 2 vs -c 1 (s; ratio = speed-up)"
    measure.add(Row(label, "s", two, one, "-c 1", speedup, f">= {GOAL}× faster", goal_min(speedup, GOAL)))
    measure.add(Row("  one week's work, in-process, median (ms)", "ms", costs["median_week_ms"],
                    note=f"{costs['sum_ms']:.0f} ms for the season"))
    measure.details = {"runs_s": {str(k): v for k, v in runs.items()}, "rows": rows, "week_costs": costs}
    return measure


if __name__ == "__main__":
    standalone("scale_out", run)
