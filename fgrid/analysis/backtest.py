"""Score the engine (or a learned model) on past games, against a naive baseline on exactly the same rows.

For every regular-season game of a QB, RB, WR or TE in range, the engine projects the game as of before kickoff
(the same arrays :func:`fgrid.analysis.matchup.analyze` uses, evaluated for a whole week at once). A row is kept
when the player has at least 4 earlier games and averaged at least 5 PPR points over his last 8 (so the baseline
is defined and the player is fantasy-relevant). The baseline is the exponentially weighted mean of his earlier
games: weight 0.85 per game back over his last 16 games, REG and POST of any season, in date order.

Rows: ``season, week, player_id, position, projected, low, high, actual, baseline`` (points in the scoring;
``low``-``high`` is the 80% interval). :func:`summarize` gives the mean absolute error per position for both,
their ratio, and how often the interval contains the actual score.

Walk-forward (``refit``): before each week W of season S the engine's constants are refitted
(:func:`fit_engine` with ``before``) on games strictly before (S, W) only, the last :data:`REFIT_SEASONS` regular
seasons plus S's earlier weeks, and that engine projects week W: what the engine would have said had it been
maintained week by week, with no later game in any input. The fixed engine's constants were fitted on 2019-2022,
so its backtest of those seasons is in sample; the refit one never is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

import numpy as np
import polars as pl

from fgrid.analysis.feature_store import (
    KEY_SEASON,
    MAX_WEEK,
    POSITIONS,
    FeatureStore,
    game_key,
    store,
)
from fgrid.analysis.features import (
    FEATURES,
    MIN_EARLIER_GAMES,
    MIN_RECENT_PPR,
    player_game_features,
)
from fgrid.analysis.matchup import engine as matchup_engine
from fgrid.analysis.scoring import check as check_scoring
from fgrid.errors import InputError

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: Fields of a backtest row, and of the CSV a backtest writes.
ROW_FIELDS = ("season", "week", "player_id", "position", "projected", "low", "high", "actual", "baseline")
CSV_FIELDS = ("season", "week", "player_id", "position", "projected", "low", "high", "actual")
#: Groups of the summary.
SUMMARY_GROUPS = (*POSITIONS, "ALL")

#: ``predictor(ds, rows, scoring)`` returns projections for ``rows`` (a polars frame of
#: :func:`features.player_game_features` columns, the backtest's rows in order) as a mapping or frame with
#: ``projected``, ``low`` and ``high`` (sequences of floats, one per row, points in ``scoring``).
Predictor = Callable[["Dataset", pl.DataFrame, str], Any]
#: ``progress(weeks_done, weeks_total)`` after each week.
Progress = Callable[[int, int], None]
#: Names of the engine's predictor in a result: fixed constants (:data:`fgrid.analysis.matchup.constants.ENGINE`),
#: or refitted each week.
ENGINE_NAME = "engine"
REFIT_NAME = "engine (refit)"
#: Regular seasons before the backtested one that a walk-forward refit trains on (with that season's earlier
#: weeks). One season scored worse than two, and three no better than two for more time per week (the README has
#: the figures).
REFIT_SEASONS = 2
#: Fewest training rows per position a fit accepts (the regression has 15 terms).
MIN_FIT_ROWS = 100


def eligible(st: FeatureStore, season: int, weeks: Iterable[int]) -> pl.DataFrame:
    """The backtest's rows of ``season``/``weeks`` (features of :func:`features.player_game_features`), in order."""
    frame = player_game_features(st)
    return frame.filter(
        (pl.col("season") == season)
        & pl.col("week").is_in(list(weeks))
        & (pl.col("game_type") == "REG")
        & (pl.col("n_prev") >= MIN_EARLIER_GAMES)
        & (pl.col("mean8_ppr") >= MIN_RECENT_PPR)
    ).sort("week", "position", "player_id")


