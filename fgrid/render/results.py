"""The view of a task's result, chosen by the result's shape (each task returns one kind of document)."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType

from fgrid.render.ai import grade_table, model_table, prediction_panel, slate_table
from fgrid.render.analysis import analysis_panel, backtest_view, comparison_view
from fgrid.render.lineup import lineup_table


def result(value: Any) -> RenderableType | None:
    """The renderable for a task's result, by its shape (None if it has no view of its own)."""
    if not isinstance(value, dict):
        return None
    if "ranking" in value:
        return comparison_view(value)
    if "starters" in value and "bench" in value:
        return lineup_table(value)
    if "matchup_score" in value:
        return analysis_panel(value)
    if "explanation" in value:
        return prediction_panel(value)
    if "grades" in value:
        return grade_table(value)
    if "slate" in value:
        return slate_table(value)
    if "summary" in value and "by_position" in value.get("summary", {}):
        return backtest_view(value)
    if "model_id" in value and "metrics" in value:
        return model_table([value], title="trained model", metrics=True)
    return None
