"""Pre-kickoff features for every player-game: form, usage, availability, opponent, Vegas, venue, weather, rest.

:func:`compute` evaluates the features of any number of targets at once from a
:class:`~fgrid.analysis.feature_store.FeatureStore`, a target being (player, his team, opponent, season, week) plus
the game's pre-game context, so the same code serves one matchup (:func:`compute_one`) and a backtest or a model's
training set (:func:`player_game_features`, every player-game at once).

No leakage by construction: a target at (season, week) sees only games with a smaller key
``season * 100 + week`` (earlier weeks of its season, earlier seasons and their playoffs), plus the target game's
own pre-game columns (``spread_line``, ``total_line``, ``roof``, ``surface``, ``temp``, ``wind``, home/away, rest).

Reuse (a learned model): ``st = feature_store.store(ds, scoring)``; ``player_game_features(st)`` is every played
game's features with its outcome (train on it, filtered to earlier seasons); for a game not played yet, call
:func:`compute` (or :func:`compute_one`) with indexes from ``st.player_index``/``st.team_index`` and
:func:`context_arrays` of ``st.context(season, week, team)``.

Units: as in :mod:`fgrid.analysis.feature_store` (points in the store's scoring, shares as fractions, volumes per
team game).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from fgrid.analysis.feature_store import (
    BLOCK,
    KEY_SEASON,
    MAX_WEEK,
    POS_INDEX,
    POSITIONS,
    SENTINEL_KEY,
    STATE_FEATURES,
    TEAM_STATS,
    FeatureStore,
    GameContext,
)

#: Rows a backtest (and a model's grading) scores: at least MIN_EARLIER_GAMES earlier games and a mean of
#: MIN_RECENT_PPR PPR points over the last ``feature_store.RECENT_WINDOW`` of them (``mean8_ppr``).
MIN_EARLIER_GAMES = 4
MIN_RECENT_PPR = 5.0

#: Mean Vegas implied team total of 2019-2022 (points), the reference of ``implied_rel``. A constant rather than
#: the data's own mean, so that no later game can change an earlier analysis.
LEAGUE_IMPLIED = 23.0


def nz(x: np.ndarray) -> np.ndarray:
    """``x`` with nan replaced by 0 (cheaper than ``np.nan_to_num`` on the small arrays of one analysis)."""
    return np.where(x == x, x, 0.0)  # nan != nan


def def_ratio(
    st: FeatureStore, opp: np.ndarray, season: np.ndarray, week: np.ndarray, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(schedule-adjusted ratio, games) of defence ``opp`` against position ``pos`` at the start of (season, week).

    A season after the last one with stats sees only its prior (the last season's final ratio, regressed).
    """
    last = st.def_ratio.shape[0] - 1
    beyond = season > st.last_stats_season
    s_i = np.where(beyond, st.last_stats_season + 1 - st.first_season, np.maximum(season - st.first_season, 0))
    s_i = np.minimum(s_i, last)
    w = np.where(beyond, 0, np.minimum(np.maximum(week, 0), MAX_WEEK))
    p = np.maximum(pos, 0)
    return st.def_ratio[s_i, w, opp, p], st.def_games[s_i, w, opp]


