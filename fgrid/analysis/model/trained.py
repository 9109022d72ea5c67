"""A trained model and how it predicts: the projection (median) and the 80% interval of player-game rows.

The projection averages bagged LightGBM median (L1) models with the engine's linear median regression refit on
the model's seasons (:attr:`TrainedModel.linear`, weight :data:`LINEAR_WEIGHT`). The interval comes from
LightGBM quantile models at :data:`INTERVAL`, whose distances below and above the median are scaled, each side on
its own, by the calibration :func:`fgrid.analysis.model.training.train` fits on a held-out season.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fgrid.analysis.feature_store import store
from fgrid.analysis.matchup import engine as matchup_engine
from fgrid.analysis.model.feature_matrix import BASE_FEATURES, frame_features

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: Version of the model files; a model saved with another is listed but not loaded.
MODEL_FORMAT = 2
#: The interval's quantiles (an 80% interval).
INTERVAL = (0.10, 0.90)
#: Weight of the linear median regression in the projection (the trees get the rest).
LINEAR_WEIGHT = 0.5
#: An interval side is never narrower than this many points before scaling.
MIN_HALF_WIDTH = 0.5

_TOKENS = itertools.count(1)


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


def linear_engine(model: TrainedModel) -> matchup_engine.Engine:
    """The engine of the model's linear part (its refit constants), built once per model."""
    eng = model.__dict__.get("_engine")
    if eng is None:
        eng = matchup_engine.engine(model.scoring, {model.scoring: model.linear})
        model.__dict__["_engine"] = eng
    return eng


def _linear_points(model: TrainedModel, feats: dict[str, np.ndarray], pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(points, log-space design) of the linear part for feature arrays of :func:`features.compute`."""
    out = matchup_engine.project(linear_engine(model), feats, pos)
    return out["points"], out["x"]


def raw_predict(
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
    eng = linear_engine(model)
    median = np.where(debut, eng.debut[pos, 0], median)
    return {
        "median": median,
        "trees": trees,
        "q_lo": np.where(debut, eng.debut[pos, 1], q_lo),
        "q_hi": np.where(debut, eng.debut[pos, 2], q_hi),
        "debut": debut,
    }


def half_widths(raw: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    centre = np.where(raw["debut"], raw["median"], raw["trees"])
    lo = np.maximum(centre - raw["q_lo"], MIN_HALF_WIDTH)
    hi = np.maximum(raw["q_hi"] - centre, MIN_HALF_WIDTH)
    return lo, hi


def interval(model: TrainedModel, raw: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = half_widths(raw)
    low = np.maximum(raw["median"] - model.scale_low * lo, 0.0)
    high = raw["median"] + model.scale_high * hi
    return low, high


def predict_rows(
    model: TrainedModel, ds: Dataset, frame: pl.DataFrame, x: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Projection and 80% interval (points, arrays) of rows of :func:`features.player_game_features`."""
    st = store(ds, model.scoring)
    if x is None:
        x = frame_features(ds, st, frame)
    feats = {name: frame[name].to_numpy() for name in BASE_FEATURES}
    raw = raw_predict(model, x, feats, frame["pos"].to_numpy())
    low, high = interval(model, raw)
    return {"projected": raw["median"], "low": low, "high": high}
