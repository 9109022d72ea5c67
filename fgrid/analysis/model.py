"""The learned model of the ``ai`` queue: the 10th, 50th and 90th percentiles of a player's fantasy points in a game.

Inputs are pre-kickoff features of every player-game: the engine's factors from :mod:`fgrid.analysis.features`
(usage shares and their trend, the opponent's schedule-adjusted points allowed to the position, Vegas implied team
total, home, roof, wind, temperature, rest, availability) plus the team's spread, the position, and a richer
points history computed here (weighted averages at several decays, medians and quantiles of the last 8-32 games,
season-to-date, last-season and career means, their spread), share histories (last game, longer-run), per-game volumes,
the player's share of his team's fantasy points and it times the implied total, and availability (days since his
last game, a team change). Every feature of a game uses strictly earlier games and the game's own pre-game
columns, so training and evaluation rows are what one would have known before kickoff.

Choice of learner: LightGBM, not scikit-learn's HistGradientBoostingRegressor. Both fit quantile losses, but
LightGBM also gives exact per-prediction SHAP contributions (``pred_contrib=True``), which the explanation needs;
its single-row predict costs well under a millisecond; and a booster is saved as LightGBM's own text format, which
does not depend on pickling library internals.

The projection (median):

- three LightGBM models with the L1 loss (the 0.5-quantile: what mean absolute error rewards), bagged with
  different seeds, trained on every player-game with at least one earlier game (also the many players below
  the backtest's 5-point filter: more rows help the trees, evaluation stays on the filtered rows), averaged;
- averaged with equal weight with a linear median regression of log(points + 3) on the engine's terms, refit on
  the same seasons (:func:`fgrid.analysis.backtest.fit_engine`). On the 2019-2020 -> 2021 and 2019-2021 -> 2022
  validations the trees alone were about 0.946 x the baseline's mean absolute error, the linear model 0.950, their
  average 0.942: the two models' errors are only partly correlated, and the trees' variance is most of what is
  left. (Trained on 2019-2022 and checked once on 2023 weeks 5-18: 0.948, the engine 0.952, coverage 0.81.)

The 80% interval: LightGBM quantile-loss models at 0.1 and 0.9, whose distances below and above the median are
then scaled, each side on its own, so that exactly 10% of a held-out season's scores fall below the low end and
10% above the high end (quantile models fit on past seasons are too narrow on a new one). The held-out season is
the last of the training seasons: models are fit on the others, scored on it (those figures are the model's
``metrics``), the scales fitted there, and then every model is refit on all the seasons.

Grades (A+ to F) come from the projection's percentile among every player at the position with a game that week
who qualifies (4+ earlier games, 5+ PPR points a game over his last 8): see :data:`GRADE_BANDS`.

Files (one folder, ``models_dir``): ``<id>.estimators`` (the estimators: gzipped JSON, never pickle; never sent over
the broker), ``<id>.json`` (the manifest: seasons, features, scoring, metrics, data fingerprint, created_at, the
estimator file's size and SHA-256), and ``latest`` (the id of the newest model). Each is written to a temporary
file in the folder and moved into place with ``os.replace``, in that order, so a training run killed at any point
leaves either no model or a complete one; a model whose manifest is missing, unreadable or does not match its
estimator file is never loaded.

Units: points are fantasy points per game in the model's scoring (``ppr``, ``half`` or ``standard``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import itertools
import json
import math
import os
import re
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fgrid.analysis import features as F
from fgrid.errors import DataFormatError, InputError, NoDataError

if TYPE_CHECKING:
    from fgrid.analysis.data import Dataset
    from fgrid.analysis.matchup import MatchupRequest

#: Version of the model files; a model saved with another is listed but not loaded.
MODEL_FORMAT = 2
#: File names in ``models_dir``.
LATEST_FILE = "latest"
MANIFEST_SUFFIX = ".json"
ESTIMATOR_SUFFIX = ".estimators"
_TMP_PREFIX = ".tmp-"
_ID_PATTERN = re.compile(r"^[0-9]{8}T[0-9]{9}Z-(ppr|half|standard)-[0-9a-f]{8}$")

#: Threads LightGBM may use (the machines it trains on are small and shared).
N_THREADS = 2
#: Seeds of the bagged median models.
SEEDS = (0, 1, 2)
#: The median models: L1 loss, small trees, row and feature bagging (chosen on 2019-2021 -> 2022).
MEDIAN_PARAMS: dict[str, Any] = {
    "objective": "l1", "learning_rate": 0.045, "num_leaves": 15, "min_data_in_leaf": 50, "feature_fraction": 0.7,
    "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1,
}
MEDIAN_ROUNDS = 400
#: The quantile models of the interval's ends (before calibration).
QUANTILE_PARAMS: dict[str, Any] = {
    "objective": "quantile", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 100,
    "feature_fraction": 0.7, "bagging_fraction": 0.8, "bagging_freq": 1, "verbose": -1,
}
QUANTILE_ROUNDS = 300
#: The interval's quantiles (an 80% interval).
INTERVAL = (0.10, 0.90)
#: Weight of the linear median regression in the projection (the trees get the rest).
LINEAR_WEIGHT = 0.5
#: An interval side is never narrower than this many points before scaling.
MIN_HALF_WIDTH = 0.5
#: Validation (and the backtest's usual check) scores weeks from this one on: earlier weeks lean on last season.
VALIDATION_MIN_WEEK = 5
#: Models kept loaded per process.
MAX_LOADED = 4
#: Explanations list this many factors.
TOP_FACTORS = 5

#: Letter grades by the projection's percentile (0-100) among the position's qualifying players that week: the
#: first band whose lower bound the percentile reaches. In a 12-team league the top ~10% at a position are weekly
#: stars (A range), the next ~30% solid starters (B range), the middle 30% flex/matchup plays (C range).
GRADE_BANDS: tuple[tuple[float, str], ...] = (
    (95.0, "A+"), (88.0, "A"), (80.0, "A-"), (72.0, "B+"), (64.0, "B"), (56.0, "B-"),
    (46.0, "C+"), (36.0, "C"), (26.0, "C-"), (16.0, "D+"), (8.0, "D"), (0.0, "F"),
)

# ---------------------------------------------------------------------------------------------------------------
# Features

#: Features of :mod:`fgrid.analysis.features` the model uses (all of them, the engine's factors).
BASE_FEATURES: tuple[str, ...] = tuple(F.FEATURES)
#: Features computed here from each player's earlier games (see :func:`_history_state`) and from the game.
EXTRA_FEATURES: tuple[str, ...] = (
    "pts_ewm50", "pts_ewm70", "pts_ewm95", "pts_mean3", "pts_last1", "pts_med8", "pts_med16", "pts_q25", "pts_q75",
    "pts_q90_32", "pts_q10_32", "pts_med32", "pts_std16", "pts_max8",
    "tgt_sh_last", "car_sh_last", "ay_sh_last", "tgt_sh_long", "car_sh_long", "ay_sh_long",
    "fp_share", "fp_share_long", "fp_share_last", "tds_ewm", "yds_ewm", "rec_ewm", "pyds_ewm", "ptd_ewm", "int_ewm",
    "rush_yds_ewm", "targets_ewm", "carries_ewm", "air_yards_ewm", "attempts_ewm",
    "season_mean", "prev_season_mean", "career_mean", "days_since", "team_change", "spread", "implied_x_fp_share",
    "pos",
)
FEATURE_NAMES: tuple[str, ...] = BASE_FEATURES + EXTRA_FEATURES

#: Features by readable factor (an explanation sums each factor's contributions).
FACTORS: dict[str, tuple[str, ...]] = {
    "recent form": ("ewm_pts", "pts_ewm50", "pts_ewm70", "pts_mean3", "pts_last1", "pts_med8", "mean8_ppr"),
    "longer-run scoring level": (
        "ewm_long", "pts_ewm95", "pts_med16", "pts_med32", "season_mean", "prev_season_mean", "career_mean",
    ),
    "scoring range (floor and ceiling)": ("pts_q25", "pts_q75", "pts_q90_32", "pts_q10_32", "pts_std16", "pts_max8"),
    "target share": (
        "tgt_share", "tgt_share_recent", "tgt_sh_last", "tgt_sh_long", "exp_tgt", "targets_ewm", "rec_ewm",
    ),
    "rushing share": (
        "car_share", "car_share_recent", "car_sh_last", "car_sh_long", "exp_car", "carries_ewm", "rush_yds_ewm",
    ),
    "air-yards share": ("ay_share", "ay_share_recent", "ay_sh_last", "ay_sh_long", "exp_ay", "air_yards_ewm"),
    "passing volume and efficiency": ("att_share", "exp_att", "attempts_ewm", "pyds_ewm", "ptd_ewm", "int_ewm"),
    "usage trend": ("tgt_trend", "car_trend"),
    "share of team scoring": ("pts_share", "fp_share", "fp_share_long", "fp_share_last"),
    "Vegas implied team total": ("implied", "implied_rel", "vegas_pts", "implied_x_fp_share"),
    "point spread": ("spread",),
    "team offence volume": ("team_tgt", "team_car", "team_ay", "team_att", "team_pts"),
    "opponent vs position": ("def_ratio", "def_games"),
    "availability": (
        "missed_season", "missed_streak", "weeks_since", "days_since", "season_games", "team_season_games",
        "team_change",
    ),
    "experience (games played)": ("n_prev",),
    "touchdowns and yardage": ("tds_ewm", "yds_ewm"),
    "home or away": ("home",),
    "roof": ("indoor",),
    "weather": ("temp", "wind"),
    "rest days": ("rest",),
    "position": ("pos",),
}
#: The readable factor of every feature.
FACTOR_OF: dict[str, str] = {name: factor for factor, names in FACTORS.items() for name in names}
#: The linear model's terms (:data:`fgrid.analysis.matchup.TERMS`) as factors.
TERM_FACTOR: dict[str, str] = {
    "recent": "recent form", "long_run": "longer-run scoring level", "usage": "target share",
    "team_share": "Vegas implied team total", "implied": "Vegas implied team total", "missed_last": "availability",
    "missed_season": "availability", "trend": "usage trend", "defence": "opponent vs position", "home": "home or away",
    "indoor": "roof", "wind": "weather", "cold": "weather", "short_rest": "rest days", "long_rest": "rest days",
}

_TOKENS = itertools.count(1)
_HISTORY_CACHE = "model.history"
_FRAME_CACHE = "model.frame"
_SLATE_CACHE = "model.slate"


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


def _game_stats(st: F.FeatureStore, stats: pl.DataFrame) -> dict[str, np.ndarray]:
    """Each store row's own game: box-score columns and team-game totals (nan on the sentinel rows)."""
    cols = ("targets", "carries", "receiving_air_yards", "receptions", "attempts", "passing_yards", "passing_tds",
            "interceptions", "rushing_yards", "receiving_yards", "rushing_tds", "receiving_tds")
    present = set(stats.columns)
    frame = stats.with_columns(pl.Series("pts", F.points(stats, st.scoring))).filter(
        pl.col("player_id").is_not_null() & pl.col("team").is_not_null() & pl.col("season").is_not_null()
    ).select(
        "player_id", "team", "season", "week", "pts",
        *[(pl.col(c) if c in present else pl.lit(0.0)).cast(pl.Float64).fill_null(0.0).alias(c) for c in cols],
    )
    frame = frame.with_columns(
        team_pts=pl.col("pts").sum().over("season", "week", "team"),
        team_tgt=pl.col("targets").sum().over("season", "week", "team"),
        team_car=pl.col("carries").sum().over("season", "week", "team"),
        team_ay=pl.col("receiving_air_yards").sum().over("season", "week", "team"),
    )
    pidx = np.array([st.player_index.get(p, -1) for p in frame["player_id"].to_list()], dtype=np.int64)
    key = frame["season"].to_numpy() * F.KEY_SEASON + frame["week"].to_numpy()
    ok = pidx >= 0
    rows = np.searchsorted(st.p_comb, pidx[ok] * F.BLOCK + key[ok])
    n = len(st.p_key)
    out = {}
    for c in (*cols, "team_pts", "team_tgt", "team_car", "team_ay"):
        a = np.full(n, np.nan)
        a[rows] = frame[c].to_numpy()[ok]
        out[c] = a
    return out


