"""The matchup engine: a median regression in log space, per position and scoring, on pre-kickoff features::

    log(points + 3) = intercept + sum(coef[term] * term)

with terms (:data:`TERMS`): the player's recent weighted average and his longer-run average (points), a usage-based
expectation (his shares of team targets, carries, air yards and pass attempts times the team's volume, in points),
his share of team points times the Vegas implied team total, the implied total against the league's, availability
(missed the team's last game; team games missed this season), and small, shrunk context terms (usage trend, the
opponent's schedule-adjusted points allowed to the position, home/away, roof, wind, cold, rest). Points are
right-skewed, so fitting the median (what mean absolute error rewards) in log space lands below the average.

The fitted constants are data, :data:`fgrid.analysis.matchup.constants.ENGINE`; :func:`engine` turns them into
arrays, :func:`design` and :func:`project` apply them to features of :mod:`fgrid.analysis.features`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fgrid.analysis.feature_store import POS_INDEX, POSITIONS, FeatureStore
from fgrid.analysis.features import nz
from fgrid.analysis.matchup.constants import ENGINE

#: The engine fits log(points + LOG_OFFSET): the offset keeps zero-point weeks finite.
LOG_OFFSET = 3.0
#: The engine's terms, in the order of each position's coefficients.
TERMS = (
    "recent",
    "long_run",
    "usage",
    "team_share",
    "implied",
    "missed_last",
    "missed_season",
    "trend",
    "defence",
    "home",
    "indoor",
    "wind",
    "cold",
    "short_rest",
    "long_rest",
)
#: Usage inputs (expected targets, carries, air yards, pass attempts per game) weighted into usage points.
USAGE_INPUTS = ("exp_tgt", "exp_car", "exp_ay", "exp_att")
#: Terms found to add almost nothing out of sample: fitted, then shrunk by SMALL_SHRINK (kept, and reported).
SMALL_TERMS = ("trend", "defence", "home", "indoor", "wind", "cold", "short_rest", "long_rest")
SMALL_SHRINK = 0.5
#: Wind above WIND_CALM mph and temperature below COLD_F degrees F count (outdoors only).
WIND_CALM = 10.0
COLD_F = 40.0
#: Rest days: fewer than SHORT_REST is a short week (Thursday game), LONG_REST or more follows a bye.
SHORT_REST = 6.0
LONG_REST = 12.0
#: Team games missed this season count up to this many.
MISSED_CAP = 6.0

#: Verdict tiers by the projection's rank among the position's weekly projections: START a top-12 QB or TE or a
#: top-24 RB or WR (a 12-team league's starters), FLEX the next tier (QB/TE 13-18, RB/WR 25-36), SIT the rest.
#: The point lines are the median, over the 2019-2022 regular-season weeks, of the engine's projection ranked
#: START_RANK (resp. FLEX_RANK) among the players at that position who played that week.
START_RANK = {"QB": 12, "RB": 24, "WR": 24, "TE": 12}
FLEX_RANK = {"QB": 18, "RB": 36, "WR": 36, "TE": 18}


@dataclass(frozen=True)
class Engine:
    """:data:`ENGINE` for one scoring, as arrays indexed by position (:data:`feature_store.POSITIONS` order)."""

    scoring: str
    usage_w: np.ndarray  # (positions, USAGE_INPUTS)
    intercept: np.ndarray  # (positions,)
    coef: np.ndarray  # (positions, TERMS)
    q10: np.ndarray
    q90: np.ndarray
    start_line: np.ndarray
    flex_line: np.ndarray
    def_scale: np.ndarray
    debut: np.ndarray  # (positions, 3): points, low, high of a player with no earlier game


def engine(scoring: str, constants: dict[str, dict[str, dict[str, Any]]] | None = None) -> Engine:
    """The engine's constants for ``scoring`` as arrays (from :data:`ENGINE` unless ``constants`` is given)."""
    table = (constants or ENGINE)[scoring]
    rows = [table[p] for p in POSITIONS]
    return Engine(
        scoring=scoring,
        usage_w=np.array([[r["usage"].get(c, 0.0) for c in USAGE_INPUTS] for r in rows]),
        intercept=np.array([r["intercept"] for r in rows]),
        coef=np.array([[r["coef"].get(t, 0.0) for t in TERMS] for r in rows]),
        q10=np.array([r["q10"] for r in rows]),
        q90=np.array([r["q90"] for r in rows]),
        start_line=np.array([r["start"] for r in rows]),
        flex_line=np.array([r["flex"] for r in rows]),
        def_scale=np.array([r["def_scale"] for r in rows]),
        debut=np.array([r["debut"] for r in rows]),
    )


