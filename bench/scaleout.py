#!/usr/bin/env python3
"""Measure 6, scale-out: a CPU-bound fan-out with one worker process against two.

A walk-forward backtest (``fgrid.backtest`` with ``refit``) of the latest season with stats fans out one
``fgrid.backtest_week`` task per week, each refitting the engine on the games before its week (about a second of
CPU), then summarizes them (a chord). Timed from submit to result with ``fgrid worker -c 1`` and with ``-c 2``
(median of a few runs each; the quick run takes the season's last weeks only). Goal: >= 1.7 x faster with two.
Before the timed runs, a two-week refit backtest warms every pool process (data, indexes, scikit-learn's import).
For context, the bench also times one week's work in this process (``backtest.run_week`` with ``refit``).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from _common import Bench, Measure, Row, goal_min, ratio, standalone

GOAL = 1.7
#: Weeks of the quick run (the season's last ones: with the most games to fit on, the heaviest). Four tasks on two
#: processes still show the fan-out; the quick run checks that the measure works (CI), the full run measures it.
QUICK_WEEKS = 4


def backtest_once(settings: Any, season: int, weeks: list[int]) -> tuple[float, int]:
    from fgrid import config
    from fgrid.service import lifecycle

    started = time.perf_counter()
    task_id = lifecycle.submit(
        settings, config.TASK_BACKTEST, {"season": season, "weeks": weeks, "scoring": "ppr", "refit": True}
    )
    info = lifecycle.wait(settings, task_id, timeout=600)
    elapsed = time.perf_counter() - started
    if info["state"] != "SUCCESS":
        raise RuntimeError(f"backtest {task_id} ended {info['state']}: {info.get('error')}")
    if info["result"]["predictor"] != "engine (refit)":
        raise RuntimeError(f"backtest {task_id} was not a refit one: {info['result']['predictor']}")
    return elapsed, len(info["result"]["rows"])


def week_costs(bench: Bench) -> dict[str, Any]:
    """Seconds of a few weeks' refit backtest in this process, data loaded and warmed (what one week task does)."""
    from fgrid.analysis import backtest, data, feature_store, matchup
    from fgrid.config import Settings

    ds = data.load(Settings.from_env({"FGRID_DATA_DIR": str(bench.ensure_data())}).nfl_dir)
    matchup.warm(ds, ("ppr",))
    season = feature_store.store(ds, "ppr").last_stats_season
    weeks = backtest.season_weeks(ds, season, "ppr")
    backtest.run_week(ds, season, weeks[0], "ppr", refit=True)  # imports and anything built lazily on first use
    timed = [weeks[-1]] if bench.quick else [weeks[0], weeks[len(weeks) // 2], weeks[-1]]
    costs = []
    for week in timed:
        started = time.perf_counter()
        backtest.run_week(ds, season, week, "ppr", refit=True)
        costs.append(time.perf_counter() - started)
    return {
        "season": season,
        "weeks": weeks,
        "timed_weeks": timed,
        "week_ms": [round(c * 1000, 1) for c in costs],
        "median_week_ms": statistics.median(costs) * 1000,
    }


def run(bench: Bench) -> Measure:
    measure = Measure("scale_out")
    costs = week_costs(bench)
    season = costs["season"]
    weeks = costs["weeks"][-QUICK_WEEKS:] if bench.quick else costs["weeks"]
    reps = bench.n(2, 1)
    env = bench.redis_env()
    settings = bench.settings(env)
    runs: dict[int, list[float]] = {}
    rows = 0
    for concurrency in (1, 2):
        bench.redis.flush()
        worker = bench.fgrid_worker(env, concurrency)
        backtest_once(settings, season, weeks[:2])  # warm-up: each pool process takes one week (prefetch is 1)
        runs[concurrency] = []
        for _ in range(reps):
            elapsed, rows = backtest_once(settings, season, weeks)
            runs[concurrency].append(elapsed)
        worker.stop()
    one, two = statistics.median(runs[1]), statistics.median(runs[2])
    speedup = ratio(one, two)
    span = f"weeks {weeks[0]}-{weeks[-1]}" if len(weeks) < len(costs["weeks"]) else "all weeks"
    label = f"refit backtest {season}, {span}: {len(weeks)} week tasks, -c 2 vs -c 1 (s; ratio = speed-up)"
    measure.add(Row(label, "s", two, one, "-c 1", speedup, f">= {GOAL}× faster", goal_min(speedup, GOAL)))
    timed = ", ".join(f"{w}: {ms:.0f}" for w, ms in zip(costs["timed_weeks"], costs["week_ms"], strict=True))
    measure.add(
        Row(
            "  one week's work (refit), in-process, median (ms)", "ms", costs["median_week_ms"], note=f"week {timed} ms"
        )
    )
    measure.details = {
        "runs_s": {str(k): v for k, v in runs.items()},
        "weeks": weeks,
        "rows": rows,
        "week_costs": costs,
    }
    return measure


if __name__ == "__main__":
    standalone("scale_out", run)
