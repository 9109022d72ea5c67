"""Backtests run in this process (``fgrid backtest --local``): no worker, the same rows as the queued backtest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fgrid.config import Settings
from fgrid.errors import InputError


def run_backtest(
    settings: Settings,
    season: int,
    weeks: list[int] | None,
    scoring: str,
    model: str = "engine",
    progress: Callable[[int, int], None] | None = None,
    refit: bool = False,
) -> dict[str, Any]:
    """Backtest in this process: the engine's projections (``refit``: walk forward, the engine refitted before each
    week on earlier games), or the trained ai model's, on the same rows."""
    from fgrid.analysis import backtest, data

    if refit and model != "engine":
        raise InputError("refit applies to the engine's backtest, not to the ai model's")
    ds = data.load(settings.nfl_dir)
    predictor = None
    if model == "ai":
        from fgrid.analysis import model as ai

        trained = ai.load_model(settings.models_dir)
        predictor = ai.backtest_predictor(trained)
        predictor.__name__ = f"ai model {trained.model_id}"
    return backtest.run(ds, season, weeks, scoring, progress=progress, predictor=predictor, refit=refit)


def run_lineup_backtest(
    settings: Settings, season: int, weeks: list[int] | None, scoring: str, model: str = "engine"
) -> dict[str, Any]:
    """Replay every team's roster-of-N each week in this process (:func:`fgrid.analysis.decisions.lineup_backtest`):
    the lineup the engine's (or the ai model's) projections choose, the baseline's, and the best in hindsight;
    with the share of same-position pairs each projection ordered right."""
    from fgrid.analysis import backtest, data, decisions

    ds = data.load(settings.nfl_dir)
    predictor = None
    name = "engine"
    if model == "ai":
        from fgrid.analysis import model as ai

        trained = ai.load_model(settings.models_dir)
        predictor = ai.backtest_predictor(trained)
        name = f"ai model {trained.model_id}"
    report = decisions.lineup_backtest(ds, season, weeks, scoring, predictor=predictor)
    rows = backtest.run(ds, season, report["weeks"], scoring, predictor=predictor)["rows"]
    report["predictor"] = name
    report["pairs"] = {
        "projection": decisions.pair_accuracy(rows),
        "baseline": decisions.pair_accuracy(rows, "baseline"),
    }
    return report