def _engine_projection(eng: matchup_engine.Engine, frame: pl.DataFrame) -> dict[str, np.ndarray]:
    feats = {name: frame[name].to_numpy() for name in FEATURES}
    return matchup_engine.project(eng, feats, frame["pos"].to_numpy())


def _predict(
    ds: Dataset,
    st: FeatureStore,
    frame: pl.DataFrame,
    predictor: Predictor | None,
    eng: matchup_engine.Engine | None = None,
) -> dict[str, np.ndarray]:
    if predictor is None:
        proj = _engine_projection(eng or matchup_engine.engine_for(st), frame)
        return {"projected": proj["points"], "low": proj["low"], "high": proj["high"]}
    out = predictor(ds, frame, st.scoring)
    got = {k: np.asarray(out[k], dtype=np.float64) for k in ("projected", "low", "high")}
    for name, values in got.items():
        if values.shape != (frame.height,):
            raise ValueError(f"predictor returned {values.shape} {name} values for {frame.height} rows")
    return got


def _check(ds: Dataset, season: int, scoring: str) -> FeatureStore:
    scoring = check_scoring(scoring)
    st = store(ds, scoring)
    if not st.first_stats_season <= season <= st.last_stats_season:
        raise InputError(
            f"no stats for {season}; backtests need played games ({st.first_stats_season}-{st.last_stats_season})"
        )
    return st


def check_refit(ds: Dataset, season: int, refit: Any, scoring: str = "ppr") -> bool:
    """``refit`` as a bool; InputError if it is not one, or if no earlier season has stats to fit on."""
    if not isinstance(refit, bool):
        raise InputError(f"refit must be true or false, not {refit!r}"[:120])
    if refit:
        st = _check(ds, season, scoring)
        if season <= st.first_stats_season:
            raise InputError(f"a refit backtest fits on earlier seasons; {season} is the first with stats")
    return refit


def refit_engine(ds: Dataset, season: int, week: int, scoring: str = "ppr") -> matchup_engine.Engine:
    """The engine refitted on games strictly before (``season``, ``week``): the :data:`REFIT_SEASONS` regular
    seasons before ``season`` and its weeks before ``week`` (:func:`fit_engine` with ``before``)."""
    st = _check(ds, season, scoring)
    first = max(season - REFIT_SEASONS, st.first_stats_season)
    constants = fit_engine(ds, tuple(range(first, season + 1)), st.scoring, before=game_key(season, week))
    return matchup_engine.engine(st.scoring, {st.scoring: constants})


def season_weeks(ds: Dataset, season: int, scoring: str = "ppr") -> list[int]:
    """The regular-season weeks of ``season`` that have stats."""
    st = _check(ds, season, scoring)
    frame = player_game_features(st)
    weeks = frame.filter((pl.col("season") == season) & (pl.col("game_type") == "REG"))["week"].unique().sort()
    return weeks.to_list()


def run_week(
    ds: Dataset,
    season: int,
    week: int,
    scoring: str = "ppr",
    predictor: Predictor | None = None,
    refit: bool = False,
) -> list[dict[str, Any]]:
    """Backtest rows of one week (see the module docstring), ordered by position and player id.

    ``refit``: project with the engine refitted on games before the week (:func:`refit_engine`; slower than the
    fixed engine).
    """
    st = _check(ds, season, scoring)
    if check_refit(ds, season, refit, scoring) and predictor is not None:
        raise InputError("refit applies to the engine, not to another predictor")
    frame = eligible(st, season, [week])
    if frame.height == 0:
        return []
    eng = refit_engine(ds, season, week, st.scoring) if refit else None
    pred = _predict(ds, st, frame, predictor, eng)
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
    refit: bool = False,
) -> dict[str, Any]:
    """Backtest ``season`` (``weeks``, default every regular-season week with stats): rows and their summary.

    ``refit``: walk forward, refitting the engine before each week on earlier games only (see the module
    docstring). Returns {season, weeks, scoring, predictor ("engine", "engine (refit)" or the predictor's name),
    rows, summary}.
    """
    if check_refit(ds, season, refit, scoring) and predictor is not None:
        raise InputError("refit applies to the engine, not to another predictor")
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
        rows.extend(run_week(ds, season, week, scoring, predictor, refit))
        if progress is not None:
            progress(i + 1, len(weeks))
    if predictor is None:
        name = REFIT_NAME if refit else ENGINE_NAME
    else:
        name = getattr(predictor, "__name__", type(predictor).__name__)
    return {
        "season": season,
        "weeks": list(weeks),
        "scoring": scoring,
        "predictor": name,
        "rows": rows,
        "summary": summarize(rows),
    }