def _history_state(ds: Dataset, st: F.FeatureStore) -> dict[str, np.ndarray]:
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
    for name, num, den in (("tgt", "targets", "team_tgt"), ("car", "carries", "team_car"),
                           ("ay", "receiving_air_yards", "team_ay"), ("fp", "pts_game", "team_pts")):
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
        ("tds_ewm", g["rushing_tds"] + g["receiving_tds"]), ("yds_ewm", g["rushing_yards"] + g["receiving_yards"]),
        ("rec_ewm", g["receptions"]), ("pyds_ewm", g["passing_yards"]), ("ptd_ewm", g["passing_tds"]),
        ("int_ewm", g["interceptions"]), ("rush_yds_ewm", g["rushing_yards"]),
    ):
        out[name] = _weighted(_lag_matrix(x, start, 16), 0.85)
    for name, col in (("targets_ewm", "targets"), ("carries_ewm", "carries"), ("air_yards_ewm", "receiving_air_yards"),
                      ("attempts_ewm", "attempts")):
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


def _extra_features(
    st: F.FeatureStore, hist: dict[str, np.ndarray], pidx: np.ndarray, tidx: np.ndarray, season: np.ndarray,
    week: np.ndarray, gameday: np.ndarray, spread: np.ndarray, implied: np.ndarray, pos: np.ndarray,
) -> dict[str, np.ndarray]:
    """The model's own features of targets (arrays, one element per target; ``gameday`` in days, nan unknown)."""
    base = pidx * F.BLOCK
    r = np.searchsorted(st.p_comb, base + season * F.KEY_SEASON + week)
    r_season = np.searchsorted(st.p_comb, base + season * F.KEY_SEASON)
    r_last = np.searchsorted(st.p_comb, base + (season - 1) * F.KEY_SEASON)
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


