"""The model's feature matrix: the engine's features of every player-game plus the model's own.

Inputs are pre-kickoff features of every player-game: the engine's factors from :mod:`fgrid.analysis.features`
(usage shares and their trend, the opponent's schedule-adjusted points allowed to the position, Vegas implied team
total, home, roof, wind, temperature, rest, availability) plus the team's spread, the position, and a richer
points history computed here (weighted averages at several decays, medians and quantiles of the last 8-32 games,
season-to-date, last-season and career means, their spread), share histories (last game, longer-run), per-game volumes,
the player's share of his team's fantasy points and it times the implied total, and availability (days since his
last game, a team change). Every feature of a game uses strictly earlier games and the game's own pre-game
columns, so training and evaluation rows are what one would have known before kickoff.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fgrid.analysis.feature_store import BLOCK, KEY_SEASON, FeatureStore, points, store
from fgrid.analysis.features import (
    FEATURES,
    MIN_EARLIER_GAMES,
    MIN_RECENT_PPR,
    player_game_features,
)
from fgrid.analysis.scoring import check as check_scoring

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: Features of :mod:`fgrid.analysis.features` the model uses (all of them, the engine's factors).
BASE_FEATURES: tuple[str, ...] = tuple(FEATURES)
#: Features computed here from each player's earlier games (see :func:`history_state`) and from the game.
EXTRA_FEATURES: tuple[str, ...] = (
    "pts_ewm50",
    "pts_ewm70",
    "pts_ewm95",
    "pts_mean3",
    "pts_last1",
    "pts_med8",
    "pts_med16",
    "pts_q25",
    "pts_q75",
    "pts_q90_32",
    "pts_q10_32",
    "pts_med32",
    "pts_std16",
    "pts_max8",
    "tgt_sh_last",
    "car_sh_last",
    "ay_sh_last",
    "tgt_sh_long",
    "car_sh_long",
    "ay_sh_long",
    "fp_share",
    "fp_share_long",
    "fp_share_last",
    "tds_ewm",
    "yds_ewm",
    "rec_ewm",
    "pyds_ewm",
    "ptd_ewm",
    "int_ewm",
    "rush_yds_ewm",
    "targets_ewm",
    "carries_ewm",
    "air_yards_ewm",
    "attempts_ewm",
    "season_mean",
    "prev_season_mean",
    "career_mean",
    "days_since",
    "team_change",
    "spread",
    "implied_x_fp_share",
    "pos",
)
FEATURE_NAMES: tuple[str, ...] = BASE_FEATURES + EXTRA_FEATURES

_HISTORY_CACHE = "model.history"
_FRAME_CACHE = "model.frame"


def _lag_matrix(x: np.ndarray, start: np.ndarray, window: int) -> np.ndarray:
    """(rows, window): the previous ``window`` values of each row's block, nan where there are fewer."""
    n = len(x)
    idx = np.arange(n)
    out = np.full((n, window), np.nan)
    for k in range(1, window + 1):
        j = idx - k
        ok = j >= start
        out[ok, k - 1] = x[j[ok]]
    return out


