"""Fantasy points from box-score stats, with nflverse's scoring rules (ppr, half and standard).

Points: 0.04 per passing yard, 4 per passing TD, -2 per interception, 0.1 per rushing or receiving yard, 6 per
rushing, receiving or special-teams TD, -2 per fumble lost (sack, rushing, receiving), 2 per two-point conversion
(passing, rushing, receiving), plus 1 (ppr), 0.5 (half) or 0 (standard) per reception. Null stats count as 0.
Column names are the normalized ones of :mod:`fgrid.analysis.data.schema` (nflverse's 2023 names).
:func:`check` is the one place a scoring name is validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, overload

import polars as pl

from fgrid.errors import InputError

Scoring = Literal["ppr", "half", "standard"]

#: Points per reception for each scoring format.
RECEPTION_POINTS: dict[str, float] = {"ppr": 1.0, "half": 0.5, "standard": 0.0}

#: Points per unit of each stat, reception points aside (nflverse's standard scoring).
POINTS_PER_STAT: dict[str, float] = {
    "passing_yards": 0.04,
    "passing_tds": 4.0,
    "interceptions": -2.0,
    "rushing_yards": 0.1,
    "receiving_yards": 0.1,
    "rushing_tds": 6.0,
    "receiving_tds": 6.0,
    "special_teams_tds": 6.0,
    "sack_fumbles_lost": -2.0,
    "rushing_fumbles_lost": -2.0,
    "receiving_fumbles_lost": -2.0,
    "passing_2pt_conversions": 2.0,
    "rushing_2pt_conversions": 2.0,
    "receiving_2pt_conversions": 2.0,
}

#: Every stat column scoring reads.
SCORING_COLUMNS: tuple[str, ...] = (*POINTS_PER_STAT, "receptions")
#: The scoring formats, in the order they are offered.
SCORINGS: tuple[str, ...] = tuple(RECEPTION_POINTS)


def check(scoring: str) -> str:
    """``scoring`` normalized (``ppr``, ``half`` or ``standard``, case and spaces ignored); InputError otherwise."""
    value = str(scoring).strip().lower()
    if value not in RECEPTION_POINTS:
        raise InputError(f"unknown scoring '{scoring}'; use one of: {', '.join(SCORINGS)}")
    return value


def _weights(scoring: str) -> dict[str, float]:
    return {**POINTS_PER_STAT, "receptions": RECEPTION_POINTS[check(scoring)]}


def points_expr(scoring: Scoring | str = "ppr") -> pl.Expr:
    """Return a polars expression for fantasy points per row in ``scoring``, named ``fantasy_points``.

    The frame must have every column in :data:`SCORING_COLUMNS` (as ``Dataset.stats`` does); nulls count as 0.
    """
    terms = [pl.col(name).fill_null(0).cast(pl.Float64) * weight for name, weight in _weights(scoring).items()]
    return pl.sum_horizontal(terms).alias("fantasy_points")


def points_row(row: Mapping[str, Any], scoring: Scoring | str = "ppr") -> float:
    """Return fantasy points (in ``scoring``) for one stat line given as a mapping of column name to value."""
    return float(sum(weight * (row.get(name) or 0) for name, weight in _weights(scoring).items()))


@overload
def fantasy_points(row_or_frame: pl.DataFrame, scoring: Scoring | str = ...) -> pl.Series: ...
@overload
def fantasy_points(row_or_frame: Mapping[str, Any], scoring: Scoring | str = ...) -> float: ...


def fantasy_points(row_or_frame: pl.DataFrame | Mapping[str, Any], scoring: Scoring | str = "ppr") -> pl.Series | float:
    """Return fantasy points in ``scoring``: a Float64 Series for a frame (one value per row), a float for a row.

    Stats a frame or row lacks count as 0.
    """
    if isinstance(row_or_frame, pl.DataFrame):
        missing = [pl.lit(0).alias(name) for name in SCORING_COLUMNS if name not in row_or_frame.columns]
        return row_or_frame.with_columns(missing).select(points_expr(scoring)).to_series()
    return points_row(row_or_frame, scoring)
