"""Score the engine (or a learned model) on past games, against a naive baseline on exactly the same rows.

For every regular-season game of a QB, RB, WR or TE in range, the engine projects the game as of before kickoff
(the same arrays :func:`fgrid.analysis.matchup.analyze` uses, evaluated for a whole week at once). A row is kept
when the player has at least 4 earlier games and averaged at least 5 PPR points over his last 8 (so the baseline
is defined and the player is fantasy-relevant). The baseline is the exponentially weighted mean of his earlier
games: weight 0.85 per game back over his last 16 games, REG and POST of any season, in date order.

Rows: ``season, week, player_id, position, projected, low, high, actual, baseline`` (points in the scoring;
``low``-``high`` is the 80% interval). :func:`summarize` gives the mean absolute error per position for both,
their ratio, and how often the interval contains the actual score.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import polars as pl

from fgrid.analysis import features as F
from fgrid.analysis import matchup
from fgrid.errors import InputError

if TYPE_CHECKING:
    from fgrid.analysis.data import Dataset

#: Fields of a backtest row, and of the CSV a backtest writes.
ROW_FIELDS = ("season", "week", "player_id", "position", "projected", "low", "high", "actual", "baseline")
CSV_FIELDS = ("season", "week", "player_id", "position", "projected", "low", "high", "actual")
#: Groups of the summary.
SUMMARY_GROUPS = (*F.POSITIONS, "ALL")

#: ``predictor(ds, rows, scoring)`` returns projections for ``rows`` (a polars frame of
#: :func:`features.player_game_features` columns, the backtest's rows in order) as a mapping or frame with
#: ``projected``, ``low`` and ``high`` (sequences of floats, one per row, points in ``scoring``).
Predictor = Callable[["Dataset", pl.DataFrame, str], Any]
#: ``progress(weeks_done, weeks_total)`` after each week.
Progress = Callable[[int, int], None]


def eligible(st: F.FeatureStore, season: int, weeks: Iterable[int]) -> pl.DataFrame:
    """The backtest's rows of ``season``/``weeks`` (features of :func:`features.player_game_features`), in order."""
    frame = F.player_game_features(st)
    return frame.filter(
        (pl.col("season") == season)
        & pl.col("week").is_in(list(weeks))
        & (pl.col("game_type") == "REG")
        & (pl.col("n_prev") >= F.MIN_EARLIER_GAMES)
        & (pl.col("mean8_ppr") >= F.MIN_RECENT_PPR)
    ).sort("week", "position", "player_id")


def _engine_projection(st: F.FeatureStore, frame: pl.DataFrame) -> dict[str, np.ndarray]:
    feats = {name: frame[name].to_numpy() for name in F.FEATURES}
    return matchup.project(matchup.engine_for(st), feats, frame["pos"].to_numpy())


def _predict(
    ds: Dataset, st: F.FeatureStore, frame: pl.DataFrame, predictor: Predictor | None
) -> dict[str, np.ndarray]:
    if predictor is None:
        proj = _engine_projection(st, frame)
        return {"projected": proj["points"], "low": proj["low"], "high": proj["high"]}
    out = predictor(ds, frame, st.scoring)
    got = {k: np.asarray(out[k], dtype=np.float64) for k in ("projected", "low", "high")}
    for name, values in got.items():
        if values.shape != (frame.height,):
            raise ValueError(f"predictor returned {values.shape} {name} values for {frame.height} rows")
    return got


def _check(ds: Dataset, season: int, scoring: str) -> F.FeatureStore:
    scoring = matchup.check_scoring(scoring)
    st = F.store(ds, scoring)
    if not st.first_stats_season <= season <= st.last_stats_season:
        raise InputError(
            f"no stats for {season}; backtests need played games ({st.first_stats_season}-{st.last_stats_season})"
        )
    return st


def season_weeks(ds: Dataset, season: int, scoring: str = "ppr") -> list[int]:
    """The regular-season weeks of ``season`` that have stats."""
    st = _check(ds, season, scoring)
    frame = F.player_game_features(st)
    weeks = frame.filter((pl.col("season") == season) & (pl.col("game_type") == "REG"))["week"].unique().sort()
    return weeks.to_list()


