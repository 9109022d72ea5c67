"""Fantasy scoring reproduces nflverse's own fantasy points on every row of every season."""

from __future__ import annotations

import polars as pl
import pytest

from fgrid.analysis.dataset import Dataset
from fgrid.analysis.scoring import (
    SCORING_COLUMNS,
    fantasy_points,
    points_expr,
    points_row,
)
from fgrid.errors import InputError


def test_standard_and_ppr_reproduce_nflverse_on_every_row(dataset: Dataset) -> None:
    scored = dataset.stats.with_columns(
        standard=points_expr("standard"), ppr=points_expr("ppr"), half=points_expr("half")
    )
    assert set(scored["season"]) == {2019, 2020, 2021, 2022, 2023}
    assert scored["fantasy_points"].null_count() == 0 and scored["fantasy_points_ppr"].null_count() == 0
    assert (scored["standard"] - scored["fantasy_points"]).abs().max() < 1e-6
    assert (scored["ppr"] - scored["fantasy_points_ppr"]).abs().max() < 1e-6
    assert (scored["half"] - (scored["standard"] + scored["ppr"]) / 2).abs().max() < 1e-9


def test_scalar_version_agrees_on_every_row(dataset: Dataset) -> None:
    columns = [*SCORING_COLUMNS, "fantasy_points", "fantasy_points_ppr"]
    for row in dataset.stats.select(columns).iter_rows(named=True):
        assert points_row(row, "standard") == pytest.approx(row["fantasy_points"], abs=1e-6)
        assert points_row(row, "ppr") == pytest.approx(row["fantasy_points_ppr"], abs=1e-6)


def test_a_stat_line_by_hand() -> None:
    # 300 passing yards, 2 TDs, 1 INT; 20 rushing yards; a lost fumble; 3 catches for 25 yards and a TD.
    line = {
        "passing_yards": 300,
        "passing_tds": 2,
        "interceptions": 1,
        "rushing_yards": 20,
        "rushing_fumbles_lost": 1,
        "receptions": 3,
        "receiving_yards": 25,
        "receiving_tds": 1,
        "rushing_2pt_conversions": 1,
        "special_teams_tds": None,
    }
    standard = 12 + 8 - 2 + 2 - 2 + 2.5 + 6 + 2
    assert fantasy_points(line, "standard") == pytest.approx(standard)
    assert fantasy_points(line, "half") == pytest.approx(standard + 1.5)
    assert fantasy_points(line, "ppr") == pytest.approx(standard + 3)
    frame = pl.DataFrame([line, {"receptions": 10}], schema_overrides={"special_teams_tds": pl.Int64})
    assert fantasy_points(frame, "ppr").to_list() == pytest.approx([standard + 3, 10.0])


def test_unknown_scoring_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown scoring 'full'; use one of: ppr, half, standard"):
        points_expr("full")
