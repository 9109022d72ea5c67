"""Explain a prediction: the top readable factors behind it, each with its signed contribution in points."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fgrid.analysis.feature_store import POSITIONS
from fgrid.analysis.matchup.engine import TERMS
from fgrid.analysis.model.trained import TrainedModel, linear_engine

#: Explanations list this many factors.
TOP_FACTORS = 5

#: Features by readable factor (an explanation sums each factor's contributions).
FACTORS: dict[str, tuple[str, ...]] = {
    "recent form": ("ewm_pts", "pts_ewm50", "pts_ewm70", "pts_mean3", "pts_last1", "pts_med8", "mean8_ppr"),
    "longer-run scoring level": (
        "ewm_long",
        "pts_ewm95",
        "pts_med16",
        "pts_med32",
        "season_mean",
        "prev_season_mean",
        "career_mean",
    ),
    "scoring range (floor and ceiling)": ("pts_q25", "pts_q75", "pts_q90_32", "pts_q10_32", "pts_std16", "pts_max8"),
    "target share": (
        "tgt_share",
        "tgt_share_recent",
        "tgt_sh_last",
        "tgt_sh_long",
        "exp_tgt",
        "targets_ewm",
        "rec_ewm",
    ),
    "rushing share": (
        "car_share",
        "car_share_recent",
        "car_sh_last",
        "car_sh_long",
        "exp_car",
        "carries_ewm",
        "rush_yds_ewm",
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
        "missed_season",
        "missed_streak",
        "weeks_since",
        "days_since",
        "season_games",
        "team_season_games",
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
#: The linear model's terms (:data:`fgrid.analysis.matchup.engine.TERMS`) as factors.
TERM_FACTOR: dict[str, str] = {
    "recent": "recent form",
    "long_run": "longer-run scoring level",
    "usage": "target share",
    "team_share": "Vegas implied team total",
    "implied": "Vegas implied team total",
    "missed_last": "availability",
    "missed_season": "availability",
    "trend": "usage trend",
    "defence": "opponent vs position",
    "home": "home or away",
    "indoor": "roof",
    "wind": "weather",
    "cold": "weather",
    "short_rest": "rest days",
    "long_rest": "rest days",
}


def top_factors(
    model: TrainedModel, x: np.ndarray, feats: dict[str, np.ndarray], pos: int, design: np.ndarray
) -> list[dict[str, Any]]:
    """Top factors with their signed contribution in points, weighted as in the projection.

    Trees: SHAP values (``pred_contrib``) of the first bagged median model (the bagged models differ only by
    their seed; one keeps a predict fast). Linear part: each term's effect in points against the term's mean over
    the training rows.
    """
    w = model.linear_weight
    contrib = model.median[0].predict(x, pred_contrib=True, num_threads=1)[0]
    totals: dict[str, float] = {}
    for name, value in zip(model.feature_names, contrib[:-1].tolist(), strict=True):
        factor = FACTOR_OF.get(name, name)
        totals[factor] = totals.get(factor, 0.0) + (1.0 - w) * value
    eng = linear_engine(model)
    ref = np.asarray(model.linear_ref.get(POSITIONS[pos], np.zeros(len(TERMS))))
    z = float(eng.intercept[pos] + (design * eng.coef[pos]).sum())
    for j, term in enumerate(TERMS):
        delta = float(eng.coef[pos, j] * (design[j] - ref[j]))
        effect = (math.exp(z) - math.exp(z - delta)) if delta else 0.0
        factor = TERM_FACTOR.get(term, term)
        totals[factor] = totals.get(factor, 0.0) + w * effect
    top = sorted(totals.items(), key=lambda kv: abs(kv[1]), reverse=True)[:TOP_FACTORS]
    values = {k: float(np.asarray(a).ravel()[0]) for k, a in feats.items()}
    return [{"factor": name, "points": round(value, 2), "detail": _detail(name, values)} for name, value in top]


def _fmt_pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.0f}%"  # nan != nan


def _fmt(x: float, digits: int = 1) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}"  # nan != nan


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
        "position": lambda: POSITIONS[int(v["pos"])],
    }
    make = details.get(factor)
    try:
        return make() if make else ""
    except (KeyError, IndexError, ValueError):
        return ""