_EMPTY_GROUP = {
    "rows": 0,
    "mae": None,
    "baseline_mae": None,
    "ratio": None,
    "coverage": None,
    "below": None,
    "above": None,
}


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """MAE of the projection and of the baseline per position (and ALL), their ratio, and interval coverage.

    Returns {"rows": n, "by_position": {QB|RB|WR|TE|ALL: {rows, mae, baseline_mae, ratio, coverage, below, above,
    pairs, pair_accuracy, baseline_pair_accuracy}}}; MAE in points, ratio = mae / baseline_mae (below 1 beats the
    baseline), coverage = share of rows with low <= actual <= high, below / above = the shares under low / over
    high (an 80% interval's calibration: about 0.1 each); pair_accuracy: the share of same-position pairs
    in a week where the player projected higher really scored more (the start/sit question "A or B?",
    :func:`pair_accuracy`), beside the baseline's. Groups without rows have null values.
    """
    rows = list(rows)
    by_pos: dict[str, dict[str, Any]] = {}
    if rows:
        pos = np.array([r["position"] for r in rows])
        proj, low, high, actual, base = (
            np.array([float(r[k]) for r in rows]) for k in ("projected", "low", "high", "actual", "baseline")
        )
    for group in SUMMARY_GROUPS:
        if not rows:
            by_pos[group] = dict(_EMPTY_GROUP)
            continue
        m = np.ones(len(rows), dtype=bool) if group == "ALL" else pos == group
        n = int(m.sum())
        if n == 0:
            by_pos[group] = dict(_EMPTY_GROUP)
            continue
        mae = float(np.abs(actual[m] - proj[m]).mean())
        bmae = float(np.abs(actual[m] - base[m]).mean())
        by_pos[group] = {
            "rows": n,
            "mae": round(mae, 4),
            "baseline_mae": round(bmae, 4),
            "ratio": round(mae / bmae, 4) if bmae > 0 else None,
            "coverage": round(float(((actual[m] >= low[m]) & (actual[m] <= high[m])).mean()), 4),
            "below": round(float((actual[m] < low[m]).mean()), 4),
            "above": round(float((actual[m] > high[m]).mean()), 4),
        }
    if rows and "season" in rows[0]:
        ordered, base_pairs = pair_accuracy(rows), pair_accuracy(rows, "baseline")
        for group, row in by_pos.items():
            row.update(
                pairs=ordered[group]["pairs"],
                pair_accuracy=ordered[group]["accuracy"],
                baseline_pair_accuracy=base_pairs[group]["accuracy"],
            )
    return {"rows": len(rows), "by_position": by_pos}


def pair_counts(projected: np.ndarray, actual: np.ndarray) -> tuple[float, int]:
    """(right, pairs) over all pairs of one group: right counts pairs where the higher projection scored more (a
    projection tie counts half); pairs whose actual scores tie are left out."""
    if len(actual) < 2:
        return 0.0, 0
    dp = np.sign(projected[:, None] - projected[None, :])
    da = np.sign(actual[:, None] - actual[None, :])
    upper = np.triu(np.ones(dp.shape, dtype=bool), k=1) & (da != 0)
    right = float(((dp * da) > 0)[upper].sum()) + 0.5 * float((dp == 0)[upper].sum())
    return right, int(upper.sum())


