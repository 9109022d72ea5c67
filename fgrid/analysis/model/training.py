"""Train the model: fit its estimators on past seasons, validate and calibrate on a held-out one, refit on all.

Choice of learner: LightGBM, not scikit-learn's HistGradientBoostingRegressor. Both fit quantile losses, but
LightGBM also gives exact per-prediction SHAP contributions (``pred_contrib=True``), which the explanation needs;
its single-row predict is fast; and a booster is saved as LightGBM's own text format, which does not depend on
pickling library internals.

The projection (median):

- three LightGBM models with the L1 loss (the 0.5-quantile: what mean absolute error rewards), bagged with
  different seeds, trained on every player-game with at least one earlier game (also the many players below
  the backtest's 5-point filter: more rows help the trees, evaluation stays on the filtered rows), averaged;
- averaged with equal weight with a linear median regression of log(points + 3) on the engine's terms, refit on
  the same seasons (:func:`fgrid.analysis.backtest.fit_engine`). On held-out seasons their average beat either
  model alone (the README has the figures): the two models' errors are only partly correlated, and the trees'
  variance is most of what is left.

The 80% interval: LightGBM quantile-loss models at 0.1 and 0.9, whose distances below and above the median are
then scaled, each side on its own, so that exactly 10% of a held-out season's scores fall below the low end and
10% above the high end (quantile models fit on past seasons are too narrow on a new one). The held-out season is
the last of the training seasons: models are fit on the others, scored on it (those figures are the model's
``metrics``), the scales fitted there, and then every model is refit on all the seasons.

Units: points are fantasy points per game in the model's scoring (``ppr``, ``half`` or ``standard``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fgrid.analysis import backtest
from fgrid.analysis.feature_store import POSITIONS, store
from fgrid.analysis.matchup import engine as matchup_engine
from fgrid.analysis.model.feature_matrix import (
    BASE_FEATURES,
    FEATURE_NAMES,
    eligible_mask,
    training_frame,
)
from fgrid.analysis.model.trained import (
    INTERVAL,
    TrainedModel,
    half_widths,
    interval,
    linear_engine,
    predict_rows,
    raw_predict,
)
from fgrid.analysis.scoring import check as check_scoring
from fgrid.errors import InputError, NoDataError

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: Threads LightGBM may use (the machines it trains on are small and shared).
N_THREADS = 2
#: Seeds of the bagged median models.
SEEDS = (0, 1, 2)
#: The median models: L1 loss, small trees, row and feature bagging (chosen on 2019-2021 -> 2022).
MEDIAN_PARAMS: dict[str, Any] = {
    "objective": "l1",
    "learning_rate": 0.045,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
}
MEDIAN_ROUNDS = 400
#: The quantile models of the interval's ends (before calibration).
QUANTILE_PARAMS: dict[str, Any] = {
    "objective": "quantile",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "verbose": -1,
}
QUANTILE_ROUNDS = 300
#: Validation (and the backtest's usual check) scores weeks from this one on: earlier weeks lean on last season.
VALIDATION_MIN_WEEK = 5


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


def _metrics(frame: pl.DataFrame, pred: dict[str, np.ndarray]) -> dict[str, Any]:
    """MAE per position (and ALL) against the naive baseline, their ratio, and interval coverage."""
    actual = frame["actual"].to_numpy()
    base = frame["ewm_pts"].to_numpy()
    pos = frame["position"].to_numpy()
    out: dict[str, Any] = {}
    for group in (*POSITIONS, "ALL"):
        m = np.ones(len(actual), dtype=bool) if group == "ALL" else pos == group
        if not m.any():
            out[group] = {"rows": 0, "mae": None, "baseline_mae": None, "ratio": None, "coverage": None}
            continue
        mae = float(np.abs(actual[m] - pred["projected"][m]).mean())
        bmae = float(np.abs(actual[m] - base[m]).mean())
        cov = float(((actual[m] >= pred["low"][m]) & (actual[m] <= pred["high"][m])).mean())
        out[group] = {
            "rows": int(m.sum()),
            "mae": round(mae, 4),
            "baseline_mae": round(bmae, 4),
            "ratio": round(mae / bmae, 4) if bmae > 0 else None,
            "coverage": round(cov, 4),
        }
    return out


def _fingerprint(ds: Dataset, frame: pl.DataFrame, seasons: Sequence[int]) -> dict[str, str]:
    """The data a model was trained on: the dataset version and a hash of the training rows' ids and points."""
    rows = frame.filter(pl.col("season").is_in(list(seasons))).select("player_id", "game_id", "actual")
    digest = hashlib.sha256()
    for col in rows.columns:
        digest.update(rows[col].cast(pl.Utf8).fill_null("").str.join("\x1f").item().encode())
    return {"version": str(ds.version), "sha256": digest.hexdigest()[:16]}


