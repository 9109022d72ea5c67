#!/usr/bin/env python3
"""Measure 2, compute: the analysis itself, in this process, with the data loaded and warmed (as in a worker).

* one analysis, ``fgrid.analysis.matchup.analyze`` on 50 real requests, cycling: p50 and p95;
* a comparison of 10 players of one real week, ``fgrid.analysis.compare.compare``: p50;
* an ai prediction, ``fgrid.analysis.model.predict``, with a model trained here on one season: p50 ("not
  available" without the model module; skipped in --quick, where training would take most of the time).

Goals: analysis p50 <= 0.5 ms and p95 <= 2 ms; compare of 10 <= 10 ms; predict p50 <= 20 ms. These are absolute
(there is no bare-Celery counterpart to an analysis).
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

from _common import Bench, Measure, Row, goal_max, standalone, summary_ms

GOAL_P50_MS = 0.5
GOAL_P95_MS = 2.0
GOAL_COMPARE_MS = 10.0
GOAL_PREDICT_MS = 20.0


def timings(func: Any, calls: list[Any], repeat: int, warm_up: int = 20) -> list[float]:
    """Seconds of each call of ``func(*args)``, cycling through ``calls``, after ``warm_up`` untimed calls."""
    for i in range(warm_up):
        func(*calls[i % len(calls)])
    out = []
    clock = time.perf_counter
    for i in range(repeat):
        args = calls[i % len(calls)]
        started = clock()
        func(*args)
        out.append(clock() - started)
    return out


def week_pairs(ds: Any, n: int = 10) -> tuple[list[tuple[str, str]], int, int]:
    """``n`` players of one real week (the latest season's week 10), each against his real opponent that week:
    starters of every position, the kind of list a fantasy manager compares."""
    import polars as pl

    stats = ds.stats
    season = int(stats["season"].max())
    week = 10
    rows = (
        stats.filter(
            (pl.col("season") == season) & (pl.col("week") == week) & pl.col("position").is_in(["QB", "RB", "WR", "TE"])
        )
        .sort("fantasy_points_ppr", descending=True)
        .select("player_id", "opponent")
    )
    pairs = [(r[0], r[1]) for r in rows.head(n).iter_rows()]
    return pairs, season, week


def run(bench: Bench) -> Measure:
    from fgrid.analysis import compare, data, matchup
    from fgrid.config import Settings

    measure = Measure("compute")
    settings = Settings.from_env({"FGRID_DATA_DIR": str(bench.ensure_data())})
    combos = bench.combos(50)
    ds = data.load(settings.nfl_dir)
    matchup.warm(ds)

    calls = [(ds, c["player"], c["opponent"], c["location"], c["season"], c["week"], c["scoring"]) for c in combos]
    one = summary_ms(timings(matchup.analyze, calls, bench.n(5000, 1000)))
    measure.add(
        Row(
            "analysis, in-process, p50 (ms)",
            "ms",
            one["p50"],
            goal=f"<= {GOAL_P50_MS} ms",
            passed=goal_max(one["p50"], GOAL_P50_MS),
        )
    )
    measure.add(
        Row(
            "analysis, in-process, p95 (ms)",
            "ms",
            one["p95"],
            goal=f"<= {GOAL_P95_MS} ms",
            passed=goal_max(one["p95"], GOAL_P95_MS),
        )
    )

    pairs, season, week = week_pairs(ds)
    cmp = summary_ms(timings(compare.compare, [(ds, pairs, season, week)], bench.n(300, 60), warm_up=3))
    measure.add(
        Row(
            f"compare of {len(pairs)}, in-process, p50 (ms)",
            "ms",
            cmp["p50"],
            goal=f"<= {GOAL_COMPARE_MS:g} ms",
            passed=goal_max(cmp["p50"], GOAL_COMPARE_MS),
        )
    )

    predict = predict_timings(bench, ds, combos)
    if predict.get("p50") is None:
        note = "skipped (--quick)" if bench.quick and "quick" in predict.get("reason", "") else "not available"
        measure.add(Row("ai predict, in-process, p50 (ms)", "ms", None, goal=f"<= {GOAL_PREDICT_MS:g} ms", note=note))
    else:
        measure.add(
            Row(
                "ai predict, in-process, p50 (ms)",
                "ms",
                predict["p50"],
                goal=f"<= {GOAL_PREDICT_MS:g} ms",
                passed=goal_max(predict["p50"], GOAL_PREDICT_MS),
            )
        )
    measure.details = {
        "analysis_ms": one,
        "compare_ms": cmp,
        "compare_pairs": pairs,
        "compare_game": [season, week],
        "predict_ms": predict,
        "requests": combos,
    }
    return measure


def predict_timings(bench: Bench, ds: Any, combos: list[dict[str, Any]]) -> dict[str, Any]:
    """p50 and p95 of ``fgrid.analysis.model.predict`` on the 50 requests, with a model trained here on the season
    before theirs (training takes half a minute on 2 cores: skipped in --quick); {"reason": ...} without one."""
    if importlib.util.find_spec("fgrid.analysis.model") is None:
        return {"p50": None, "reason": "fgrid.analysis.model does not exist yet"}
    from fgrid.analysis import model

    if not all(hasattr(model, name) for name in ("train", "predict")):
        return {"p50": None, "reason": "fgrid.analysis.model has no train() and predict()"}
    if bench.quick:
        return {"p50": None, "reason": "skipped in --quick (training a model takes half a minute)"}
    season = min(c["season"] for c in combos) - 1
    started = time.perf_counter()
    trained = model.train(ds, [season])
    train_s = time.perf_counter() - started
    calls = [
        (trained, ds, c["player"], c["opponent"], c["location"], c["season"], c["week"], c["scoring"]) for c in combos
    ]
    figures = summary_ms(timings(model.predict, calls, 500, warm_up=len(calls)))
    return {**figures, "trained_on": [season], "train_s": train_s}


if __name__ == "__main__":
    standalone("compute", run)