def _lg(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(nz(x), 0.0) + LOG_OFFSET)


def usage_points(feats: dict[str, np.ndarray], pos: np.ndarray, usage_w: np.ndarray) -> np.ndarray:
    """Points his expected opportunities are worth at his position's rates (per game, the engine's scoring)."""
    inputs = np.column_stack([feats[c] for c in USAGE_INPUTS])
    return (usage_w[pos] * nz(inputs)).sum(axis=1)


def design(feats: dict[str, np.ndarray], pos: np.ndarray, usage_w: np.ndarray) -> np.ndarray:
    """The engine's terms (columns in :data:`TERMS` order) for feature arrays of :func:`features.compute`."""
    rest = feats["rest"]
    rest = np.where(rest == rest, rest, 7.0)  # nan != nan; unknown rest (nan): a normal week
    temp = feats["temp"]
    receiver = pos >= POS_INDEX["WR"]
    return np.column_stack(
        [
            _lg(feats["ewm_pts"]),
            _lg(feats["ewm_long"]),
            _lg(usage_points(feats, pos, usage_w)),
            _lg(feats["vegas_pts"]),
            np.log(feats["implied_rel"]),
            (feats["missed_streak"] > 0).astype(np.float64),
            np.minimum(feats["missed_season"], MISSED_CAP),
            np.where(receiver, feats["tgt_trend"], feats["car_trend"]),
            np.log(feats["def_ratio"]),
            feats["home"],
            feats["indoor"],
            np.maximum(nz(feats["wind"]) - WIND_CALM, 0.0),
            np.maximum(COLD_F - np.where(temp == temp, temp, COLD_F), 0.0),  # nan != nan; unknown: mild
            (rest < SHORT_REST).astype(np.float64),
            (rest >= LONG_REST).astype(np.float64),
        ]
    )


def project(eng: Engine, feats: dict[str, np.ndarray], pos: np.ndarray) -> dict[str, np.ndarray]:
    """Projection (median), 80% interval (low, high) and the log-space design of every target (points, at least 0)."""
    x = design(feats, pos, eng.usage_w)
    z = eng.intercept[pos] + (x * eng.coef[pos]).sum(axis=1)
    debut = feats["n_prev"] == 0  # no earlier game: the position's typical debut
    return {
        "x": x,
        "z": z,
        "points": np.where(debut, eng.debut[pos, 0], np.maximum(np.exp(z) - LOG_OFFSET, 0.0)),
        "low": np.where(debut, eng.debut[pos, 1], np.maximum(np.exp(z + eng.q10[pos]) - LOG_OFFSET, 0.0)),
        "high": np.where(debut, eng.debut[pos, 2], np.exp(z + eng.q90[pos]) - LOG_OFFSET),
    }


def usage_points_one(f: dict[str, float], pos: int, eng: Engine) -> float:
    """:func:`usage_points` for one target's features of :func:`features.compute_one`."""
    weights = eng.usage_w[pos].tolist()
    return sum(w * (f[c] if f[c] == f[c] else 0.0) for w, c in zip(weights, USAGE_INPUTS, strict=True))


def design_one(f: dict[str, float], pos: int, eng: Engine) -> list[float]:
    """:func:`design` for one target's features of :func:`features.compute_one` (plain floats)."""
    usage = usage_points_one(f, pos, eng)
    rest = f["rest"] if f["rest"] == f["rest"] else 7.0
    temp = f["temp"] if f["temp"] == f["temp"] else COLD_F
    wind = f["wind"] if f["wind"] == f["wind"] else 0.0

    def lg(x: float) -> float:
        return math.log(max(x if x == x else 0.0, 0.0) + LOG_OFFSET)  # nan != nan

    return [
        lg(f["ewm_pts"]),
        lg(f["ewm_long"]),
        lg(usage),
        lg(f["vegas_pts"]),
        math.log(f["implied_rel"]),
        1.0 if f["missed_streak"] > 0 else 0.0,
        min(f["missed_season"], MISSED_CAP),
        f["tgt_trend"] if pos >= POS_INDEX["WR"] else f["car_trend"],
        math.log(f["def_ratio"]),
        f["home"],
        f["indoor"],
        max(wind - WIND_CALM, 0.0),
        max(COLD_F - temp, 0.0),
        1.0 if rest < SHORT_REST else 0.0,
        1.0 if rest >= LONG_REST else 0.0,
    ]


def engine_for(st: FeatureStore) -> Engine:
    """The engine of the store's scoring, built once per store."""
    eng = st.extras.get("engine")
    if eng is None:
        eng = st.extras.setdefault("engine", engine(st.scoring))
    return eng
