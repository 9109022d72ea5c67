"""Matchup analysis on the real 2019-2023 data: football facts a fan can check, leakage, input errors, speed."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from fgrid.analysis import feature_store, features, matchup
from fgrid.analysis.dataset import Dataset
from fgrid.analysis.matchup import analysis, engine
from fgrid.errors import InputError

LAMB = "CeeDee Lamb"


def _copy(ds: Dataset, **changes: pl.DataFrame) -> Dataset:
    """The dataset with some tables replaced and no derived indexes (so everything is rebuilt from them)."""
    return ds.replace(**changes)


def _wr_ratios_at_end_of(ds: Dataset, season: int) -> dict[str, float]:
    st = feature_store.store(ds, "ppr")
    table = st.def_ratio[season - st.first_season, feature_store.MAX_WEEK, :, feature_store.POS_INDEX["WR"]]
    return {team: float(table[i]) for i, team in enumerate(st.teams) if team != "DAL"}


# ---------------------------------------------------------------------------------------------------------------
# What a fan can check


def test_top_receiver_scores_higher_against_weakest_pass_defence(dataset: Dataset) -> None:
    ratios = _wr_ratios_at_end_of(dataset, 2023)
    weakest = max(ratios, key=ratios.get)  # allows the most WR points, schedule-adjusted
    strongest = min(ratios, key=ratios.get)
    # What-if games in the week after the data: only the opponent differs.
    soft = matchup.analyze(dataset, LAMB, weakest, what_if=True)
    tough = matchup.analyze(dataset, LAMB, strongest, what_if=True)
    assert soft["matchup_score"] > 50 > tough["matchup_score"]
    assert soft["matchup_score"] > tough["matchup_score"] + 20


def test_late_2023_games_follow_the_engines_own_defence_numbers(dataset: Dataset) -> None:
    # DAL played WAS in week 18 and BUF in week 15 of 2023; the score follows the as-of ratios vs WRs.
    st = feature_store.store(dataset, "ppr")
    s = 2023 - st.first_season
    wr = feature_store.POS_INDEX["WR"]
    was = st.def_ratio[s, 18, st.team_index["WAS"], wr]
    buf = st.def_ratio[s, 15, st.team_index["BUF"], wr]
    a_was = matchup.analyze(dataset, LAMB, "WAS", season=2023, week=18)
    a_buf = matchup.analyze(dataset, LAMB, "BUF", season=2023, week=15)
    assert (a_was["matchup_score"] > a_buf["matchup_score"]) == (was > buf)
    assert a_was["matchup_score"] != a_buf["matchup_score"]


def test_santa_clara_is_sf_home_so_lamb_is_away_in_2023_week_5(dataset: Dataset) -> None:
    result = matchup.analyze(dataset, LAMB, "SF", location="Santa Clara, CA", season=2023, week=5)
    game = result["game"]
    assert game["home"] is False and game["neutral"] is False
    assert game["game_id"] == "2023_05_DAL_SF"
    assert game["venue"]["stadium_id"] == "SFO01"
    assert game["kickoff"] == "2023-10-08"
    assert _factor(result, "Home/away")["value"] == "away"
    assert result["player"] == {"id": "00-0036358", "name": "CeeDee Lamb", "position": "WR", "team": "DAL"}


def test_location_must_match_the_game_and_sets_home_for_a_hypothetical_game(dataset: Dataset) -> None:
    with pytest.raises(InputError, match="Levi's Stadium"):
        matchup.resolve_request(dataset, LAMB, "SF", location="Arlington, TX", season=2023, week=5)
    # DAL and NYJ do not meet after the 2023 data: a hypothetical game, where the location decides home or away.
    home = matchup.resolve_request(dataset, LAMB, "NYJ", location="Arlington, TX", what_if=True)
    away = matchup.resolve_request(dataset, LAMB, "NYJ", location="East Rutherford, NJ", what_if=True)
    assert home.game_id is None and home.home is True and home.hypothetical
    assert away.home is False
    with pytest.raises(InputError, match="neither"):
        matchup.resolve_request(dataset, LAMB, "NYJ", location="Santa Clara, CA", what_if=True)


def test_neutral_site_game_has_no_home_effect(dataset: Dataset) -> None:
    # 2023 week 4: ATL at JAX, played at Wembley.
    result = matchup.analyze(dataset, "Bijan Robinson", "JAX", location="Wembley Stadium", season=2023, week=4)
    assert result["game"]["neutral"] is True and result["game"]["venue"]["stadium_id"] == "LON00"
    home = _factor(result, "Home/away")
    assert home["value"] == "neutral" and home["effect"] == 0.0
    with pytest.raises(InputError, match="Wembley"):
        matchup.resolve_request(dataset, "Bijan Robinson", "JAX", location="Atlanta, GA", season=2023, week=4)


def test_default_game_is_the_next_scheduled_meeting_after_the_data(dataset: Dataset) -> None:
    req = matchup.resolve_request(dataset, LAMB, "SF")
    assert (req.season, req.week, req.game_id, req.home) == (2024, 8, "2024_08_DAL_SF", False)
    # No opponent: the week after the data, against the scheduled opponent.
    week1 = matchup.resolve_request(dataset, LAMB)
    assert (week1.season, week1.week, week1.opponent, week1.home) == (2024, 1, "CLE", False)
    with pytest.raises(InputError, match=r"DAL does not play NYJ in 2024 .*DAL's next games: week 1 at CLE"):
        matchup.resolve_request(dataset, LAMB, "NYJ")
    hypothetical = matchup.resolve_request(dataset, LAMB, "NYJ", what_if=True)
    assert (hypothetical.season, hypothetical.week, hypothetical.game_id) == (2024, 1, None)
    result = matchup.analyze(dataset, LAMB, "SF")
    assert result["data_through"] == "2024-01-07"  # 2023 week 18
    assert result["game"]["game_id"] == "2024_08_DAL_SF"


def test_dome_game_has_no_wind_effect(dataset: Dataset) -> None:
    # 2023 week 17, DET at DAL under a closed roof. Even a (false) 40 mph, 10 F reading changes nothing.
    base = matchup.analyze(dataset, LAMB, "DET", season=2023, week=17)
    assert base["game"]["venue"]["roof"] == "closed"
    wind = _factor(base, "Wind")
    assert wind["effect"] == 0.0 and wind["value"] is None
    assert _factor(base, "Temperature")["effect"] == 0.0
    stormy = dataset.schedules.with_columns(
        wind=pl.when(pl.col("game_id") == "2023_17_DET_DAL").then(40.0).otherwise(pl.col("wind")),
        temp=pl.when(pl.col("game_id") == "2023_17_DET_DAL").then(10.0).otherwise(pl.col("temp")),
    )
    assert matchup.analyze(_copy(dataset, schedules=stormy), LAMB, "DET", season=2023, week=17) == base


def test_outdoor_wind_lowers_a_projection(dataset: Dataset) -> None:
    base = matchup.analyze(dataset, LAMB, "WAS", season=2023, week=18)
    windy = dataset.schedules.with_columns(
        wind=pl.when(pl.col("game_id") == "2023_18_DAL_WAS").then(30.0).otherwise(pl.col("wind"))
    )
    gusty = matchup.analyze(_copy(dataset, schedules=windy), LAMB, "WAS", season=2023, week=18)
    assert _factor(gusty, "Wind")["value"] == 30.0
    assert _factor(gusty, "Wind")["effect"] < 0
    assert gusty["projection"]["points"] < base["projection"]["points"]


def test_scoring_formats_order_a_receivers_projection(dataset: Dataset) -> None:
    points = {
        s: matchup.analyze(dataset, LAMB, "SF", season=2023, week=5, scoring=s)["projection"]["points"]
        for s in ("ppr", "half", "standard")
    }
    assert points["ppr"] > points["half"] > points["standard"] > 0


# ---------------------------------------------------------------------------------------------------------------
# Output shape


REQUIRED_FACTORS = {
    "Recent scoring",
    "Usage",
    "Vegas",
    "Availability",
    "Opponent",
    "Home/away",
    "Roof",
    "Wind",
    "Temperature",
    "Rest",
}


def _factor(result: dict, name: str) -> dict:
    return next(f for f in result["factors"] if f["name"] == name)


@pytest.mark.parametrize(
    ("player", "opponent", "season", "week"),
    [
        (LAMB, "SF", 2023, 5),
        ("Christian McCaffrey", "DAL", 2023, 5),
        ("Travis Kelce", "LV", 2023, 12),
        ("Josh Allen", "MIA", 2023, 4),
        ("Justin Jefferson", "GB", None, None),
    ],
)
def test_output_shape(dataset: Dataset, player: str, opponent: str, season: int | None, week: int | None) -> None:
    result = matchup.analyze(dataset, player, opponent, season=season, week=week)
    json.dumps(result)  # JSON-ready: no numpy types
    assert set(result) >= {
        "player",
        "opponent",
        "game",
        "matchup_score",
        "projection",
        "recommendation",
        "factors",
        "data_through",
        "scoring",
    }
    assert set(result["game"]) >= {"season", "week", "home", "venue", "game_id", "kickoff"}
    assert 0 <= result["matchup_score"] <= 100
    proj = result["projection"]
    assert 0 <= proj["low"] < proj["points"] < proj["high"]
    rec = result["recommendation"]
    assert rec["verdict"] in ("START", "FLEX", "SIT")
    assert 0.5 <= rec["confidence"] <= 1
    assert rec["reasons"] and all(isinstance(r, str) and r for r in rec["reasons"])
    assert any("schedule-adjusted" in r for r in rec["reasons"])
    names = {f["name"] for f in result["factors"]}
    assert names >= REQUIRED_FACTORS
    for f in result["factors"]:
        assert set(f) == {"name", "value", "effect", "description"} and isinstance(f["effect"], float)
    # The recent weighted average plus every effect is the projection.
    recent = _factor(result, "Recent scoring")["value"]
    total = recent + sum(f["effect"] for f in result["factors"])
    assert total == pytest.approx(proj["points"], abs=0.05)
    # Context factors are small next to form and usage.
    for name in ("Opponent", "Home/away", "Roof", "Wind", "Temperature", "Rest"):
        assert abs(_factor(result, name)["effect"]) < 2.5


def test_vegas_reason_uses_nflverse_spread_sign(dataset: Dataset) -> None:
    # 2023 week 5: SF -3.5 at home vs DAL, total 45 (spread_line 3.5 > 0 means the home team is favoured).
    game = dataset.schedules.filter(pl.col("game_id") == "2023_05_DAL_SF").row(0, named=True)
    implied_dal = game["total_line"] / 2 - game["spread_line"] / 2
    result = matchup.analyze(dataset, LAMB, "SF", season=2023, week=5)
    assert _factor(result, "Vegas")["value"] == pytest.approx(implied_dal, abs=0.05)
    assert implied_dal < game["total_line"] / 2
    assert any(f"{implied_dal:.1f} points for DAL" in r for r in result["recommendation"]["reasons"])


def test_verdict_tiers_are_position_aware() -> None:
    eng = engine.engine("ppr")
    for pos in feature_store.POSITIONS:
        p = feature_store.POS_INDEX[pos]
        start, flex = eng.start_line[p], eng.flex_line[p]
        assert start > flex > 0
        assert analysis.verdict(pos, start + 3, start - 2, start + 12, eng)[0] == "START"
        assert analysis.verdict(pos, (start + flex) / 2, flex - 3, start + 8, eng)[0] == "FLEX"
        assert analysis.verdict(pos, flex - 2, 0.5, flex + 6, eng)[0] == "SIT"
    assert analysis.matchup_score(1.0, 0.1) == 50.0
    assert analysis.matchup_score(1.3, 0.1) > analysis.matchup_score(1.1, 0.1) > 50 > analysis.matchup_score(0.8, 0.1)


def test_recent_points_are_his_last_8_games_before_kickoff_in_the_scoring_asked(dataset: Dataset) -> None:
    ppr = matchup.analyze(dataset, LAMB, "SF", season=2023, week=5)
    # Oldest first: 2022 weeks 17-18, the two 2022 playoff games (at TB, at SF), then 2023 weeks 1-4 (week 2 vs
    # NYJ: 11 catches, 143 yards = 25.3 PPR).
    assert ppr["recent_points"] == [21.0, 16.2, 16.8, 22.3, 11.7, 25.3, 10.2, 14.8]
    standard = matchup.analyze(dataset, LAMB, "SF", season=2023, week=5, scoring="standard")["recent_points"]
    half = matchup.analyze(dataset, LAMB, "SF", season=2023, week=5, scoring="half")["recent_points"]
    assert standard[5] == pytest.approx(25.3 - 11)  # a point a catch less
    assert half == pytest.approx([(p + s) / 2 for p, s in zip(ppr["recent_points"], standard, strict=True)])
    # A rookie's first game: nothing before it.
    assert matchup.analyze(dataset, "Bijan Robinson", season=2023, week=1)["recent_points"] == []


# ---------------------------------------------------------------------------------------------------------------
# Only information from before kickoff


@pytest.mark.parametrize(("season", "week", "opponent"), [(2023, 10, "NYG"), (2022, 16, "PHI")])
def test_later_games_and_the_games_own_stats_do_not_change_the_analysis(
    dataset: Dataset, season: int, week: int, opponent: str
) -> None:
    before = matchup.analyze(dataset, LAMB, opponent, season=season, week=week)
    key = pl.col("season") * 100 + pl.col("week")
    later = key >= season * 100 + week
    stat_cols = [c for c, t in dataset.stats.schema.items() if t.is_numeric() and c not in ("season", "week")]
    scrambled = dataset.stats.with_columns(
        [pl.when(later).then(pl.col(c) * 3 + 7).otherwise(pl.col(c)).alias(c) for c in stat_cols]
    )
    # Final scores of later games too (the schedules' pre-game columns are allowed and kept).
    schedules = dataset.schedules.with_columns(
        [
            pl.when(key >= season * 100 + week).then(pl.col(c) + 21).otherwise(pl.col(c)).alias(c)
            for c in ("home_score", "away_score")
        ]
    )
    after = matchup.analyze(
        _copy(dataset, stats=scrambled, schedules=schedules), LAMB, opponent, season=season, week=week
    )
    assert after == before
    # Sanity: an earlier game's stats do change it.
    earlier = (pl.col("player_id") == "00-0036358") & (key == season * 100 + week - 1)
    changed = dataset.stats.with_columns(
        receptions=pl.when(earlier).then(pl.col("receptions") + 10).otherwise(pl.col("receptions"))
    )
    assert matchup.analyze(_copy(dataset, stats=changed), LAMB, opponent, season=season, week=week) != before


# ---------------------------------------------------------------------------------------------------------------
# Input errors (the CLI calls resolve_request before queuing)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"player": "Nobody Atall", "opponent": "SF"}, "unknown player"),
        ({"player": "Ryan Griffin", "opponent": "SF"}, "ambiguous"),
        ({"player": LAMB, "opponent": "XYZ"}, "unknown team"),
        ({"player": LAMB, "opponent": "SF", "location": "Atlantis"}, "unknown location"),
        ({"player": LAMB, "opponent": "SF", "season": 2031}, "out of range"),
        ({"player": LAMB, "opponent": "SF", "season": 2012}, "out of range"),
        ({"player": LAMB, "opponent": "SF", "season": 2023, "week": 25}, "out of range"),
        (
            {"player": LAMB, "opponent": "SF", "season": 2023, "week": 6},
            "DAL does not play SF in 2023 week 6 .DAL plays at LAC that week.; DAL's next games: week 6 at LAC",
        ),
        ({"player": LAMB, "opponent": "SF", "season": 2023, "week": 7}, "DAL has a bye"),
        ({"player": LAMB, "season": 2023, "week": 7}, "DAL has a bye in 2023 week 7; DAL's next games: week 8"),
        ({"player": LAMB, "opponent": "DAL"}, "own team"),
        ({"player": LAMB, "opponent": "SF", "scoring": "superflex"}, "unknown scoring"),
        ({"player": "Kyle Juszczyk", "opponent": "DAL"}, "projects QB, RB, WR and TE"),
    ],
)
def test_bad_requests_raise_input_error(dataset: Dataset, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        matchup.resolve_request(dataset, **kwargs)
    with pytest.raises(InputError):
        matchup.analyze(dataset, **kwargs)


def test_task_kwargs_round_trip(dataset: Dataset) -> None:
    req = matchup.resolve_request(dataset, "cee dee lamb", "49ers", location="Levi's Stadium", season=2023)
    kwargs = req.task_kwargs()
    assert kwargs == {
        "player": "00-0036358",
        "opponent": "SF",
        "location": "SFO01",
        "season": 2023,
        "week": 5,
        "scoring": "ppr",
    }
    assert matchup.resolve_request(dataset, **kwargs) == req


# ---------------------------------------------------------------------------------------------------------------
# One code path: the single-target features equal the vectorized ones, and the backtest's projections


def test_single_target_features_equal_the_vectorized_ones(dataset: Dataset) -> None:
    st = feature_store.store(dataset, "ppr")
    frame = features.player_game_features(st).filter(pl.col("season") >= 2022).sample(400, seed=7)
    eng = engine.engine("ppr")
    vec = {name: frame[name].to_numpy() for name in features.FEATURES}
    proj = engine.project(eng, vec, frame["pos"].to_numpy())
    for i, row in enumerate(frame.iter_rows(named=True)):
        ctx = st.context(row["season"], row["week"], row["team"])
        one = features.compute_one(
            st,
            row["pidx"],
            row["tidx"],
            row["oidx"],
            row["season"],
            row["week"],
            row["pos"],
            home=ctx.home,
            implied=ctx.implied,
            indoor=ctx.indoor,
            temp=ctx.temp,
            wind=ctx.wind,
            rest=ctx.rest,
        )
        for name in features.FEATURES:
            assert math.isclose(one[name], vec[name][i], rel_tol=1e-9, abs_tol=1e-12) or (
                math.isnan(one[name]) and math.isnan(vec[name][i])
            ), name
        x = engine.design_one(one, row["pos"], eng)
        assert np.allclose(x, proj["x"][i])


def test_analysis_matches_the_backtest_projection(dataset: Dataset) -> None:
    from fgrid.analysis import backtest

    rows = backtest.run_week(dataset, 2023, 11)
    st = feature_store.store(dataset, "ppr")
    for row in rows[::25]:
        opponent = st.context(2023, 11, _team_of(st, row["player_id"], 2023, 11)).opponent
        result = matchup.analyze(dataset, row["player_id"], opponent, season=2023, week=11)
        assert result["projection"]["points"] == pytest.approx(row["projected"], abs=0.006)
        assert result["projection"]["low"] == pytest.approx(row["low"], abs=0.006)


def _team_of(st: feature_store.FeatureStore, player_id: str, season: int, week: int) -> str:
    rows = st.player_rows(st.player_index[player_id])
    keys = st.p_key[rows]
    return st.teams[int(st.p_team[rows][list(keys).index(season * 100 + week)])]


# ---------------------------------------------------------------------------------------------------------------
# Warm analyses: dict and array lookups on the cached engine (bench/ measures how fast)


def test_analyses_once_warm_repeat_exactly(dataset: Dataset) -> None:
    matchup.warm(dataset, ("ppr",))
    calls = [(LAMB, "SF", None, 2023, 5), ("Travis Kelce", "LV", None, None, None)]
    first = [matchup.analyze(dataset, *call) for call in calls]
    for _ in range(2):
        assert [matchup.analyze(dataset, *call) for call in calls] == first