def compute(
    st: FeatureStore,
    pidx: np.ndarray,
    tidx: np.ndarray,
    oidx: np.ndarray,
    season: np.ndarray,
    week: np.ndarray,
    pos: np.ndarray,
    home: np.ndarray,
    implied: np.ndarray,
    indoor: np.ndarray,
    temp: np.ndarray,
    wind: np.ndarray,
    rest: np.ndarray,
) -> dict[str, np.ndarray]:
    """Pre-kickoff features of each target; every argument is an array with one element per target.

    ``pidx``/``tidx``/``oidx`` index the store's players and teams (``tidx`` is the player's team in that game);
    ``pos`` indexes :data:`POSITIONS`; ``home`` is +1 home, -1 away, 0 neutral or unknown; ``implied`` is the
    team's Vegas total (nan if unknown); ``indoor`` is 1 under a dome or closed roof; ``temp``, ``wind`` and
    ``rest`` are nan when unknown. Returns arrays by feature name (see :data:`FEATURES`).
    """
    key = season * KEY_SEASON + week
    r = np.searchsorted(st.p_comb, pidx * BLOCK + key)
    r_season = np.searchsorted(st.p_comb, pidx * BLOCK + season * KEY_SEASON)
    tr = np.searchsorted(st.t_comb, tidx * BLOCK + key)
    tr_season = np.searchsorted(st.t_comb, tidx * BLOCK + season * KEY_SEASON)
    ps = st.p_state
    prev_key = ps["prev_key"][r]
    tr_since = np.searchsorted(st.t_comb, tidx * BLOCK + np.maximum(prev_key, 0) + 1)
    out = {name: ps[name][r] for name in STATE_FEATURES}
    season_games = r - r_season
    team_season_games = tr - tr_season
    out["season_games"] = season_games.astype(np.float64)
    out["team_season_games"] = team_season_games.astype(np.float64)
    # Team games this season he was not in, and team games since his last game (any season): injuries, benching.
    out["missed_season"] = np.maximum(team_season_games - season_games, 0).astype(np.float64)
    out["missed_streak"] = np.where(prev_key >= 0, np.maximum(tr - tr_since, 0), 0).astype(np.float64)
    out["weeks_since"] = np.where(
        prev_key >= 0, np.where(prev_key // KEY_SEASON == season, week - prev_key % KEY_SEASON, 99), np.nan
    ).astype(np.float64)
    ts = st.t_state
    for c in TEAM_STATS:
        out[c] = ts[c][tr]
    out["exp_tgt"] = nz(out["tgt_share"] * out["team_tgt"])
    out["exp_car"] = nz(out["car_share"] * out["team_car"])
    out["exp_ay"] = nz(out["ay_share"] * out["team_ay"])
    out["exp_att"] = nz(out["att_share"] * out["team_att"])
    known = implied == implied  # nan != nan
    out["implied"] = implied
    out["implied_rel"] = np.where(known, implied / LEAGUE_IMPLIED, 1.0)
    out["vegas_pts"] = nz(out["pts_share"] * np.where(known, implied, out["team_pts"]))
    out["tgt_trend"] = _log_ratio(out["tgt_share_recent"], out["tgt_share"])
    out["car_trend"] = _log_ratio(out["car_share_recent"], out["car_share"])
    ratio, dgames = def_ratio(st, oidx, season, week, pos)
    out["def_ratio"] = ratio
    out["def_games"] = dgames
    out["home"] = np.asarray(home, dtype=np.float64)
    out["indoor"] = np.asarray(indoor, dtype=np.float64)
    # Under a dome or a closed roof there is no weather: no temperature or wind, whatever a source says.
    out["temp"] = np.where(out["indoor"] > 0, np.nan, temp)
    out["wind"] = np.where(out["indoor"] > 0, np.nan, wind)
    out["rest"] = np.asarray(rest, dtype=np.float64)
    return out


def compute_one(
    st: FeatureStore,
    pidx: int,
    tidx: int,
    oidx: int,
    season: int,
    week: int,
    pos: int,
    home: float,
    implied: float,
    indoor: bool,
    temp: float,
    wind: float,
    rest: float,
) -> dict[str, float]:
    """:func:`compute` for one target, in plain Python floats (faster than arrays of length one).

    Same arguments as :func:`compute`, as scalars; the same features and values (a test holds them equal).
    """
    key = season * KEY_SEASON + week
    p_comb, t_comb = st.p_comb, st.t_comb
    r = int(p_comb.searchsorted(pidx * BLOCK + key))
    r_season = int(p_comb.searchsorted(pidx * BLOCK + season * KEY_SEASON))
    tr = int(t_comb.searchsorted(tidx * BLOCK + key))
    tr_season = int(t_comb.searchsorted(tidx * BLOCK + season * KEY_SEASON))
    prev_key = int(st.p_state["prev_key"][r])
    out = dict(zip(STATE_FEATURES, st.p_matrix[r].tolist(), strict=True))
    season_games = r - r_season
    team_season_games = tr - tr_season
    out["season_games"] = float(season_games)
    out["team_season_games"] = float(team_season_games)
    out["missed_season"] = float(max(team_season_games - season_games, 0))
    if prev_key >= 0:
        tr_since = int(t_comb.searchsorted(tidx * BLOCK + prev_key + 1))
        out["missed_streak"] = float(max(tr - tr_since, 0))
        out["weeks_since"] = float(week - prev_key % KEY_SEASON if prev_key // KEY_SEASON == season else 99)
    else:
        out["missed_streak"] = 0.0
        out["weeks_since"] = math.nan
    out.update(zip(TEAM_STATS, st.t_matrix[tr].tolist(), strict=True))
    out["exp_tgt"] = _nz1(out["tgt_share"] * out["team_tgt"])
    out["exp_car"] = _nz1(out["car_share"] * out["team_car"])
    out["exp_ay"] = _nz1(out["ay_share"] * out["team_ay"])
    out["exp_att"] = _nz1(out["att_share"] * out["team_att"])
    known = implied == implied  # nan != nan
    out["implied"] = implied
    out["implied_rel"] = implied / LEAGUE_IMPLIED if known else 1.0
    out["vegas_pts"] = _nz1(out["pts_share"] * (implied if known else out["team_pts"]))
    out["tgt_trend"] = _log_ratio1(out["tgt_share_recent"], out["tgt_share"])
    out["car_trend"] = _log_ratio1(out["car_share_recent"], out["car_share"])
    last = st.def_ratio.shape[0] - 1
    if season > st.last_stats_season:
        s_i, w = min(st.last_stats_season + 1 - st.first_season, last), 0
    else:
        s_i, w = min(max(season - st.first_season, 0), last), min(max(week, 0), MAX_WEEK)
    out["def_ratio"] = float(st.def_ratio[s_i, w, oidx, max(pos, 0)])
    out["def_games"] = float(st.def_games[s_i, w, oidx])
    out["home"] = float(home)
    out["indoor"] = 1.0 if indoor else 0.0
    out["temp"] = math.nan if indoor else float(temp)
    out["wind"] = math.nan if indoor else float(wind)
    out["rest"] = float(rest)
    return out


def _nz1(x: float) -> float:
    return x if x == x else 0.0  # nan != nan


def _log_ratio1(recent: float, weighted: float, floor: float = 0.02) -> float:
    return min(max(math.log((_nz1(recent) + floor) / (_nz1(weighted) + floor)), -1.0), 1.0)


def _log_ratio(recent: np.ndarray, weighted: np.ndarray, floor: float = 0.02) -> np.ndarray:
    """log of recent over weighted share (a trend; 0 when unknown), damped near zero shares, clipped to +-1."""
    return np.minimum(np.maximum(np.log((nz(recent) + floor) / (nz(weighted) + floor)), -1.0), 1.0)


#: Every feature :func:`compute` returns. Points are in the store's scoring; shares are fractions.
FEATURES = (
    *STATE_FEATURES,
    "season_games",
    "team_season_games",
    "missed_season",
    "missed_streak",
    "weeks_since",
    *TEAM_STATS,
    "exp_tgt",
    "exp_car",
    "exp_ay",
    "exp_att",
    "implied",
    "implied_rel",
    "vegas_pts",
    "tgt_trend",
    "car_trend",
    "def_ratio",
    "def_games",
    "home",
    "indoor",
    "temp",
    "wind",
    "rest",
)


def context_arrays(contexts: Sequence[GameContext | None]) -> dict[str, np.ndarray]:
    """The per-game arguments of :func:`compute` (home, implied, indoor, temp, wind, rest) for some contexts."""
    nan = float("nan")
    return {
        "home": np.array([c.home if c else 0 for c in contexts], dtype=np.float64),
        "implied": np.array([c.implied if c else nan for c in contexts], dtype=np.float64),
        "indoor": np.array([c.indoor if c else False for c in contexts], dtype=np.float64),
        "temp": np.array([c.temp if c else nan for c in contexts], dtype=np.float64),
        "wind": np.array([c.wind if c else nan for c in contexts], dtype=np.float64),
        "rest": np.array([c.rest if c else nan for c in contexts], dtype=np.float64),
    }


def player_game_features(st: FeatureStore, positions: tuple[str, ...] = POSITIONS) -> pl.DataFrame:
    """Pre-kickoff features of every player-game in the stats at ``positions`` (one row each), with its outcome.

    Columns: player_id, name, season, week, game_type, position, team, opponent, game_id, actual (points in the
    store's scoring), actual_ppr, the index columns pidx/tidx/oidx/pos, then every feature of :data:`FEATURES`.
    Features use strictly earlier games only: this is the training and evaluation set of models and backtests.
    Cached on the store.
    """
    cache_key = ("player_game_features", positions)
    found = st.extras.get(cache_key)
    if found is not None:
        return found
    wanted = np.array([POS_INDEX[p] for p in positions])
    rows = np.flatnonzero((st.p_key != SENTINEL_KEY) & np.isin(st.p_pos, wanted))
    pidx = np.searchsorted(st.p_start, rows, side="right") - 1
    key = st.p_key[rows]
    season, week = key // KEY_SEASON, key % KEY_SEASON
    tidx = st.p_team[rows]
    found_ctxs = [
        st.contexts.get((s, w, st.teams[t]))
        for s, w, t in zip(season.tolist(), week.tolist(), tidx.tolist(), strict=True)
    ]
    keep = np.array([c is not None for c in found_ctxs], dtype=bool)
    rows, pidx, season, week, tidx = rows[keep], pidx[keep], season[keep], week[keep], tidx[keep]
    ctxs = [c for c in found_ctxs if c is not None]
    oidx = np.array([st.team_index[c.opponent] for c in ctxs], dtype=np.int64)
    pos = st.p_pos[rows]
    feats = compute(st, pidx, tidx, oidx, season, week, pos, **context_arrays(ctxs))
    teams = np.array(st.teams, dtype=object)
    frame = pl.DataFrame(
        {
            "player_id": np.array(st.player_ids, dtype=object)[pidx].tolist(),
            "name": np.array(st.player_names, dtype=object)[pidx].tolist(),
            "season": season,
            "week": week,
            "game_type": [c.game_type for c in ctxs],
            "position": np.array(POSITIONS, dtype=object)[pos].tolist(),
            "team": teams[tidx].tolist(),
            "opponent": teams[oidx].tolist(),
            "game_id": [c.game_id for c in ctxs],
            "actual": st.p_game["pts"][rows],
            "actual_ppr": st.p_game["ppr"][rows],
            "pidx": pidx,
            "tidx": tidx,
            "oidx": oidx,
            "pos": pos,
            **feats,
        }
    )
    st.extras[cache_key] = frame
    return frame