def pair_accuracy(rows: Iterable[dict[str, Any]], key: str = "projected") -> dict[str, dict[str, Any]]:
    """Share of same-position pairs in a week where ``key``'s higher value really scored more, per position and
    ALL: {group: {pairs, accuracy}} (accuracy None without pairs)."""
    groups: dict[tuple[Any, Any, str], tuple[list[float], list[float]]] = {}
    for r in rows:
        proj, act = groups.setdefault((r["season"], r["week"], r["position"]), ([], []))
        proj.append(float(r[key]))
        act.append(float(r["actual"]))
    totals = {g: [0.0, 0] for g in (*POSITIONS, "ALL")}
    for (_s, _w, pos), (proj, act) in groups.items():
        right, pairs = pair_counts(np.array(proj), np.array(act))
        for g in (pos, "ALL"):
            if g in totals:
                totals[g][0] += right
                totals[g][1] += pairs
    return {g: {"pairs": int(n), "accuracy": round(r / n, 4) if n else None} for g, (r, n) in totals.items()}


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
    ds: Dataset,
    seasons: Sequence[int] = (2019, 2020, 2021, 2022),
    scoring: str = "ppr",
    min_week: int = 3,
    before: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Fit :data:`fgrid.analysis.matchup.constants.ENGINE`'s constants for ``scoring`` on the regular seasons
    ``seasons``.

    Rows: weeks ``min_week``-18 with the backtest's eligibility. Per position: usage weights by non-negative
    least squares of points on expected opportunities; intercept and coefficients by median regression of
    log(points + 3) on :data:`matchup_engine.TERMS`; small terms shrunk by :data:`matchup_engine.SMALL_SHRINK` and
    the intercept re-centred on the median residual; q10/q90 the residual quantiles. START/FLEX lines: the median
    over weeks of the START_RANK-th / FLEX_RANK-th projection among all players at the position that week.
    ``def_scale``: the spread across teams of the season-end schedule-adjusted ratio. ``debut``: the median, 10% and
    90% points of players' first games in the data (after its first season). Needs scikit-learn and scipy.

    ``before`` (a game key, :func:`features.game_key`): fit as of that moment, on games with a smaller key only.
    Every row (training, point lines, debuts) is from before it, and ``def_scale`` takes a season's ratio as of
    the key when the season is not over by then (its season-end ratio otherwise). Without it, all of ``seasons``.
    InputError if a position has fewer than :data:`MIN_FIT_ROWS` training rows.
    """
    from scipy.optimize import nnls
    from sklearn.linear_model import QuantileRegressor

    st = store(ds, check_scoring(scoring))
    frame = player_game_features(st).filter(pl.col("season").is_in(list(seasons)) & (pl.col("game_type") == "REG"))
    if before is not None:
        frame = frame.filter(pl.col("season") * KEY_SEASON + pl.col("week") < before)
    train = frame.filter(
        (pl.col("week") >= min_week) & (pl.col("n_prev") >= MIN_EARLIER_GAMES) & (pl.col("mean8_ppr") >= MIN_RECENT_PPR)
    )
    small = np.array([t in matchup_engine.SMALL_TERMS for t in matchup_engine.TERMS])
    out: dict[str, dict[str, Any]] = {}
    for p, position in enumerate(POSITIONS):
        rows = train.filter(pl.col("pos") == p)
        if rows.height < MIN_FIT_ROWS:
            when = "" if before is None else f" before {before // KEY_SEASON} week {before % KEY_SEASON}"
            raise InputError(
                f"too few {position} games{when} to fit the engine ({rows.height} rows; at least {MIN_FIT_ROWS})"
            )
        inputs = _usage_inputs(position)
        a = np.column_stack([np.nan_to_num(rows[c].to_numpy()) for c in inputs])
        y_pts = rows["actual"].to_numpy()
        weights, _ = nnls(a, y_pts)
        usage = {c: float(w) for c, w in zip(inputs, weights, strict=True)}
        usage_w = np.zeros((len(POSITIONS), len(matchup_engine.USAGE_INPUTS)))
        usage_w[p] = [usage.get(c, 0.0) for c in matchup_engine.USAGE_INPUTS]
        feats = {name: rows[name].to_numpy() for name in FEATURES}
        pos = np.full(rows.height, p)
        x = matchup_engine.design(feats, pos, usage_w)
        y = np.log(np.maximum(y_pts, 0.0) + matchup_engine.LOG_OFFSET)
        model = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(x, y)
        coef = np.where(small, model.coef_ * matchup_engine.SMALL_SHRINK, model.coef_)
        resid = y - x @ coef
        intercept = float(np.median(resid))
        q10, q90 = np.quantile(resid - intercept, [0.1, 0.9])
        out[position] = {
            "usage": {c: round(v, 5) for c, v in usage.items()},
            "intercept": round(intercept, 5),
            "coef": {t: round(float(c), 5) for t, c in zip(matchup_engine.TERMS, coef, strict=True)},
            "q10": round(float(q10), 5),
            "q90": round(float(q90), 5),
        }
        # Point lines: rank every player at the position each week by this projection.
        everyone = frame.filter(pl.col("pos") == p)
        feats_all = {name: everyone[name].to_numpy() for name in FEATURES}
        z = out[position]["intercept"] + matchup_engine.design(feats_all, np.full(everyone.height, p), usage_w) @ coef
        ranked = everyone.select("season", "week").with_columns(points=np.exp(z) - matchup_engine.LOG_OFFSET)
        ranks = (("start", matchup_engine.START_RANK[position]), ("flex", matchup_engine.FLEX_RANK[position]))
        for name, rank in ranks:
            lines = (
                ranked.group_by("season", "week")
                .agg(pl.col("points").sort(descending=True).get(rank - 1).alias("line"), pl.len())
                .filter(pl.col("len") >= rank)
            )
            # A Float64 column: polars types median() as any Python literal.
            out[position][name] = round(float(cast(float, lines["line"].median())), 3)
        out[position]["def_scale"] = _def_scale(st, seasons, p, before)
        # Players with no earlier game: their debut games (not in the first season, where every game is a "debut").
        debuts = frame.filter((pl.col("pos") == p) & (pl.col("n_prev") == 0) & (pl.col("season") > min(seasons)))
        q = np.quantile(debuts["actual"].to_numpy(), [0.5, 0.1, 0.9]) if debuts.height else np.zeros(3)
        out[position]["debut"] = [round(max(float(v), 0.0), 3) for v in q]
    return out


def _def_scale(st: FeatureStore, seasons: Sequence[int], p: int, before: int | None) -> float:
    """Mean over ``seasons`` of the spread across defences of the schedule-adjusted ratio against position ``p``:
    at the season's end, or as of ``before`` for a season not over by then (seasons not begun are left out)."""
    spreads = []
    for s in seasons:
        # def_ratio[s, w] counts the season's games of weeks before w: as of key s * KEY_SEASON + w.
        week = MAX_WEEK if before is None else min(before - game_key(s, 0), MAX_WEEK)
        if week < 0:
            continue
        s_i = s - st.first_season
        played = st.def_games[s_i, week] > 0
        if played.any():
            spreads.append(st.def_ratio[s_i, week, played, p].std())
    return round(float(np.mean(spreads)), 5) if spreads else 0.0


def _usage_inputs(position: str) -> tuple[str, ...]:
    """Usage inputs that carry a position's points (a QB's are pass attempts and carries)."""
    return ("exp_att", "exp_car") if position == "QB" else ("exp_tgt", "exp_car", "exp_ay")