def _matrix(base: dict[str, np.ndarray], extra: dict[str, np.ndarray]) -> np.ndarray:
    cols = [base[name] for name in BASE_FEATURES] + [extra[name] for name in EXTRA_FEATURES]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])


def _context_extras(
    st: F.FeatureStore, season: np.ndarray, week: np.ndarray, tidx: np.ndarray
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


def frame_features(ds: Dataset, st: F.FeatureStore, frame: pl.DataFrame) -> np.ndarray:
    """Model features (columns in :data:`FEATURE_NAMES` order) of rows of :func:`features.player_game_features`."""
    hist = _history_state(ds, st)
    pidx, tidx = frame["pidx"].to_numpy(), frame["tidx"].to_numpy()
    season, week = frame["season"].to_numpy(), frame["week"].to_numpy()
    days, spread = _context_extras(st, season, week, tidx)
    base = {name: frame[name].to_numpy() for name in BASE_FEATURES}
    extra = _extra_features(st, hist, pidx, tidx, season, week, days, spread, base["implied"], frame["pos"].to_numpy())
    return _matrix(base, extra)


def training_frame(ds: Dataset, scoring: str = "ppr") -> tuple[pl.DataFrame, np.ndarray]:
    """Every QB/RB/WR/TE player-game with its features: (rows of player_game_features, feature matrix). Cached."""
    st = F.store(ds, _check_scoring(scoring))
    found = st.extras.get(_FRAME_CACHE)
    if found is None:
        frame = F.player_game_features(st)
        found = st.extras.setdefault(_FRAME_CACHE, (frame, frame_features(ds, st, frame)))
    return found


def _eligible_mask(frame: pl.DataFrame) -> np.ndarray:
    """The backtest's rows: regular season, 4+ earlier games, 5+ PPR points a game over the last 8."""
    return (
        (frame["game_type"] == "REG")
        & (frame["n_prev"] >= F.MIN_EARLIER_GAMES)
        & (frame["mean8_ppr"] >= F.MIN_RECENT_PPR)
    ).to_numpy()


# ---------------------------------------------------------------------------------------------------------------
# The model


@dataclass
class TrainedModel:
    """A fitted model: estimators, the linear part's constants, interval scales and what it was trained on."""

    scoring: str
    seasons: list[int]
    feature_names: list[str]
    median: list[Any]  # lightgbm.Booster, L1 loss, one per seed
    low: Any  # lightgbm.Booster, quantile INTERVAL[0]
    high: Any  # lightgbm.Booster, quantile INTERVAL[1]
    linear: dict[str, dict[str, Any]]  # the engine's constants refit on ``seasons`` (backtest.fit_engine)
    scale_low: float  # the interval's calibration: low = median - scale_low * (median - q10)
    scale_high: float
    metrics: dict[str, Any]
    fingerprint: dict[str, str]
    created_at: str
    linear_weight: float = LINEAR_WEIGHT
    params: dict[str, Any] = field(default_factory=dict)
    model_id: str | None = None
    #: Mean of each linear term over the training rows (the reference of the linear part's contributions).
    linear_ref: dict[str, list[float]] = field(default_factory=dict)
    #: A process-unique token (slate caches key on it; a copy made with ``dataclasses.replace`` gets a new one).
    token: int = field(default_factory=lambda: next(_TOKENS), init=False, repr=False, compare=False)
    #: Per position, the projections of a typical week's qualifying players (percentiles 0, 1, ..., 100 of the
    #: projections of the last training season's qualifying rows): the pool of a week with no scheduled games.
    reference: dict[str, list[float]] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        """The JSON-ready description saved next to the estimators (everything but the estimators)."""
        return {
            "format": MODEL_FORMAT,
            "model_id": self.model_id,
            "scoring": self.scoring,
            "seasons": list(self.seasons),
            "feature_names": list(self.feature_names),
            "metrics": self.metrics,
            "fingerprint": self.fingerprint,
            "created_at": self.created_at,
            "interval": list(INTERVAL),
            "scale_low": self.scale_low,
            "scale_high": self.scale_high,
            "linear_weight": self.linear_weight,
            "params": self.params,
        }


def _check_scoring(scoring: str) -> str:
    value = str(scoring).strip().lower()
    if value not in ("ppr", "half", "standard"):
        raise InputError(f"unknown scoring '{scoring}'; use one of: ppr, half, standard")
    return value


def _engine(model: TrainedModel) -> Any:
    from fgrid.analysis import matchup

    eng = model.__dict__.get("_engine")
    if eng is None:
        eng = matchup.engine(model.scoring, {model.scoring: model.linear})
        model.__dict__["_engine"] = eng
    return eng


def _fit_boosters(
    x: np.ndarray, y: np.ndarray, progress: Callable[[float], None] | None = None
) -> tuple[list[Any], Any, Any]:
    import lightgbm as lgb

    pos_col = FEATURE_NAMES.index("pos")
    data = lgb.Dataset(x, y, feature_name=list(FEATURE_NAMES), categorical_feature=[pos_col], free_raw_data=False)
    steps = len(SEEDS) + 2
    median = []
    for i, seed in enumerate(SEEDS):
        params = {**MEDIAN_PARAMS, "seed": seed, "num_threads": N_THREADS}
        median.append(lgb.train(params, data, num_boost_round=MEDIAN_ROUNDS))
        if progress:
            progress((i + 1) / steps)
    ends = []
    for j, alpha in enumerate(INTERVAL):
        params = {**QUANTILE_PARAMS, "alpha": alpha, "seed": 0, "num_threads": N_THREADS}
        ends.append(lgb.train(params, data, num_boost_round=QUANTILE_ROUNDS))
        if progress:
            progress((len(SEEDS) + j + 1) / steps)
    return median, ends[0], ends[1]


def _linear_points(model: TrainedModel, feats: dict[str, np.ndarray], pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(points, log-space design) of the linear part for feature arrays of :func:`features.compute`."""
    from fgrid.analysis import matchup

    out = matchup.project(_engine(model), feats, pos)
    return out["points"], out["x"]


def _raw_predict(
    model: TrainedModel, x: np.ndarray, feats: dict[str, np.ndarray], pos: np.ndarray
) -> dict[str, np.ndarray]:
    """Projection (median) and uncalibrated quantile ends for a feature matrix ``x`` and its base features."""
    trees = np.mean([b.predict(x, num_threads=1) for b in model.median], axis=0)
    linear, _ = _linear_points(model, feats, pos)
    w = model.linear_weight
    median = np.maximum((1.0 - w) * trees + w * linear, 0.0)
    # The quantile models' distances from the trees' median become the interval around the blended median.
    q_lo = model.low.predict(x, num_threads=1)
    q_hi = model.high.predict(x, num_threads=1)
    debut = feats["n_prev"] == 0
    eng = _engine(model)
    median = np.where(debut, eng.debut[pos, 0], median)
    return {"median": median, "trees": trees, "q_lo": np.where(debut, eng.debut[pos, 1], q_lo),
            "q_hi": np.where(debut, eng.debut[pos, 2], q_hi), "debut": debut}


def _half_widths(raw: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    centre = np.where(raw["debut"], raw["median"], raw["trees"])
    lo = np.maximum(centre - raw["q_lo"], MIN_HALF_WIDTH)
    hi = np.maximum(raw["q_hi"] - centre, MIN_HALF_WIDTH)
    return lo, hi


def _interval(model: TrainedModel, raw: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = _half_widths(raw)
    low = np.maximum(raw["median"] - model.scale_low * lo, 0.0)
    high = raw["median"] + model.scale_high * hi
    return low, high


def predict_rows(
    model: TrainedModel, ds: Dataset, frame: pl.DataFrame, x: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Projection and 80% interval (points, arrays) of rows of :func:`features.player_game_features`."""
    st = F.store(ds, model.scoring)
    if x is None:
        x = frame_features(ds, st, frame)
    feats = {name: frame[name].to_numpy() for name in BASE_FEATURES}
    raw = _raw_predict(model, x, feats, frame["pos"].to_numpy())
    low, high = _interval(model, raw)
    return {"projected": raw["median"], "low": low, "high": high}


def _metrics(frame: pl.DataFrame, pred: dict[str, np.ndarray]) -> dict[str, Any]:
    """MAE per position (and ALL) against the naive baseline, their ratio, and interval coverage."""
    actual = frame["actual"].to_numpy()
    base = frame["ewm_pts"].to_numpy()
    pos = frame["position"].to_numpy()
    out: dict[str, Any] = {}
    for group in (*F.POSITIONS, "ALL"):
        m = np.ones(len(actual), dtype=bool) if group == "ALL" else pos == group
        if not m.any():
            out[group] = {"rows": 0, "mae": None, "baseline_mae": None, "ratio": None, "coverage": None}
            continue
        mae = float(np.abs(actual[m] - pred["projected"][m]).mean())
        bmae = float(np.abs(actual[m] - base[m]).mean())
        cov = float(((actual[m] >= pred["low"][m]) & (actual[m] <= pred["high"][m])).mean())
        out[group] = {"rows": int(m.sum()), "mae": round(mae, 4), "baseline_mae": round(bmae, 4),
                      "ratio": round(mae / bmae, 4) if bmae > 0 else None, "coverage": round(cov, 4)}
    return out


def _fingerprint(ds: Dataset, frame: pl.DataFrame, seasons: Sequence[int]) -> dict[str, str]:
    """The data a model was trained on: the dataset version and a hash of the training rows' ids and points."""
    rows = frame.filter(pl.col("season").is_in(list(seasons))).select("player_id", "game_id", "actual")
    digest = hashlib.sha256()
    for col in rows.columns:
        digest.update(rows[col].cast(pl.Utf8).fill_null("").str.join("\x1f").item().encode())
    return {"version": str(ds.version), "sha256": digest.hexdigest()[:16]}


def _fit(ds: Dataset, scoring: str, seasons: list[int], frame: pl.DataFrame, x: np.ndarray,
         progress: Callable[[float], None] | None = None) -> TrainedModel:
    from fgrid.analysis import backtest, matchup

    m = (frame["season"].is_in(seasons) & (frame["n_prev"] >= 1)).to_numpy()
    if not m.any():
        raise NoDataError(f"no games to train on in season(s) {', '.join(map(str, seasons))}")
    median, low, high = _fit_boosters(x[m], frame["actual"].to_numpy()[m], progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear = backtest.fit_engine(ds, seasons=tuple(seasons), scoring=scoring)
    model = TrainedModel(
        scoring=scoring, seasons=list(seasons), feature_names=list(FEATURE_NAMES), median=median, low=low, high=high,
        linear=linear, scale_low=1.0, scale_high=1.0, metrics={}, fingerprint={}, created_at="",
    )
    rows = frame.filter(pl.Series(m))
    eng = _engine(model)
    design = matchup.design({n: rows[n].to_numpy() for n in BASE_FEATURES}, rows["pos"].to_numpy(), eng.usage_w)
    pos = rows["pos"].to_numpy()
    model.linear_ref = {
        p: design[pos == i].mean(axis=0).tolist() if (pos == i).any() else [0.0] * design.shape[1]
        for i, p in enumerate(F.POSITIONS)
    }
    return model


def train(
    ds: Dataset,
    seasons: Sequence[int],
    scoring: str = "ppr",
    progress: Callable[[str, float], None] | None = None,
) -> TrainedModel:
    """Train the model on the games of ``seasons`` (REG and POST) in ``scoring``; ``progress(stage, percent)``.

    With two or more seasons the last one is held out first: models fit on the others are scored on its regular
    season from week :data:`VALIDATION_MIN_WEEK` (the backtest's rows: :attr:`TrainedModel.metrics`) and the
    interval's scales are fitted there; then everything is refit on all the seasons. With one season there is no
    validation (metrics say so) and the interval is the quantile models' own.
    """
    scoring = _check_scoring(scoring)
    seasons = sorted({int(s) for s in seasons})
    if not seasons:
        raise InputError("no training seasons given")
    st = F.store(ds, scoring)
    have = sorted(set(range(st.first_stats_season, st.last_stats_season + 1)))
    missing = [s for s in seasons if s not in have]
    if missing:
        raise InputError(f"no stats for season(s) {missing}; the data covers {have[0]}-{have[-1]}")

    def report(stage: str, pct: float) -> None:
        if progress is not None:
            progress(stage, round(float(pct), 1))

    started = time.perf_counter()
    report("features", 0.0)
    frame, x = training_frame(ds, scoring)
    report("features", 5.0)
    scale_low = scale_high = 1.0
    if len(seasons) >= 2:
        held, fit_on = seasons[-1], seasons[:-1]
        val_model = _fit(ds, scoring, fit_on, frame, x, lambda f: report("validation", 5.0 + 40.0 * f))
        v = ((frame["season"] == held) & (frame["week"] >= VALIDATION_MIN_WEEK)).to_numpy() & _eligible_mask(frame)
        vframe = frame.filter(pl.Series(v))
        feats = {name: vframe[name].to_numpy() for name in BASE_FEATURES}
        raw = _raw_predict(val_model, x[v], feats, vframe["pos"].to_numpy())
        lo, hi = _half_widths(raw)
        actual = vframe["actual"].to_numpy()
        # Each end on its own: 10% of held-out scores below the low end, 10% above the high end.
        scale_low = float(np.quantile((raw["median"] - actual) / lo, 1.0 - INTERVAL[0]))
        scale_high = float(np.quantile((actual - raw["median"]) / hi, INTERVAL[1]))
        val_model.scale_low, val_model.scale_high = scale_low, scale_high
        low, high = _interval(val_model, raw)
        metrics = {
            "validation": {"trained_on": fit_on, "season": held, "weeks": f"{VALIDATION_MIN_WEEK}+ (REG)",
                           "by_position": _metrics(vframe, {"projected": raw["median"], "low": low, "high": high})},
        }
    else:
        metrics = {"validation": None, "note": "one training season: no held-out season to validate or calibrate on"}
    report("fit", 50.0)
    model = _fit(ds, scoring, seasons, frame, x, lambda f: report("fit", 50.0 + 45.0 * f))
    model.scale_low, model.scale_high = scale_low, scale_high
    last = ((frame["season"] == seasons[-1]).to_numpy() & _eligible_mask(frame))
    if last.any():
        lframe = frame.filter(pl.Series(last))
        proj = predict_rows(model, ds, lframe, x[last])["projected"]
        lpos = lframe["position"].to_numpy()
        model.reference = {p: np.percentile(proj[lpos == p], np.arange(101)).round(3).tolist()
                           for p in F.POSITIONS if (lpos == p).any()}
    model.metrics = {**metrics, "train_seconds": round(time.perf_counter() - started, 1)}
    model.fingerprint = _fingerprint(ds, frame, seasons)
    model.created_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    model.params = {"median": MEDIAN_PARAMS, "median_rounds": MEDIAN_ROUNDS, "seeds": list(SEEDS),
                    "quantile": QUANTILE_PARAMS, "quantile_rounds": QUANTILE_ROUNDS}
    report("done", 100.0)
    return model


def backtest_predictor(model: TrainedModel) -> Callable[[Dataset, pl.DataFrame, str], dict[str, np.ndarray]]:
    """A :data:`fgrid.analysis.backtest.Predictor` scoring ``model`` on the backtest's rows."""

    def model_predictor(ds: Dataset, rows: pl.DataFrame, scoring: str) -> dict[str, np.ndarray]:
        if scoring != model.scoring:
            raise InputError(f"the model was trained for {model.scoring} scoring, not {scoring}")
        return predict_rows(model, ds, rows)

    return model_predictor


# ---------------------------------------------------------------------------------------------------------------
# Saving and loading


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, flush it to disk, then move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _new_id(model: TrainedModel) -> str:
    """``<UTC time to the millisecond>-<scoring>-<8 hex digits>``: ids sort by creation time."""
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    salt = hashlib.sha256(f"{time.time_ns()}-{os.getpid()}-{model.fingerprint}".encode()).hexdigest()[:8]
    return f"{stamp}-{model.scoring}-{salt}"


def save(model: TrainedModel, models_dir: Path | str) -> str:
    """Save ``model`` in ``models_dir`` and make it the latest; returns its id (``20250101T120000123Z-ppr-1a2b3c4d``).

    Order: the estimator file, then the manifest (with the estimator file's SHA-256), then ``latest``, each
    written to a temporary file and moved into place, so an interrupted save never leaves a loadable half model.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    model_id = _new_id(model)
    payload = {
        "format": MODEL_FORMAT,
        "median": [b.model_to_string() for b in model.median],
        "low": model.low.model_to_string(),
        "high": model.high.model_to_string(),
        "linear": model.linear,
        "linear_ref": model.linear_ref,
        "reference": model.reference,
    }
    # Gzipped JSON (LightGBM's own text format inside): loading a model never unpickles anything.
    blob = gzip.compress(json.dumps(payload, default=_plain).encode(), compresslevel=6, mtime=0)
    estimator = models_dir / (model_id + ESTIMATOR_SUFFIX)
    _write_atomic(estimator, blob)
    model.model_id = model_id
    manifest = {**model.manifest(), "estimator_file": estimator.name, "estimator_bytes": len(blob),
                "estimator_sha256": hashlib.sha256(blob).hexdigest(), "complete": True}
    _write_atomic(models_dir / (model_id + MANIFEST_SUFFIX), json.dumps(manifest, indent=2).encode())
    _write_atomic(models_dir / LATEST_FILE, (model_id + "\n").encode())
    return model_id


def _read_manifest(models_dir: Path, model_id: str) -> dict[str, Any] | None:
    """The manifest of ``model_id`` if it is complete and its estimator file matches it in size, else None."""
    if not _ID_PATTERN.match(model_id):
        return None
    try:
        manifest = json.loads((models_dir / (model_id + MANIFEST_SUFFIX)).read_text(encoding="utf-8"))
        estimator = models_dir / (model_id + ESTIMATOR_SUFFIX)
        size = estimator.stat().st_size
    except (OSError, ValueError):
        return None
    required = ("format", "model_id", "scoring", "seasons", "feature_names", "metrics", "fingerprint", "created_at",
                "estimator_file", "estimator_bytes", "estimator_sha256", "complete")
    if not isinstance(manifest, dict) or any(k not in manifest for k in required) or manifest["complete"] is not True:
        return None
    if manifest["model_id"] != model_id or manifest["estimator_bytes"] != size:
        return None
    return manifest


def list_models(models_dir: Path | str) -> list[dict[str, Any]]:
    """Every complete model in ``models_dir``, newest first: id, created_at, scoring, seasons, metrics, latest."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    latest = _latest_id(models_dir)
    out = []
    for path in models_dir.glob("*" + MANIFEST_SUFFIX):
        manifest = _read_manifest(models_dir, path.name[: -len(MANIFEST_SUFFIX)])
        if manifest is None:
            continue
        out.append({
            "model_id": manifest["model_id"], "created_at": manifest["created_at"], "scoring": manifest["scoring"],
            "seasons": manifest["seasons"], "metrics": manifest["metrics"], "fingerprint": manifest["fingerprint"],
            "loadable": manifest["format"] == MODEL_FORMAT and manifest["feature_names"] == list(FEATURE_NAMES),
            "latest": manifest["model_id"] == latest,
        })
    out.sort(key=lambda m: m["model_id"], reverse=True)
    return out


def _latest_id(models_dir: Path) -> str | None:
    try:
        text = (models_dir / LATEST_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if _read_manifest(models_dir, text) is not None else None


_LOADED: dict[tuple[str, str], TrainedModel] = {}
_LATEST_SEEN: dict[str, tuple[tuple[int, int, int], str]] = {}
_LOAD_LOCK = threading.Lock()


def _no_model(models_dir: Path) -> NoDataError:
    return NoDataError(f"no trained model in {models_dir}; run `fgrid train`")


def _plain(value: Any) -> Any:
    """JSON for the numpy scalars and arrays in a model's constants."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__} in a model file")


def _load_file(models_dir: Path, model_id: str) -> TrainedModel:
    import lightgbm as lgb

    manifest = _read_manifest(models_dir, model_id)
    if manifest is None:
        raise NoDataError(f"model {model_id} in {models_dir} is missing or incomplete; run `fgrid train`")
    if manifest["format"] != MODEL_FORMAT or manifest["feature_names"] != list(FEATURE_NAMES):
        raise NoDataError(f"model {model_id} was trained by another fgrid version; run `fgrid train` again")
    blob = (models_dir / manifest["estimator_file"]).read_bytes()
    if hashlib.sha256(blob).hexdigest() != manifest["estimator_sha256"]:
        raise DataFormatError(f"model {model_id} in {models_dir} is damaged (checksum mismatch); run `fgrid train`")
    try:
        payload = json.loads(gzip.decompress(blob))
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"model {model_id} in {models_dir} is damaged ({exc}); run `fgrid train`") from exc
    return TrainedModel(
        scoring=manifest["scoring"], seasons=list(manifest["seasons"]), feature_names=list(manifest["feature_names"]),
        median=[lgb.Booster(model_str=s) for s in payload["median"]],
        low=lgb.Booster(model_str=payload["low"]), high=lgb.Booster(model_str=payload["high"]),
        linear=payload["linear"], scale_low=float(manifest["scale_low"]), scale_high=float(manifest["scale_high"]),
        metrics=manifest["metrics"], fingerprint=manifest["fingerprint"], created_at=manifest["created_at"],
        linear_weight=float(manifest.get("linear_weight", LINEAR_WEIGHT)), params=manifest.get("params", {}),
        model_id=model_id, linear_ref=payload.get("linear_ref", {}), reference=payload.get("reference", {}),
    )


def load_model(models_dir: Path | str, model_id: str | None = None) -> TrainedModel:
    """The model ``model_id`` of ``models_dir`` (default: the latest), read once per process.

    The latest is re-resolved on every call with one ``stat`` of the ``latest`` pointer, so a newly saved model
    is picked up without a restart. Raises NoDataError when there is no complete model.
    """
    models_dir = Path(models_dir)
    key_dir = str(models_dir.resolve())
    if model_id is None:
        pointer = models_dir / LATEST_FILE
        try:
            st = pointer.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        with _LOAD_LOCK:
            seen = _LATEST_SEEN.get(key_dir)
        if stamp is not None and seen is not None and seen[0] == stamp:
            model_id = seen[1]
        else:
            model_id = _latest_id(models_dir) if stamp is not None else None
            if model_id is None:
                # No (valid) pointer: the newest complete model, if any.
                found = [m["model_id"] for m in list_models(models_dir) if m["loadable"]]
                if not found:
                    raise _no_model(models_dir)
                model_id = found[0]
            if stamp is not None:
                with _LOAD_LOCK:
                    _LATEST_SEEN[key_dir] = (stamp, model_id)
    elif not _ID_PATTERN.match(str(model_id)):
        raise InputError(f"'{model_id}' is not a model id (see `fgrid model list`)")
    with _LOAD_LOCK:
        cached = _LOADED.get((key_dir, model_id))
    if cached is not None:
        return cached
    model = _load_file(models_dir, model_id)
    with _LOAD_LOCK:
        while len(_LOADED) >= MAX_LOADED:
            del _LOADED[next(iter(_LOADED))]  # the oldest loaded (a long-lived worker sees many trainings)
        return _LOADED.setdefault((key_dir, model_id), model)


# ---------------------------------------------------------------------------------------------------------------
# Predicting


def _check_model_scoring(model: TrainedModel, scoring: str | None) -> str:
    if scoring is None:
        return model.scoring
    scoring = _check_scoring(scoring)
    if scoring != model.scoring:
        raise InputError(
            f"the model was trained for {model.scoring} scoring, not {scoring}; run `fgrid train --scoring {scoring}`"
        )
    return scoring


def _grade(percentile: float) -> str:
    for bound, letter in GRADE_BANDS:
        if percentile >= bound:
            return letter
    return GRADE_BANDS[-1][1]


def _qualifying(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.filter((pl.col("n_prev") >= F.MIN_EARLIER_GAMES) & (pl.col("mean8_ppr") >= F.MIN_RECENT_PPR))


def _slate_candidates(ds: Dataset, st: F.FeatureStore, season: int, week: int) -> pl.DataFrame | None:
    """Feature rows of every qualifying player with a game in (season, week); None if the week has no games.

    Teams whose game that week has stats: the players who played (the backtest's rows). Teams still to play:
    every player whose latest team is one of them and who played this season or the last, as of before the week.
    """
    key = F.game_key(season, week)
    played = None
    if key <= st.last_key:
        frame, _x = training_frame(ds, st.scoring)
        played = _qualifying(frame.filter((pl.col("season") == season) & (pl.col("week") == week)))
        if key < st.last_key:
            return played
    done = set(played["team"].unique().to_list()) if played is not None else set()
    upcoming = _upcoming(st, season, week, exclude=done)
    if played is None:
        return upcoming
    if upcoming is None:
        return played
    return pl.concat([played, upcoming.select(played.columns)], how="vertical_relaxed")


def _upcoming(st: F.FeatureStore, season: int, week: int, exclude: set[str]) -> pl.DataFrame | None:
    """Qualifying players of the teams (not in ``exclude``) with a scheduled game in (season, week), before it."""
    last_rows = np.r_[st.p_start[1:], len(st.p_key)] - 1  # each player's sentinel row
    pidx = np.arange(len(st.p_start))
    tidx = st.p_team[last_rows]
    pos = st.p_pos[last_rows]
    prev_key = st.p_state["prev_key"][last_rows]
    keep = (pos >= 0) & (prev_key // F.KEY_SEASON >= season - 1)
    ctxs = [
        st.contexts.get((season, week, st.teams[t])) if k and st.teams[t] not in exclude else None
        for t, k in zip(tidx.tolist(), keep.tolist(), strict=True)
    ]
    keep &= np.array([c is not None for c in ctxs], dtype=bool)
    pidx, tidx, pos = pidx[keep], tidx[keep], pos[keep]
    ctxs = [c for c in ctxs if c is not None]
    if not ctxs:
        return None
    oidx = np.array([st.team_index[c.opponent] for c in ctxs], dtype=np.int64)
    n = len(ctxs)
    feats = F.compute(st, pidx, tidx, oidx, np.full(n, season), np.full(n, week), pos, **F.context_arrays(ctxs))
    teams = np.array(st.teams, dtype=object)
    rows = pl.DataFrame({
        "player_id": np.array(st.player_ids, dtype=object)[pidx].tolist(),
        "name": np.array(st.player_names, dtype=object)[pidx].tolist(),
        "season": np.full(n, season), "week": np.full(n, week), "game_type": [c.game_type for c in ctxs],
        "position": np.array(F.POSITIONS, dtype=object)[pos].tolist(), "team": teams[tidx].tolist(),
        "opponent": teams[oidx].tolist(), "game_id": [c.game_id for c in ctxs],
        "actual": np.full(n, np.nan), "actual_ppr": np.full(n, np.nan),
        "pidx": pidx, "tidx": tidx, "oidx": oidx, "pos": pos, **feats,
    })
    return _qualifying(rows)


def _slate(model: TrainedModel, ds: Dataset, season: int, week: int) -> dict[str, Any]:
    """The week's qualifying players and their projections (cached per model, dataset and week)."""
    st = F.store(ds, model.scoring)
    cache = st.extras.setdefault(_SLATE_CACHE, {})
    key = (model.token, season, week)
    found = cache.get(key)
    if found is not None:
        return found
    rows = _slate_candidates(ds, st, season, week)
    if rows is not None and rows.height:
        pred = predict_rows(model, ds, rows)
        by_pos = {p: np.sort(pred["projected"][rows["position"].to_numpy() == p]) for p in F.POSITIONS}
    else:
        rows = None
        pred = {"projected": np.zeros(0), "low": np.zeros(0), "high": np.zeros(0)}
        # No game that week in the schedules: compare with a typical week (the model's reference projections).
        by_pos = {p: np.asarray(model.reference.get(p, []), dtype=np.float64) for p in F.POSITIONS}
    found = {"rows": rows, "pred": pred, "by_pos": by_pos, "reference": rows is None}
    if len(cache) > 64:
        cache.clear()
    cache[key] = found
    return found


def _percentile(sorted_proj: np.ndarray, points: float) -> tuple[float, int, int]:
    """(percentile 0-100 of ``points`` among ``sorted_proj``, its rank 1 = best, the pool size incl. itself)."""
    n = len(sorted_proj)
    if n == 0:
        return 50.0, 1, 1
    below = int(np.searchsorted(sorted_proj, points - 1e-6, side="left"))
    equal = int(np.searchsorted(sorted_proj, points + 1e-6, side="right")) - below
    contains = equal > 0
    pool = n if contains else n + 1
    others_below = below
    others_equal = max(equal - 1, 0) if contains else equal
    pct = 100.0 * (others_below + 0.5 * others_equal) / max(pool - 1, 1)
    rank = pool - others_below - others_equal
    return round(min(max(pct, 0.0), 100.0), 1), rank, pool


def _features_for_request(st: F.FeatureStore, req: MatchupRequest) -> tuple[dict[str, float], F.GameContext | None]:
    ctx = st.context(req.season, req.week, req.team) if req.game_id else None
    nan = float("nan")
    if ctx is not None:
        home, implied, indoor, temp, wind, rest = ctx.home, ctx.implied, ctx.indoor, ctx.temp, ctx.wind, ctx.rest
    else:
        home = 0 if req.home is None or req.neutral else (1 if req.home else -1)
        indoor = req.venue is not None and req.venue.roof == "dome"
        implied, temp, wind, rest = nan, nan, nan, nan
    feats = F.compute_one(
        st, st.player_index[req.player_id], st.team_index[req.team], st.team_index[req.opponent], req.season,
        req.week, F.POS_INDEX[req.position], home=float(home), implied=float(implied), indoor=bool(indoor),
        temp=float(temp), wind=float(wind), rest=float(rest),
    )
    return feats, ctx


def _explain(
    model: TrainedModel, x: np.ndarray, feats: dict[str, np.ndarray], pos: int, design: np.ndarray
) -> list[dict[str, Any]]:
    """Top factors with their signed contribution in points, weighted as in the projection.

    Trees: SHAP values (``pred_contrib``) of the first bagged median model (the bagged models differ only by
    their seed; one keeps a predict within its time budget). Linear part: each term's effect in points against
    the term's mean over the training rows.
    """
    from fgrid.analysis import matchup

    w = model.linear_weight
    contrib = model.median[0].predict(x, pred_contrib=True, num_threads=1)[0]
    totals: dict[str, float] = {}
    for name, value in zip(model.feature_names, contrib[:-1].tolist(), strict=True):
        factor = FACTOR_OF.get(name, name)
        totals[factor] = totals.get(factor, 0.0) + (1.0 - w) * value
    eng = _engine(model)
    ref = np.asarray(model.linear_ref.get(F.POSITIONS[pos], np.zeros(len(matchup.TERMS))))
    z = float(eng.intercept[pos] + (design * eng.coef[pos]).sum())
    for j, term in enumerate(matchup.TERMS):
        delta = float(eng.coef[pos, j] * (design[j] - ref[j]))
        effect = (math.exp(z) - math.exp(z - delta)) if delta else 0.0
        factor = TERM_FACTOR.get(term, term)
        totals[factor] = totals.get(factor, 0.0) + w * effect
    top = sorted(totals.items(), key=lambda kv: abs(kv[1]), reverse=True)[:TOP_FACTORS]
    values = {k: float(np.asarray(a).ravel()[0]) for k, a in feats.items()}
    return [{"factor": name, "points": round(value, 2), "detail": _detail(name, values)} for name, value in top]


def _fmt_pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.0f}%"  # noqa: PLR0124


def _fmt(x: float, digits: int = 1) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}"  # noqa: PLR0124


def _detail(factor: str, v: dict[str, float]) -> str:
    """The main value behind a factor, for a person (``v``: the target's feature values)."""
    details = {
        "recent form": lambda: f"weighted average {_fmt(v['ewm_pts'])} pts, last game {_fmt(v['pts_last1'])}",
        "longer-run scoring level": lambda: (
            f"long-run average {_fmt(v['ewm_long'])} pts, career {_fmt(v['career_mean'])}"
        ),
        "scoring range (floor and ceiling)": lambda: (
            f"middle half of the last 16 games {_fmt(v['pts_q25'])}-{_fmt(v['pts_q75'])} pts"
        ),
        "target share": lambda: f"{_fmt_pct(v['tgt_share'])} of team targets (last game {_fmt_pct(v['tgt_sh_last'])})",
        "rushing share": lambda: f"{_fmt_pct(v['car_share'])} of team carries (last game {_fmt_pct(v['car_sh_last'])})",
        "air-yards share": lambda: f"{_fmt_pct(v['ay_share'])} of team air yards",
        "passing volume and efficiency": lambda: (
            f"{_fmt_pct(v['att_share'])} of team pass attempts, {_fmt(v['pyds_ewm'], 0)} passing yards a game"
        ),
        "usage trend": lambda: (
            f"target trend {_fmt(v['tgt_trend'], 2)}, carry trend {_fmt(v['car_trend'], 2)} (log ratio, last 3 games)"
        ),
        "share of team scoring": lambda: f"{_fmt_pct(v['fp_share'])} of the team's fantasy points",
        "Vegas implied team total": lambda: f"implied team total {_fmt(v['implied'])} pts",
        "point spread": lambda: f"team spread {_fmt(v['spread'])} (> 0 favoured)",
        "team offence volume": lambda: (
            f"team {_fmt(v['team_tgt'], 0)} targets, {_fmt(v['team_car'], 0)} carries a game"
        ),
        "opponent vs position": lambda: f"opponent allows {_fmt(v['def_ratio'], 2)} x the usual points to the position",
        "availability": lambda: (
            f"{_fmt(v['missed_season'], 0)} team games missed this season, "
            f"{_fmt(v['days_since'], 0)} days since his last game"
        ),
        "experience (games played)": lambda: f"{_fmt(v['n_prev'], 0)} earlier games in the data",
        "touchdowns and yardage": lambda: f"{_fmt(v['tds_ewm'], 2)} TDs and {_fmt(v['yds_ewm'], 0)} yards a game",
        "home or away": lambda: {1.0: "home", -1.0: "away", 0.0: "neutral site"}.get(v["home"], "unknown"),
        "roof": lambda: "indoors" if v["indoor"] > 0 else "outdoors",
        "weather": lambda: f"{_fmt(v['temp'], 0)} F, wind {_fmt(v['wind'], 0)} mph",
        "rest days": lambda: f"{_fmt(v['rest'], 0)} days of rest",
        "position": lambda: F.POSITIONS[int(v["pos"])],
    }
    make = details.get(factor)
    try:
        return make() if make else ""
    except (KeyError, IndexError, ValueError):
        return ""


def _predict_request(model: TrainedModel, ds: Dataset, req: MatchupRequest, explain: bool = True) -> dict[str, Any]:
    from fgrid.analysis import matchup

    st = F.store(ds, model.scoring)
    f, ctx = _features_for_request(st, req)
    pos = F.POS_INDEX[req.position]
    base = {name: np.array([f[name]], dtype=np.float64) for name in BASE_FEATURES}
    pidx = np.array([st.player_index[req.player_id]])
    tidx = np.array([st.team_index[req.team]])
    gameday = np.array([float((req.gameday - dt.date(1970, 1, 1)).days) if req.gameday else np.nan])
    spread = np.array([ctx.spread if ctx is not None else np.nan])
    extra = _extra_features(st, _history_state(ds, st), pidx, tidx, np.array([req.season]), np.array([req.week]),
                            gameday, spread, base["implied"], np.array([pos]))
    x = _matrix(base, extra)
    posa = np.array([pos])
    raw = _raw_predict(model, x, base, posa)
    low, high = _interval(model, raw)
    points = float(raw["median"][0])
    slate = _slate(model, ds, req.season, req.week)
    pool = slate["by_pos"][req.position]
    # If he is in the week's pool, the pool holds this same projection of him: he is compared with the others.
    pct, rank, size = _percentile(pool, points)
    ranking: dict[str, Any] = {"rank": rank, "of": size, "position": req.position}
    if slate["reference"]:
        ranking = {"rank": None, "of": None, "position": req.position, "note": "no scheduled games that week"}
    out = {
        "player": {"id": req.player_id, "name": req.player_name, "position": req.position, "team": req.team},
        "opponent": {"code": req.opponent},
        "game": {"season": req.season, "week": req.week, "home": req.home, "neutral": req.neutral,
                 "game_id": req.game_id, "kickoff": req.gameday.isoformat() if req.gameday else None},
        "projection": {"points": round(points, 2), "low": round(float(low[0]), 2), "high": round(float(high[0]), 2)},
        "grade": _grade(pct),
        "percentile": pct,
        "rank": ranking,
        "scoring": model.scoring,
        "model_id": model.model_id,
    }
    if explain:
        if raw["debut"][0]:
            out["explanation"] = [{"factor": "no earlier games", "points": 0.0,
                                   "detail": "a debut: the position's typical first game"}]
        else:
            design = matchup.design(base, posa, _engine(model).usage_w)[0]
            allf = {**base, **extra}
            out["explanation"] = _explain(model, x, allf, pos, design)
    return out


def predict(
    model: TrainedModel,
    ds: Dataset,
    player: str,
    opponent: str,
    location: str | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str | None = None,
) -> dict[str, Any]:
    """The model's projection of ``player`` against ``opponent`` (resolved as :func:`matchup.resolve_request`).

    Returns {player, opponent, game, projection {points, low, high} (median and 80% interval, points in the model's
    scoring), grade (A+ to F), percentile (0-100 among the position's qualifying players that week), rank,
    explanation [{factor, points, detail}] (the top factors, signed contributions in points), scoring, model_id}.
    ``scoring`` must be the model's (default).
    """
    from fgrid.analysis import matchup

    scoring = _check_model_scoring(model, scoring)
    req = matchup.resolve_request(ds, player, opponent, location, season, week, scoring)
    return _predict_request(model, ds, req)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _reasons(pred: dict[str, Any]) -> list[str]:
    pos = pred["player"]["position"]
    r = pred["rank"]
    proj = pred["projection"]
    if r["rank"] is not None:
        where = f"#{r['rank']} of {r['of']} {pos}s that week"
    else:
        where = f"against a typical week's {pos}s"
    out = [
        f"projected {proj['points']:.1f} pts (80% interval {proj['low']:.1f}-{proj['high']:.1f}), "
        f"{where} ({_ordinal(round(pred['percentile']))} percentile)"
    ]
    for item in pred.get("explanation", [])[:3]:
        sign = "+" if item["points"] >= 0 else ""
        text = f"{item['factor']}: {sign}{item['points']:.1f} pts"
        if item.get("detail"):
            text += f" ({item['detail']})"
        out.append(text)
    return out


def grade(
    model: TrainedModel,
    ds: Dataset,
    pairs: Sequence[tuple[str, str]] | Sequence[Sequence[str]],
    season: int | None = None,
    week: int | None = None,
) -> list[dict[str, Any]]:
    """Grade each (player, opponent) matchup A+ to F by the model's projected percentile among the position's
    qualifying players that week (bands: :data:`GRADE_BANDS`), with reasons. One dict per pair, in order:
    {player, opponent, game, grade, percentile, rank, projection, reasons}."""
    from fgrid.analysis import matchup

    out = []
    for pair in pairs:
        if len(pair) != 2:
            raise InputError(f"a matchup is a player and an opponent, got {list(pair)!r}")
        player, opponent = pair
        req = matchup.resolve_request(ds, player, opponent, None, season, week, model.scoring)
        pred = _predict_request(model, ds, req)
        out.append({
            "player": pred["player"], "opponent": pred["opponent"], "game": pred["game"], "grade": pred["grade"],
            "percentile": pred["percentile"], "rank": pred["rank"], "projection": pred["projection"],
            "reasons": _reasons(pred),
        })
    return out


def predict_slate(
    model: TrainedModel,
    ds: Dataset,
    season: int,
    week: int,
    position: str | None = None,
    top: int | None = None,
) -> list[dict[str, Any]]:
    """Rank a week's slate: every qualifying player (4+ earlier games, 5+ PPR points a game over his last 8) with a
    game in (season, week), at ``position`` if given, best projection first; at most ``top`` rows.

    Rows: {rank, player_id, name, position, team, opponent, game_id, projection {points, low, high}, percentile,
    grade}; rank and percentile are within the position.
    """
    season, week = int(season), int(week)
    st = F.store(ds, model.scoring)
    if position is not None:
        position = str(position).strip().upper()
        if position not in F.POSITIONS:
            raise InputError(f"unknown position '{position}'; use one of: {', '.join(F.POSITIONS)}")
    if (season, week) not in {(s, w) for (s, w, _t) in st.contexts} and F.game_key(season, week) > st.last_key:
        raise InputError(f"no games scheduled in {season} week {week}")
    if top is not None and int(top) < 1:
        raise InputError("top must be at least 1")
    slate = _slate(model, ds, season, week)
    rows, pred = slate["rows"], slate["pred"]
    out: list[dict[str, Any]] = []
    for i in range(rows.height if rows is not None else 0):
        assert rows is not None
        p = rows["position"][i]
        if position is not None and p != position:
            continue
        pts = float(pred["projected"][i])
        pct, rank, size = _percentile(slate["by_pos"][p], pts)
        out.append({
            "rank": rank, "player_id": rows["player_id"][i], "name": rows["name"][i], "position": p,
            "team": rows["team"][i], "opponent": rows["opponent"][i], "game_id": rows["game_id"][i],
            "projection": {"points": round(pts, 2), "low": round(float(pred["low"][i]), 2),
                           "high": round(float(pred["high"][i]), 2)},
            "percentile": pct, "grade": _grade(pct),
        })
    out.sort(key=lambda r: (-r["projection"]["points"], r["player_id"]))
    if position is None:
        for overall, row in enumerate(out, start=1):
            row["overall_rank"] = overall
    return out[: int(top)] if top is not None else out