def run_week(
    ds: Dataset, season: int, week: int, scoring: str = "ppr", predictor: Predictor | None = None
) -> list[dict[str, Any]]:
    """Backtest rows of one week (see the module docstring), ordered by position and player id."""
    st = _check(ds, season, scoring)
    frame = eligible(st, season, [week])
    if frame.height == 0:
        return []
    pred = _predict(ds, st, frame, predictor)
    cols = {
        "season": frame["season"].to_list(),
        "week": frame["week"].to_list(),
        "player_id": frame["player_id"].to_list(),
        "position": frame["position"].to_list(),
        "projected": np.round(pred["projected"], 3).tolist(),
        "low": np.round(pred["low"], 3).tolist(),
        "high": np.round(pred["high"], 3).tolist(),
        "actual": np.round(frame["actual"].to_numpy(), 3).tolist(),
        "baseline": np.round(frame["ewm_pts"].to_numpy(), 3).tolist(),
    }
    return [dict(zip(ROW_FIELDS, values, strict=True)) for values in zip(*(cols[f] for f in ROW_FIELDS), strict=True)]


def run(
    ds: Dataset,
    season: int,
    weeks: Sequence[int] | None = None,
    scoring: str = "ppr",
    progress: Progress | None = None,
    predictor: Predictor | None = None,
) -> dict[str, Any]:
    """Backtest ``season`` (``weeks``, default every regular-season week with stats): rows and their summary.

    Returns {season, weeks, scoring, predictor ("engine" or the predictor's name), rows, summary}.
    """
    available = season_weeks(ds, season, scoring)
    if weeks is None:
        weeks = available
    else:
        weeks = sorted({int(w) for w in weeks})
        bad = [w for w in weeks if w not in available]
        if bad:
            span = f"{available[0]}-{available[-1]}" if available else "none"
            raise InputError(f"no regular-season stats for {season} week(s) {bad}; available: {span}")
    rows: list[dict[str, Any]] = []
    for i, week in enumerate(weeks):
        rows.extend(run_week(ds, season, week, scoring, predictor))
        if progress is not None:
            progress(i + 1, len(weeks))
    name = "engine" if predictor is None else getattr(predictor, "__name__", type(predictor).__name__)
    return {
        "season": season, "weeks": list(weeks), "scoring": scoring, "predictor": name, "rows": rows,
        "summary": summarize(rows),
    }


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """MAE of the projection and of the baseline per position (and ALL), their ratio, and interval coverage.

    Returns {"rows": n, "by_position": {QB|RB|WR|TE|ALL: {rows, mae, baseline_mae, ratio, coverage}}}; MAE in
    points, ratio = mae / baseline_mae (below 1 beats the baseline), coverage = share of rows with
    low <= actual <= high. Groups without rows have null values.
    """
    rows = list(rows)
    by_pos: dict[str, dict[str, Any]] = {}
    if rows:
        pos = np.array([r["position"] for r in rows])
        proj, low, high, actual, base = (np.array([float(r[k]) for r in rows]) for k in
                                         ("projected", "low", "high", "actual", "baseline"))
    for group in SUMMARY_GROUPS:
        if not rows:
            by_pos[group] = {"rows": 0, "mae": None, "baseline_mae": None, "ratio": None, "coverage": None}
            continue
        m = np.ones(len(rows), dtype=bool) if group == "ALL" else pos == group
        n = int(m.sum())
        if n == 0:
            by_pos[group] = {"rows": 0, "mae": None, "baseline_mae": None, "ratio": None, "coverage": None}
            continue
        mae = float(np.abs(actual[m] - proj[m]).mean())
        bmae = float(np.abs(actual[m] - base[m]).mean())
        by_pos[group] = {
            "rows": n,
            "mae": round(mae, 4),
            "baseline_mae": round(bmae, 4),
            "ratio": round(mae / bmae, 4) if bmae > 0 else None,
            "coverage": round(float(((actual[m] >= low[m]) & (actual[m] <= high[m])).mean()), 4),
        }
    return {"rows": len(rows), "by_position": by_pos}