def _fit(
    ds: Dataset,
    scoring: str,
    seasons: list[int],
    frame: pl.DataFrame,
    x: np.ndarray,
    progress: Callable[[float], None] | None = None,
) -> TrainedModel:
    m = (frame["season"].is_in(seasons) & (frame["n_prev"] >= 1)).to_numpy()
    if not m.any():
        raise NoDataError(f"no games to train on in season(s) {', '.join(map(str, seasons))}")
    median, low, high = _fit_boosters(x[m], frame["actual"].to_numpy()[m], progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear = backtest.fit_engine(ds, seasons=tuple(seasons), scoring=scoring)
    model = TrainedModel(
        scoring=scoring,
        seasons=list(seasons),
        feature_names=list(FEATURE_NAMES),
        median=median,
        low=low,
        high=high,
        linear=linear,
        scale_low=1.0,
        scale_high=1.0,
        metrics={},
        fingerprint={},
        created_at="",
    )
    rows = frame.filter(pl.Series(m))
    eng = linear_engine(model)
    design = matchup_engine.design({n: rows[n].to_numpy() for n in BASE_FEATURES}, rows["pos"].to_numpy(), eng.usage_w)
    pos = rows["pos"].to_numpy()
    model.linear_ref = {
        p: design[pos == i].mean(axis=0).tolist() if (pos == i).any() else [0.0] * design.shape[1]
        for i, p in enumerate(POSITIONS)
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
    scoring = check_scoring(scoring)
    seasons = sorted({int(s) for s in seasons})
    if not seasons:
        raise InputError("no training seasons given")
    st = store(ds, scoring)
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
    metrics: dict[str, Any]
    if len(seasons) >= 2:
        held, fit_on = seasons[-1], seasons[:-1]
        val_model = _fit(ds, scoring, fit_on, frame, x, lambda f: report("validation", 5.0 + 40.0 * f))
        v = ((frame["season"] == held) & (frame["week"] >= VALIDATION_MIN_WEEK)).to_numpy() & eligible_mask(frame)
        vframe = frame.filter(pl.Series(v))
        feats = {name: vframe[name].to_numpy() for name in BASE_FEATURES}
        raw = raw_predict(val_model, x[v], feats, vframe["pos"].to_numpy())
        lo, hi = half_widths(raw)
        actual = vframe["actual"].to_numpy()
        # Each end on its own: 10% of held-out scores below the low end, 10% above the high end.
        scale_low = float(np.quantile((raw["median"] - actual) / lo, 1.0 - INTERVAL[0]))
        scale_high = float(np.quantile((actual - raw["median"]) / hi, INTERVAL[1]))
        val_model.scale_low, val_model.scale_high = scale_low, scale_high
        low, high = interval(val_model, raw)
        metrics = {
            "validation": {
                "trained_on": fit_on,
                "season": held,
                "weeks": f"{VALIDATION_MIN_WEEK}+ (REG)",
                "by_position": _metrics(vframe, {"projected": raw["median"], "low": low, "high": high}),
            },
        }
    else:
        metrics = {"validation": None, "note": "one training season: no held-out season to validate or calibrate on"}
    report("fit", 50.0)
    model = _fit(ds, scoring, seasons, frame, x, lambda f: report("fit", 50.0 + 45.0 * f))
    model.scale_low, model.scale_high = scale_low, scale_high
    last = (frame["season"] == seasons[-1]).to_numpy() & eligible_mask(frame)
    if last.any():
        lframe = frame.filter(pl.Series(last))
        proj = predict_rows(model, ds, lframe, x[last])["projected"]
        lpos = lframe["position"].to_numpy()
        model.reference = {
            p: np.percentile(proj[lpos == p], np.arange(101)).round(3).tolist() for p in POSITIONS if (lpos == p).any()
        }
    model.metrics = {**metrics, "train_seconds": round(time.perf_counter() - started, 1)}
    model.fingerprint = _fingerprint(ds, frame, seasons)
    model.created_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    model.params = {
        "median": MEDIAN_PARAMS,
        "median_rounds": MEDIAN_ROUNDS,
        "seeds": list(SEEDS),
        "quantile": QUANTILE_PARAMS,
        "quantile_rounds": QUANTILE_ROUNDS,
    }
    report("done", 100.0)
    return model


def backtest_predictor(model: TrainedModel) -> Callable[[Dataset, pl.DataFrame, str], dict[str, np.ndarray]]:
    """A :data:`fgrid.analysis.backtest.Predictor` scoring ``model`` on the backtest's rows."""

    def model_predictor(ds: Dataset, rows: pl.DataFrame, scoring: str) -> dict[str, np.ndarray]:
        if scoring != model.scoring:
            raise InputError(f"the model was trained for {model.scoring} scoring, not {scoring}")
        return predict_rows(model, ds, rows)

    return model_predictor