def _weighted(lags: np.ndarray, decay: float) -> np.ndarray:
    w = decay ** np.arange(lags.shape[1])
    known = ~np.isnan(lags)
    den = (known * w).sum(axis=1)
    num = (np.where(known, lags, 0.0) * w).sum(axis=1)
    out = np.full(len(lags), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _row_quantiles(lags: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
    """Each row's ``qs`` quantiles over its known values (linear interpolation, as numpy's default); nan if none."""
    known = (~np.isnan(lags)).sum(axis=1)
    ordered = np.sort(np.where(np.isnan(lags), np.inf, lags), axis=1)
    out = []
    for q in qs:
        pos = q * np.maximum(known - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(known - 1, 0))
        a = np.take_along_axis(ordered, lo[:, None], axis=1)[:, 0]
        b = np.take_along_axis(ordered, hi[:, None], axis=1)[:, 0]
        with np.errstate(invalid="ignore"):
            value = np.where(hi > lo, a + (pos - lo) * (b - a), a)
        out.append(np.where(known > 0, value, np.nan))
    return out


def _game_stats(st: FeatureStore, stats: pl.DataFrame) -> dict[str, np.ndarray]:
    """Each store row's own game: box-score columns and team-game totals (nan on the sentinel rows)."""
    cols = (
        "targets",
        "carries",
        "receiving_air_yards",
        "receptions",
        "attempts",
        "passing_yards",
        "passing_tds",
        "interceptions",
        "rushing_yards",
        "receiving_yards",
        "rushing_tds",
        "receiving_tds",
    )
    present = set(stats.columns)
    frame = (
        stats.with_columns(pl.Series("pts", points(stats, st.scoring)))
        .filter(pl.col("player_id").is_not_null() & pl.col("team").is_not_null() & pl.col("season").is_not_null())
        .select(
            "player_id",
            "team",
            "season",
            "week",
            "pts",
            *[(pl.col(c) if c in present else pl.lit(0.0)).cast(pl.Float64).fill_null(0.0).alias(c) for c in cols],
        )
    )
    frame = frame.with_columns(
        team_pts=pl.col("pts").sum().over("season", "week", "team"),
        team_tgt=pl.col("targets").sum().over("season", "week", "team"),
        team_car=pl.col("carries").sum().over("season", "week", "team"),
        team_ay=pl.col("receiving_air_yards").sum().over("season", "week", "team"),
    )
    pidx = np.array([st.player_index.get(p, -1) for p in frame["player_id"].to_list()], dtype=np.int64)
    key = frame["season"].to_numpy() * KEY_SEASON + frame["week"].to_numpy()
    ok = pidx >= 0
    rows = np.searchsorted(st.p_comb, pidx[ok] * BLOCK + key[ok])
    n = len(st.p_key)
    out = {}
    for c in (*cols, "team_pts", "team_tgt", "team_car", "team_ay"):
        a = np.full(n, np.nan)
        a[rows] = frame[c].to_numpy()[ok]
        out[c] = a
    return out


def history_state(ds: Dataset, st: FeatureStore) -> dict[str, np.ndarray]:
    """Per store row, the model's history features from strictly earlier games of the same player."""
    found = st.extras.get(_HISTORY_CACHE)
    if found is not None:
        return found
    n = len(st.p_key)
    start = np.repeat(st.p_start, np.diff(np.r_[st.p_start, n]))
    g = _game_stats(st, ds.stats)
    pts = st.p_game["pts"]
    out: dict[str, np.ndarray] = {}
    lags32 = _lag_matrix(pts, start, 32)
    lags16 = lags32[:, :16]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out["pts_ewm50"] = _weighted(lags16, 0.5)
        out["pts_ewm70"] = _weighted(lags16, 0.7)
        out["pts_ewm95"] = _weighted(lags16, 0.95)
        out["pts_mean3"] = np.nanmean(lags16[:, :3], axis=1)
        out["pts_last1"] = lags16[:, 0]
        (out["pts_med8"],) = _row_quantiles(lags16[:, :8], (0.5,))
        out["pts_q25"], out["pts_med16"], out["pts_q75"] = _row_quantiles(lags16, (0.25, 0.5, 0.75))
        out["pts_q10_32"], out["pts_med32"], out["pts_q90_32"] = _row_quantiles(lags32, (0.1, 0.5, 0.9))
        out["pts_std16"] = np.nanstd(lags16, axis=1)
        out["pts_max8"] = np.nanmax(lags16[:, :8], axis=1)
    for name, num, den in (
        ("tgt", "targets", "team_tgt"),
        ("car", "carries", "team_car"),
        ("ay", "receiving_air_yards", "team_ay"),
        ("fp", "pts_game", "team_pts"),
    ):
        x = pts if num == "pts_game" else g[num]
        share = np.full(n, np.nan)
        np.divide(x, g[den], out=share, where=g[den] > 0)
        lags = _lag_matrix(share, start, 16)
        if name == "fp":
            out["fp_share"] = _weighted(lags[:, :8], 0.7)
            out["fp_share_long"] = _weighted(lags, 0.85)
            out["fp_share_last"] = lags[:, 0]
        else:
            out[f"{name}_sh_last"] = lags[:, 0]
            out[f"{name}_sh_long"] = _weighted(lags, 0.9)
    for name, x in (
        ("tds_ewm", g["rushing_tds"] + g["receiving_tds"]),
        ("yds_ewm", g["rushing_yards"] + g["receiving_yards"]),
        ("rec_ewm", g["receptions"]),
        ("pyds_ewm", g["passing_yards"]),
        ("ptd_ewm", g["passing_tds"]),
        ("int_ewm", g["interceptions"]),
        ("rush_yds_ewm", g["rushing_yards"]),
    ):
        out[name] = _weighted(_lag_matrix(x, start, 16), 0.85)
    for name, col in (
        ("targets_ewm", "targets"),
        ("carries_ewm", "carries"),
        ("air_yards_ewm", "receiving_air_yards"),
        ("attempts_ewm", "attempts"),
    ):
        out[name] = _weighted(_lag_matrix(g[col], start, 8), 0.7)
    # Each row: the player's points summed over his earlier rows (season, last-season and career means by
    # difference). Summed block by block so that no other player's games enter the rounding.
    cum = np.zeros(n)
    clean = np.where(np.isnan(pts), 0.0, pts)
    bounds = np.r_[st.p_start, n]
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if b - a > 1:
            cum[a + 1 : b] = np.cumsum(clean[a : b - 1])
    out["_cum_pts"] = cum
    return st.extras.setdefault(_HISTORY_CACHE, out)


def extra_features(
    st: FeatureStore,
    hist: dict[str, np.ndarray],
    pidx: np.ndarray,
    tidx: np.ndarray,
    season: np.ndarray,
    week: np.ndarray,
    gameday: np.ndarray,
    spread: np.ndarray,
    implied: np.ndarray,
    pos: np.ndarray,
) -> dict[str, np.ndarray]:
    """The model's own features of targets (arrays, one element per target; ``gameday`` in days, nan unknown)."""
    base = pidx * BLOCK
    r = np.searchsorted(st.p_comb, base + season * KEY_SEASON + week)
    r_season = np.searchsorted(st.p_comb, base + season * KEY_SEASON)
    r_last = np.searchsorted(st.p_comb, base + (season - 1) * KEY_SEASON)
    r_first = st.p_start[pidx]
    cum = hist["_cum_pts"]
    out = {name: hist[name][r] for name in EXTRA_FEATURES if name in hist}
    with np.errstate(divide="ignore", invalid="ignore"):
        out["season_mean"] = np.where(r > r_season, (cum[r] - cum[r_season]) / (r - r_season), np.nan)
        out["prev_season_mean"] = np.where(
            r_season > r_last, (cum[r_season] - cum[r_last]) / (r_season - r_last), np.nan
        )
        out["career_mean"] = np.where(r > r_first, (cum[r] - cum[r_first]) / (r - r_first), np.nan)
    prev = np.maximum(r - 1, 0)
    has_prev = r > r_first
    prev_day = st.p_game["gameday"][prev].astype(np.float64)
    out["days_since"] = np.where(has_prev & (prev_day >= 0), gameday - prev_day, np.nan)
    out["team_change"] = np.where(has_prev, (st.p_team[prev] != tidx).astype(np.float64), np.nan)
    out["spread"] = spread.astype(np.float64)
    out["implied_x_fp_share"] = implied * out["fp_share"]
    out["pos"] = pos.astype(np.float64)
    return out


def stack_features(base: dict[str, np.ndarray], extra: dict[str, np.ndarray]) -> np.ndarray:
    cols = [base[name] for name in BASE_FEATURES] + [extra[name] for name in EXTRA_FEATURES]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])