def write_csv(rows: Iterable[dict[str, Any]], out: str | Path | TextIO) -> None:
    """Write rows as CSV with header ``season,week,player_id,position,projected,low,high,actual``."""
    if isinstance(out, (str, Path)):
        with open(out, "w", newline="", encoding="utf-8") as handle:
            write_csv(rows, handle)
        return
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The CSV of :func:`write_csv` as a string."""
    buffer = io.StringIO()
    write_csv(rows, buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# Fitting the engine's constants


def fit_engine(
    ds: Dataset, seasons: Sequence[int] = (2019, 2020, 2021, 2022), scoring: str = "ppr", min_week: int = 3
) -> dict[str, dict[str, Any]]:
    """Fit :data:`fgrid.analysis.matchup.ENGINE`'s constants for ``scoring`` on the regular seasons ``seasons``.

    Rows: weeks ``min_week``-18 with the backtest's eligibility. Per position: usage weights by non-negative
    least squares of points on expected opportunities; intercept and coefficients by median regression of
    log(points + 3) on :data:`matchup.TERMS`; small terms shrunk by :data:`matchup.SMALL_SHRINK` and the intercept
    re-centred on the median residual; q10/q90 the residual quantiles. START/FLEX lines: the median over weeks of
    the START_RANK-th / FLEX_RANK-th projection among all players at the position that week. ``def_scale``: the
    spread across teams of the season-end schedule-adjusted ratio. ``debut``: the median, 10% and 90% points of
    players' first games in the data (after its first season). Needs scikit-learn and scipy.
    """
    from scipy.optimize import nnls
    from sklearn.linear_model import QuantileRegressor

    st = F.store(ds, matchup.check_scoring(scoring))
    frame = F.player_game_features(st).filter(pl.col("season").is_in(list(seasons)) & (pl.col("game_type") == "REG"))
    train = frame.filter(
        (pl.col("week") >= min_week)
        & (pl.col("n_prev") >= F.MIN_EARLIER_GAMES)
        & (pl.col("mean8_ppr") >= F.MIN_RECENT_PPR)
    )
    small = np.array([t in matchup.SMALL_TERMS for t in matchup.TERMS])
    out: dict[str, dict[str, Any]] = {}
    for p, position in enumerate(F.POSITIONS):
        rows = train.filter(pl.col("pos") == p)
        inputs = _usage_inputs(position)
        a = np.column_stack([np.nan_to_num(rows[c].to_numpy()) for c in inputs])
        y_pts = rows["actual"].to_numpy()
        weights, _ = nnls(a, y_pts)
        usage = {c: float(w) for c, w in zip(inputs, weights, strict=True)}
        usage_w = np.zeros((len(F.POSITIONS), len(matchup.USAGE_INPUTS)))
        usage_w[p] = [usage.get(c, 0.0) for c in matchup.USAGE_INPUTS]
        feats = {name: rows[name].to_numpy() for name in F.FEATURES}
        pos = np.full(rows.height, p)
        x = matchup.design(feats, pos, usage_w)
        y = np.log(np.maximum(y_pts, 0.0) + matchup.LOG_OFFSET)
        model = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(x, y)
        coef = np.where(small, model.coef_ * matchup.SMALL_SHRINK, model.coef_)
        resid = y - x @ coef
        intercept = float(np.median(resid))
        q10, q90 = np.quantile(resid - intercept, [0.1, 0.9])
        out[position] = {
            "usage": {c: round(v, 5) for c, v in usage.items()},
            "intercept": round(intercept, 5),
            "coef": {t: round(float(c), 5) for t, c in zip(matchup.TERMS, coef, strict=True)},
            "q10": round(float(q10), 5),
            "q90": round(float(q90), 5),
        }
        # Point lines: rank every player at the position each week by this projection.
        everyone = frame.filter(pl.col("pos") == p)
        feats_all = {name: everyone[name].to_numpy() for name in F.FEATURES}
        z = out[position]["intercept"] + matchup.design(feats_all, np.full(everyone.height, p), usage_w) @ coef
        ranked = everyone.select("season", "week").with_columns(points=np.exp(z) - matchup.LOG_OFFSET)
        for name, rank in (("start", matchup.START_RANK[position]), ("flex", matchup.FLEX_RANK[position])):
            lines = (
                ranked.group_by("season", "week")
                .agg(pl.col("points").sort(descending=True).get(rank - 1).alias("line"), pl.len())
                .filter(pl.col("len") >= rank)
            )
            out[position][name] = round(float(lines["line"].median()), 3)
        final = [
            st.def_ratio[s - st.first_season, F.MAX_WEEK, st.def_games[s - st.first_season, F.MAX_WEEK] > 0, p]
            for s in seasons
        ]
        out[position]["def_scale"] = round(float(np.mean([r.std() for r in final])), 5)
        # Players with no earlier game: their debut games (not in the first season, where every game is a "debut").
        debuts = frame.filter((pl.col("pos") == p) & (pl.col("n_prev") == 0) & (pl.col("season") > min(seasons)))
        q = np.quantile(debuts["actual"].to_numpy(), [0.5, 0.1, 0.9]) if debuts.height else np.zeros(3)
        out[position]["debut"] = [round(max(float(v), 0.0), 3) for v in q]
    return out


def _usage_inputs(position: str) -> tuple[str, ...]:
    """Usage inputs that carry a position's points (a QB's are pass attempts and carries)."""
    return ("exp_att", "exp_car") if position == "QB" else ("exp_tgt", "exp_car", "exp_ay")