def _context_extras(
    st: FeatureStore, season: np.ndarray, week: np.ndarray, tidx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(gameday in days since 1970, the team's spread) of each target's scheduled game (nan when none)."""
    epoch = dt.date(1970, 1, 1)
    days = np.full(len(season), np.nan)
    spread = np.full(len(season), np.nan)
    for i, (s, w, t) in enumerate(zip(season.tolist(), week.tolist(), tidx.tolist(), strict=True)):
        ctx = st.contexts.get((s, w, st.teams[t]))
        if ctx is not None:
            spread[i] = ctx.spread
            if ctx.gameday is not None:
                days[i] = (ctx.gameday - epoch).days
    return days, spread


def frame_features(ds: Dataset, st: FeatureStore, frame: pl.DataFrame) -> np.ndarray:
    """Model features (columns in :data:`FEATURE_NAMES` order) of rows of :func:`features.player_game_features`."""
    hist = history_state(ds, st)
    pidx, tidx = frame["pidx"].to_numpy(), frame["tidx"].to_numpy()
    season, week = frame["season"].to_numpy(), frame["week"].to_numpy()
    days, spread = _context_extras(st, season, week, tidx)
    base = {name: frame[name].to_numpy() for name in BASE_FEATURES}
    extra = extra_features(st, hist, pidx, tidx, season, week, days, spread, base["implied"], frame["pos"].to_numpy())
    return stack_features(base, extra)


def training_frame(ds: Dataset, scoring: str = "ppr") -> tuple[pl.DataFrame, np.ndarray]:
    """Every QB/RB/WR/TE player-game with its features: (rows of player_game_features, feature matrix). Cached."""
    st = store(ds, check_scoring(scoring))
    found = st.extras.get(_FRAME_CACHE)
    if found is None:
        frame = player_game_features(st)
        found = st.extras.setdefault(_FRAME_CACHE, (frame, frame_features(ds, st, frame)))
    return found


def eligible_mask(frame: pl.DataFrame) -> np.ndarray:
    """The backtest's rows: regular season, 4+ earlier games, 5+ PPR points a game over the last 8."""
    return (
        (frame["game_type"] == "REG") & (frame["n_prev"] >= MIN_EARLIER_GAMES) & (frame["mean8_ppr"] >= MIN_RECENT_PPR)
    ).to_numpy()
