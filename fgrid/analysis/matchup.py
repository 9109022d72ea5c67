"""One matchup analysis: a player against an opponent in one game, as of before its kickoff.

:func:`resolve_request` turns what a user typed into a :class:`MatchupRequest` (or raises InputError), and
:func:`analyze` returns a JSON-ready dict: the matchup score (0-100), a projection with an 80% interval, a
START/FLEX/SIT verdict with reasons, and every factor's value and effect in points.

The engine (see :data:`ENGINE`) is a median regression in log space, per position and scoring, on pre-kickoff
features from :mod:`fgrid.analysis.features`::

    log(points + 3) = intercept + sum(coef[term] * term)

with terms: the player's recent weighted average and his longer-run average (points), a usage-based expectation
(his shares of team targets, carries, air yards and pass attempts times the team's volume, in points), his share
of team points times the Vegas implied team total, the implied total against the league's, availability (missed
the team's last game; team games missed this season), and small, shrunk context terms (usage trend, the
opponent's schedule-adjusted points allowed to the position, home/away, roof, wind, cold, rest). Points are
right-skewed, so fitting the median (what mean absolute error rewards) in log space lands below the average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from fgrid.analysis import features as F
from fgrid.analysis import players, teams, venues
from fgrid.errors import InputError

if TYPE_CHECKING:
    from fgrid.analysis.data import Dataset
    from fgrid.analysis.venues import Venue

#: Scoring formats (points per reception 1, 0.5, 0).
SCORINGS = ("ppr", "half", "standard")
SCORING_LABELS = {"ppr": "PPR", "half": "half-PPR", "standard": "standard"}

#: The engine fits log(points + LOG_OFFSET): the offset keeps zero-point weeks finite.
LOG_OFFSET = 3.0
#: The engine's terms, in the order of each position's coefficients.
TERMS = (
    "recent", "long_run", "usage", "team_share", "implied", "missed_last", "missed_season",
    "trend", "defence", "home", "indoor", "wind", "cold", "short_rest", "long_rest",
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

#: Fitted constants, per scoring and position: usage weights (points per expected target, carry, air yard, pass
#: attempt), the intercept and coefficients of TERMS, the 10% and 90% quantiles of the log residuals (the 80%
#: interval), the START and FLEX point lines, and the spread across teams of the schedule-adjusted
#: points-allowed ratio (the matchup score's scale). Fit by :func:`fgrid.analysis.backtest.fit_engine` on the
#: 2019-2022 regular seasons (weeks 3-18; rows with 4+ earlier games and 5+ PPR points a game over the last 8):
#: usage weights by non-negative least squares, the rest by median (L1) regression of log(points + 3), small
#: terms shrunk by half and the intercept re-centred, interval quantiles from the same rows' residuals.
ENGINE: dict[str, dict[str, dict[str, Any]]] = {
    "ppr": {
        "QB": {
            "usage": {"exp_att": 0.38657, "exp_car": 0.96648},
            "intercept": 0.70447,
            "coef": {
                "recent": 0.36187, "long_run": 0.03614, "usage": 0.2105, "team_share": 0.15716,
                "implied": 0.10585, "missed_last": -0.3806, "missed_season": -0.01828, "trend": 0.00428,
                "defence": 0.16096, "home": 0.00719, "indoor": 0.01246, "wind": -0.00623,
                "cold": 0.00041, "short_rest": -0.00852, "long_rest": -0.0139,
            },
            "q10": -0.76442, "q90": 0.47687, "start": 16.632, "flex": 14.912,
            "def_scale": 0.10736, "debut": [1.9, 0.0, 17.2],
        },
        "RB": {
            "usage": {"exp_tgt": 1.30114, "exp_car": 0.65479, "exp_ay": 0.0},
            "intercept": -0.30404,
            "coef": {
                "recent": 0.06602, "long_run": 0.27406, "usage": 0.4942, "team_share": 0.24109,
                "implied": 0.11748, "missed_last": -0.1322, "missed_season": -0.02074, "trend": 0.09408,
                "defence": 0.23691, "home": 0.0036, "indoor": 0.00122, "wind": 0.00036,
                "cold": -0.00048, "short_rest": 0.02283, "long_rest": 0.02824,
            },
            "q10": -0.72603, "q90": 0.69634, "start": 9.596, "flex": 6.808,
            "def_scale": 0.11573, "debut": [2.4, 0.2, 12.2],
        },
        "WR": {
            "usage": {"exp_tgt": 1.53723, "exp_car": 1.08752, "exp_ay": 0.01361},
            "intercept": -0.17044,
            "coef": {
                "recent": 0.11344, "long_run": 0.41052, "usage": 0.4089, "team_share": 0.09615,
                "implied": 0.16358, "missed_last": -0.19083, "missed_season": -0.01635, "trend": -0.02302,
                "defence": 0.04093, "home": -0.00992, "indoor": 0.03781, "wind": -0.00427,
                "cold": 0.00161, "short_rest": 0.00404, "long_rest": -0.03721,
            },
            "q10": -0.80064, "q90": 0.68494, "start": 11.413, "flex": 9.533,
            "def_scale": 0.08488, "debut": [2.6, 0.0, 10.47],
        },
        "TE": {
            "usage": {"exp_tgt": 1.5821, "exp_car": 1.30353, "exp_ay": 0.01249},
            "intercept": 0.01148,
            "coef": {
                "recent": -0.24213, "long_run": 0.45263, "usage": 0.67078, "team_share": 0.09304,
                "implied": 0.38344, "missed_last": -0.0846, "missed_season": -0.01772, "trend": 0.07241,
                "defence": 0.07498, "home": -0.01009, "indoor": -0.00219, "wind": -0.00494,
                "cold": 0.00039, "short_rest": 0.01265, "long_rest": -0.06632,
            },
            "q10": -0.72121, "q90": 0.60898, "start": 7.833, "flex": 6.479,
            "def_scale": 0.13837, "debut": [1.7, 0.0, 7.3],
        },
    },
    "half": {
        "QB": {
            "usage": {"exp_att": 0.3866, "exp_car": 0.96405},
            "intercept": 0.76721,
            "coef": {
                "recent": 0.35147, "long_run": 0.07236, "usage": 0.17814, "team_share": 0.14369,
                "implied": 0.09576, "missed_last": -0.37827, "missed_season": -0.01917, "trend": 0.00231,
                "defence": 0.18023, "home": 0.00672, "indoor": 0.01038, "wind": -0.00648,
                "cold": 0.0002, "short_rest": -0.00396, "long_rest": -0.01543,
            },
            "q10": -0.77324, "q90": 0.4752, "start": 16.737, "flex": 14.988,
            "def_scale": 0.10746, "debut": [1.9, 0.0, 17.2],
        },
        "RB": {
            "usage": {"exp_tgt": 0.98312, "exp_car": 0.64199, "exp_ay": 0.0},
            "intercept": -0.3585,
            "coef": {
                "recent": 0.08541, "long_run": 0.20388, "usage": 0.54366, "team_share": 0.26072,
                "implied": 0.14086, "missed_last": -0.12566, "missed_season": -0.02092, "trend": 0.09071,
                "defence": 0.24283, "home": -0.00033, "indoor": -0.00169, "wind": 0.00142,
                "cold": -0.00047, "short_rest": 0.01996, "long_rest": 0.01099,
            },
            "q10": -0.69945, "q90": 0.71362, "start": 8.327, "flex": 5.87,
            "def_scale": 0.1257, "debut": [2.0, 0.2, 11.3],
        },
        "WR": {
            "usage": {"exp_tgt": 1.17177, "exp_car": 1.01281, "exp_ay": 0.01914},
            "intercept": -0.24699,
            "coef": {
                "recent": -0.01226, "long_run": 0.51977, "usage": 0.42022, "team_share": 0.12519,
                "implied": 0.17477, "missed_last": -0.18807, "missed_season": -0.01853, "trend": -0.01631,
                "defence": 0.01941, "home": -0.01005, "indoor": 0.03963, "wind": -0.00402,
                "cold": 0.00136, "short_rest": 0.00647, "long_rest": -0.04074,
            },
            "q10": -0.74228, "q90": 0.72129, "start": 9.055, "flex": 7.6,
            "def_scale": 0.09044, "debut": [2.0, 0.0, 8.64],
        },
        "TE": {
            "usage": {"exp_tgt": 1.22881, "exp_car": 1.28979, "exp_ay": 0.01621},
            "intercept": -0.1667,
            "coef": {
                "recent": -0.41044, "long_run": 0.60018, "usage": 0.73051, "team_share": 0.11284,
                "implied": 0.41654, "missed_last": -0.06091, "missed_season": -0.01159, "trend": 0.07627,
                "defence": 0.08914, "home": -0.01116, "indoor": -0.00124, "wind": -0.00542,
                "cold": -1e-05, "short_rest": 0.0151, "long_rest": -0.06747,
            },
            "q10": -0.65779, "q90": 0.65322, "start": 5.978, "flex": 4.893,
            "def_scale": 0.14978, "debut": [1.2, 0.0, 6.76],
        },
    },
    "standard": {
        "QB": {
            "usage": {"exp_att": 0.38662, "exp_car": 0.96162},
            "intercept": 0.86586,
            "coef": {
                "recent": 0.38121, "long_run": 0.04816, "usage": 0.11887, "team_share": 0.16346,
                "implied": 0.08532, "missed_last": -0.35782, "missed_season": -0.02003, "trend": 0.00239,
                "defence": 0.17717, "home": 0.00723, "indoor": 0.00835, "wind": -0.00654,
                "cold": 0.0002, "short_rest": -0.00558, "long_rest": -0.01561,
            },
            "q10": -0.7736, "q90": 0.47619, "start": 16.73, "flex": 14.977,
            "def_scale": 0.10757, "debut": [1.9, 0.0, 17.2],
        },
        "RB": {
            "usage": {"exp_tgt": 0.66511, "exp_car": 0.62919, "exp_ay": 0.0},
            "intercept": -0.42701,
            "coef": {
                "recent": 0.13563, "long_run": 0.10098, "usage": 0.64199, "team_share": 0.23658,
                "implied": 0.17669, "missed_last": -0.15134, "missed_season": -0.01377, "trend": 0.08743,
                "defence": 0.24151, "home": -0.00064, "indoor": 0.00407, "wind": 0.0021,
                "cold": -0.00044, "short_rest": 0.02258, "long_rest": -0.00107,
            },
            "q10": -0.67589, "q90": 0.75757, "start": 7.255, "flex": 4.955,
            "def_scale": 0.14035, "debut": [1.5, 0.2, 9.0],
        },
        "WR": {
            "usage": {"exp_tgt": 0.80631, "exp_car": 0.93811, "exp_ay": 0.02467},
            "intercept": -0.23669,
            "coef": {
                "recent": -0.0971, "long_run": 0.49796, "usage": 0.51126, "team_share": 0.12769,
                "implied": 0.23793, "missed_last": -0.17601, "missed_season": -0.01906, "trend": -0.01863,
                "defence": -0.02916, "home": -0.00753, "indoor": 0.03422, "wind": -0.00417,
                "cold": 0.00176, "short_rest": 0.00404, "long_rest": -0.04181,
            },
            "q10": -0.67466, "q90": 0.78374, "start": 6.655, "flex": 5.521,
            "def_scale": 0.10101, "debut": [1.4, 0.0, 6.74],
        },
        "TE": {
            "usage": {"exp_tgt": 0.87553, "exp_car": 1.27605, "exp_ay": 0.01992},
            "intercept": -0.28842,
            "coef": {
                "recent": -0.30915, "long_run": 0.51209, "usage": 0.76051, "team_share": 0.10115,
                "implied": 0.46374, "missed_last": -0.03079, "missed_season": -0.00325, "trend": 0.04626,
                "defence": 0.08426, "home": -0.0156, "indoor": 0.00354, "wind": -0.00567,
                "cold": 0.0006, "short_rest": 0.00683, "long_rest": -0.05259,
            },
            "q10": -0.5796, "q90": 0.72749, "start": 4.159, "flex": 3.292,
            "def_scale": 0.17113, "debut": [0.7, 0.0, 5.68],
        },
    },
}

#: A matchup score of 50 is an average defence; +-DEF_SCALE (one spread of the ratio across teams) is about +-23.
SCORE_SLOPE = 0.5


@dataclass(frozen=True)
class MatchupRequest:
    """A resolved request: who, against whom, which game (or a hypothetical one), where, in which scoring."""

    player_id: str
    player_name: str
    position: str
    team: str
    opponent: str
    season: int
    week: int
    home: bool | None  # the schedule's home side; None for a hypothetical game at no known venue
    neutral: bool  # a neutral site: no home-field effect
    venue: Venue | None
    game_id: str | None  # None for a hypothetical game (no scheduled game between the teams that week)
    gameday: date | None
    scoring: str
    location: str | None  # the location asked for (as a stadium id), if any

    def task_kwargs(self) -> dict[str, Any]:
        """The canonical kwargs of the analysis task (player id, opponent code, season, week resolved)."""
        return {
            "player": self.player_id,
            "opponent": self.opponent,
            "location": self.location,
            "season": self.season,
            "week": self.week,
            "scoring": self.scoring,
        }


# ---------------------------------------------------------------------------------------------------------------
# The engine


@dataclass(frozen=True)
class Engine:
    """:data:`ENGINE` for one scoring, as arrays indexed by position (:data:`features.POSITIONS` order)."""

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
    rows = [table[p] for p in F.POSITIONS]
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
    return np.log(np.maximum(F.nz(x), 0.0) + LOG_OFFSET)


def usage_points(feats: dict[str, np.ndarray], pos: np.ndarray, usage_w: np.ndarray) -> np.ndarray:
    """Points his expected opportunities are worth at his position's rates (per game, the engine's scoring)."""
    inputs = np.column_stack([feats[c] for c in USAGE_INPUTS])
    return (usage_w[pos] * F.nz(inputs)).sum(axis=1)


def design(feats: dict[str, np.ndarray], pos: np.ndarray, usage_w: np.ndarray) -> np.ndarray:
    """The engine's terms (columns in :data:`TERMS` order) for feature arrays of :func:`features.compute`."""
    rest = feats["rest"]
    rest = np.where(rest == rest, rest, 7.0)  # unknown rest (nan): a normal week
    temp = feats["temp"]
    receiver = pos >= F.POS_INDEX["WR"]
    return np.column_stack([
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
        np.maximum(F.nz(feats["wind"]) - WIND_CALM, 0.0),
        np.maximum(COLD_F - np.where(temp == temp, temp, COLD_F), 0.0),  # unknown: mild
        (rest < SHORT_REST).astype(np.float64),
        (rest >= LONG_REST).astype(np.float64),
    ])


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
        return math.log(max(x if x == x else 0.0, 0.0) + LOG_OFFSET)

    return [
        lg(f["ewm_pts"]),
        lg(f["ewm_long"]),
        lg(usage),
        lg(f["vegas_pts"]),
        math.log(f["implied_rel"]),
        1.0 if f["missed_streak"] > 0 else 0.0,
        min(f["missed_season"], MISSED_CAP),
        f["tgt_trend"] if pos >= F.POS_INDEX["WR"] else f["car_trend"],
        math.log(f["def_ratio"]),
        f["home"],
        f["indoor"],
        max(wind - WIND_CALM, 0.0),
        max(COLD_F - temp, 0.0),
        1.0 if rest < SHORT_REST else 0.0,
        1.0 if rest >= LONG_REST else 0.0,
    ]


def matchup_score(ratio: float, scale: float) -> float:
    """0-100 from the opponent's schedule-adjusted points-allowed ratio: 50 is average, higher is a softer defence."""
    return float(min(100.0, max(0.0, 50.0 + 50.0 * math.tanh(SCORE_SLOPE * (ratio - 1.0) / scale))))


# ---------------------------------------------------------------------------------------------------------------
# Resolving a request


def check_scoring(scoring: str) -> str:
    """``scoring`` normalized (ppr, half or standard); InputError for anything else."""
    value = str(scoring).strip().lower()
    if value not in SCORINGS:
        raise InputError(f"unknown scoring '{scoring}'; use one of: {', '.join(SCORINGS)}")
    return value


def _meetings(st: F.FeatureStore) -> dict[tuple[str, str], list[int]]:
    """Keys of every scheduled game between two teams, sorted, by (team, opponent)."""
    found = st.extras.get("meetings")
    if found is None:
        found = {}
        for (season, week, team), ctx in st.contexts.items():
            found.setdefault((team, ctx.opponent), []).append(F.game_key(season, week))
        for keys in found.values():
            keys.sort()
        reg = sorted({c.key for c in st.contexts.values() if c.game_type == "REG"})
        st.extras["reg_keys"] = np.array(reg, dtype=np.int64)
        weeks: dict[int, int] = {}
        for season, week, _team in st.contexts:
            weeks[season] = max(weeks.get(season, 0), week)
        st.extras["season_weeks"] = weeks
        st.extras["meetings"] = found  # last: its presence means the others are there
    return found


def _team_at(st: F.FeatureStore, pidx: int, key: int) -> tuple[int, int]:
    """(team index, position index) of the player for a game at ``key``: that game's row if he has one, else his
    last game before it, else his first game after it."""
    rows = st.player_rows(pidx)
    r = int(np.searchsorted(st.p_comb[rows], pidx * F.BLOCK + key)) + rows.start
    if st.p_key[r] == key or r == rows.start:
        return int(st.p_team[r]), int(st.p_pos[r])
    return int(st.p_team[r - 1]), int(st.p_pos[r - 1])


def _next_reg_key(st: F.FeatureStore) -> int:
    """The first regular-season week after the data's last game (or week 1 of the season after)."""
    _meetings(st)
    reg = st.extras["reg_keys"]
    i = int(np.searchsorted(reg, st.last_key, side="right"))
    return int(reg[i]) if i < len(reg) else F.game_key(st.last_stats_season + 1, 1)


def _venue_dict(venue: Venue | None, ctx: F.GameContext | None) -> dict[str, Any] | None:
    if venue is not None:
        return {
            "stadium_id": venue.stadium_id, "name": venue.name, "city": venue.city,
            "state": venue.state or venue.country, "roof": ctx.roof if ctx and ctx.roof else venue.roof,
            "surface": ctx.surface if ctx and ctx.surface else venue.surface, "altitude_ft": venue.altitude_ft,
        }
    if ctx is not None and (ctx.stadium or ctx.stadium_id):
        return {"stadium_id": ctx.stadium_id, "name": ctx.stadium, "city": None, "state": None, "roof": ctx.roof,
                "surface": ctx.surface, "altitude_ft": None}
    return None


def resolve_request(
    ds: Dataset,
    player: str,
    opponent: str,
    location: str | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
) -> MatchupRequest:
    """Resolve a matchup request against the data, or raise InputError saying what is wrong.

    ``player`` is a name or an id (:func:`players.resolve_player`), ``opponent`` a team code, city or nickname,
    ``location`` a city (``Santa Clara, CA``), stadium name or stadium id. With neither ``season`` nor ``week``,
    the game is the next scheduled one between the player's team and the opponent after the data's last game,
    else a hypothetical game in the first regular-season week after the data. With ``season`` only, it is the
    teams' first meeting that season (after the data's last game, if any is). A week with no game between the
    teams is an error in a season the schedules cover; ``location`` must be the game's venue (or, for a
    hypothetical game, either team's home or a neutral site) and sets home or away.
    """
    scoring = check_scoring(scoring)
    st = F.store(ds, scoring)
    meetings = _meetings(st)
    season_weeks: dict[int, int] = st.extras["season_weeks"]
    found = players.resolve_player(ds, str(player), season=season)
    pidx = st.player_index.get(found.id)
    if pidx is None:
        raise InputError(f"no games for {found.name} in the synced data")
    opp = teams.resolve_team(str(opponent)).code
    if opp not in st.team_index:
        raise InputError(f"no games for team {opp} in the synced data")

    first, last = st.first_stats_season, max(max(season_weeks, default=0), st.last_stats_season + 1)
    if season is not None and not first <= season <= last:
        raise InputError(f"season {season} is out of range; the data covers {first}-{last}")
    if week is not None and season is not None:
        max_week = season_weeks.get(season, 18)
        if not 1 <= week <= max_week:
            raise InputError(f"week {week} is out of range for {season} (1-{max_week})")

    latest_team = st.teams[int(st.p_team[st.player_rows(pidx).stop - 1])]
    # A hypothetical game (no scheduled game between the teams) only by default, or in a season not scheduled.
    hypothetical_ok = False
    if season is None and week is None:
        later = [k for k in meetings.get((latest_team, opp), []) if k > st.last_key]
        hypothetical_ok = not later
        key = later[0] if later else _next_reg_key(st)
    elif week is None:
        assert season is not None
        tidx_s, _ = _team_at(st, pidx, F.game_key(season, 1))
        keys = [k for k in meetings.get((st.teams[tidx_s], opp), []) if k // F.KEY_SEASON == season]
        keys = keys or [k for k in meetings.get((latest_team, opp), []) if k // F.KEY_SEASON == season]
        if keys:
            later = [k for k in keys if k > st.last_key]
            key = later[0] if later else keys[0]
        elif season in season_weeks:
            raise InputError(f"{st.teams[tidx_s]} and {opp} do not play each other in {season}; give a week")
        else:
            hypothetical_ok = True
            key = F.game_key(season, 1)
    else:
        if season is None:
            season = _next_reg_key(st) // F.KEY_SEASON
            if not 1 <= week <= season_weeks.get(season, 18):
                raise InputError(f"week {week} is out of range for {season} (1-{season_weeks.get(season, 18)})")
        hypothetical_ok = season not in season_weeks
        key = F.game_key(season, week)
    season, week = key // F.KEY_SEASON, key % F.KEY_SEASON

    tidx, pos_idx = _team_at(st, pidx, key)
    team = st.teams[tidx]
    position = F.POSITIONS[pos_idx] if pos_idx >= 0 else found.position
    if position not in F.POSITIONS:
        raise InputError(f"{found.name} is a {position}; fgrid projects QB, RB, WR and TE")
    if team == opp:
        raise InputError(f"{opp} is {found.name}'s own team in {season}; pick another opponent")
    ctx = st.context(season, week, team)
    if ctx is None or ctx.opponent != opp:
        if not hypothetical_ok:
            what = f"{team} plays {ctx.opponent}" if ctx else f"{team} has no game"
            raise InputError(f"no {team}-{opp} game in {season} week {week} ({what} that week)")
        ctx = None

    venue = None
    asked = None
    if location is not None and str(location).strip():
        venue = venues.resolve_location(str(location))
        asked = venue.stadium_id
    if ctx is not None:
        game_venue = venues.get_venue(ctx.stadium_id) if ctx.stadium_id else None
        if venue is not None:
            home_side = team if ctx.nominal_home else opp
            same = venue.stadium_id == ctx.stadium_id or (not ctx.neutral and home_side in venue.home_teams)
            if not same:
                where = f"{ctx.stadium} ({game_venue.location})" if game_venue else ctx.stadium or ctx.stadium_id
                raise InputError(
                    f"the {season} week {week} {team}-{opp} game is at {where}, not at {venue.name} ({venue.location})"
                )
        venue = game_venue or venue
        home: bool | None = ctx.nominal_home
        neutral = ctx.neutral
        game_id, gameday = ctx.game_id, ctx.gameday
    else:
        game_id, gameday, home, neutral = None, None, None, False
        if venue is not None:
            if team in venue.home_teams:
                home = True
            elif opp in venue.home_teams:
                home = False
            elif venue.neutral:
                neutral = True
            else:
                raise InputError(
                    f"{venue.name} ({venue.location}) is neither {team}'s nor {opp}'s home, nor a neutral site"
                )
    return MatchupRequest(
        player_id=found.id, player_name=found.name, position=position, team=team, opponent=opp, season=season,
        week=week, home=home, neutral=neutral, venue=venue, game_id=game_id, gameday=gameday, scoring=scoring,
        location=asked,
    )


# ---------------------------------------------------------------------------------------------------------------
# Analysis


def warm(ds: Dataset, scorings: tuple[str, ...] = SCORINGS) -> None:
    """Build every index an analysis needs (player names, feature stores, meetings), so the first call is fast."""
    for scoring in scorings:
        st = F.store(ds, scoring)
        players.player_index(ds)
        _meetings(st)
        engine_for(st)


def engine_for(st: F.FeatureStore) -> Engine:
    """The engine of the store's scoring, built once per store."""
    eng = st.extras.get("engine")
    if eng is None:
        eng = st.extras.setdefault("engine", engine(st.scoring))
    return eng


def _features_one(st: F.FeatureStore, req: MatchupRequest) -> tuple[dict[str, float], F.GameContext | None]:
    ctx = st.context(req.season, req.week, req.team) if req.game_id else None
    if ctx is not None:
        home, implied, indoor, temp, wind, rest = ctx.home, ctx.implied, ctx.indoor, ctx.temp, ctx.wind, ctx.rest
    else:
        nan = float("nan")
        home = 0 if req.home is None or req.neutral else (1 if req.home else -1)
        indoor = req.venue is not None and req.venue.roof == "dome"
        implied, temp, wind, rest = nan, nan, nan, nan
    feats = F.compute_one(
        st,
        st.player_index[req.player_id],
        st.team_index[req.team],
        st.team_index[req.opponent],
        req.season,
        req.week,
        F.POS_INDEX[req.position],
        home=float(home),
        implied=float(implied),
        indoor=bool(indoor),
        temp=float(temp),
        wind=float(wind),
        rest=float(rest),
    )
    return feats, ctx


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _prob_below(t: float, points: float, low: float, high: float) -> float:
    """P(score < t) under a split normal with median ``points`` and 10%/90% quantiles ``low``/``high``."""
    spread = (points - low) if t < points else (high - points)
    return _phi((t - points) / max(spread / 1.2816, 1e-6))


def verdict(position: str, points: float, low: float, high: float, eng: Engine) -> tuple[str, float]:
    """START, FLEX or SIT by the position's point lines, and the confidence in it (0.5-1).

    The lines are position-aware, by rank among the position's weekly projections: START at or above the line of
    a top-12 QB or TE or a top-24 RB or WR (a 12-team league's starters), FLEX down to the line of a top-18 QB or
    TE or a top-36 RB or WR, SIT below (see :data:`START_RANK`, :data:`FLEX_RANK` and how :data:`ENGINE` fits
    the lines). The confidence is the chance (from the projection's interval, as a split normal) that he scores on the
    verdict's side of the nearest line: above the START line for START, below the FLEX line for SIT, and for
    FLEX on the same side as the projection of whichever line is nearer.
    """
    p = F.POS_INDEX[position]
    start, flex = float(eng.start_line[p]), float(eng.flex_line[p])
    if points >= start:
        return "START", 1.0 - _prob_below(start, points, low, high)
    if points < flex:
        return "SIT", _prob_below(flex, points, low, high)
    if start - points < points - flex:
        return "FLEX", _prob_below(start, points, low, high)
    return "FLEX", 1.0 - _prob_below(flex, points, low, high)


#: Reported factors: name and the engine terms whose effect it carries (the remainder is "Typical week").
_FACTORS = (
    ("Recent scoring", ("long_run",)),
    ("Usage", ("usage", "trend")),
    ("Vegas", ("team_share", "implied")),
    ("Availability", ("missed_last", "missed_season")),
    ("Opponent", ("defence",)),
    ("Home/away", ("home",)),
    ("Roof", ("indoor",)),
    ("Wind", ("wind",)),
    ("Temperature", ("cold",)),
    ("Rest", ("short_rest", "long_rest")),
)
_TERM_INDEX = {t: i for i, t in enumerate(TERMS)}
#: Points-valued terms: neutral is "in line with his recent scoring".
_POINT_TERMS = frozenset({"long_run", "usage", "team_share"})


def _effects(x: list[float], coef: list[float], z: float, neutral_recent: float) -> dict[str, float]:
    """Points each factor adds: the projection minus the projection with that factor's terms set to neutral.

    Neutral is "in line with his recent scoring" for the points-valued terms (long-run form, usage, share of
    team points) and zero otherwise (league-average implied total, no games missed, an average defence, a
    neutral site, outdoors in calm mild weather, normal rest, no trend).
    """
    points = math.exp(z) - LOG_OFFSET
    out = {}
    for name, terms in _FACTORS:
        shift = 0.0
        for t in terms:
            i = _TERM_INDEX[t]
            shift += coef[i] * (x[i] - (neutral_recent if t in _POINT_TERMS else 0.0))
        out[name] = points - (math.exp(z - shift) - LOG_OFFSET)
    return out


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def analyze(
    ds: Dataset,
    player: str,
    opponent: str,
    location: str | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
) -> dict[str, Any]:
    """Analyze ``player`` against ``opponent`` in one game (see :func:`resolve_request`), as of before kickoff.

    Returns a JSON-ready dict: ``player`` {id, name, position, team}, ``opponent`` {code, name}, ``game`` {season,
    week, home, neutral, venue, game_id, kickoff}, ``matchup_score`` (0-100, 50 an average defence against the
    position), ``projection`` {points, low, high} (median and 80% interval, fantasy points in ``scoring``),
    ``recommendation`` {verdict, confidence, reasons}, ``factors`` [{name, value, effect, description}] (effect:
    points, signed; the recent weighted average plus every effect is the projection), ``data_through`` (date of
    the last game the analysis could use) and ``scoring``. Only games before kickoff are used.
    """
    req = resolve_request(ds, player, opponent, location, season, week, scoring)
    return analyze_request(ds, req)


def analyze_request(ds: Dataset, req: MatchupRequest) -> dict[str, Any]:
    """:func:`analyze` of an already resolved request."""
    st = F.store(ds, req.scoring)
    eng = engine_for(st)
    f, ctx = _features_one(st, req)
    p = F.POS_INDEX[req.position]
    x = design_one(f, p, eng)
    coef = eng.coef[p].tolist()
    z = float(eng.intercept[p]) + sum(c * v for c, v in zip(coef, x, strict=True))
    if f["n_prev"] > 0:
        points = max(math.exp(z) - LOG_OFFSET, 0.0)
        low = max(math.exp(z + float(eng.q10[p])) - LOG_OFFSET, 0.0)
        high = math.exp(z + float(eng.q90[p])) - LOG_OFFSET
    else:
        points, low, high = (float(v) for v in eng.debut[p])
    recent = f["ewm_pts"] if f["ewm_pts"] == f["ewm_pts"] else 0.0
    if f["n_prev"] > 0:
        effects = _effects(x, coef, z, math.log(recent + LOG_OFFSET))
    else:
        effects = {name: 0.0 for name, _terms in _FACTORS}
    typical = points - recent - sum(effects.values())
    label = SCORING_LABELS[req.scoring]
    ratio = f["def_ratio"]
    score = matchup_score(ratio, float(eng.def_scale[p]))
    verdict_, confidence = verdict(req.position, points, low, high, eng)
    usage_pts = usage_points_one(f, p, eng)
    opp_team = teams.resolve_team(req.opponent)

    factors = _factor_list(req, f, effects, typical, recent, usage_pts, ratio, ctx, label)
    reasons = _reasons(req, f, effects, ratio, points, verdict_, eng, label, ctx)
    kickoff = req.gameday.isoformat() if req.gameday else None
    through = st.data_through(F.game_key(req.season, req.week))
    return {
        "player": {"id": req.player_id, "name": req.player_name, "position": req.position, "team": req.team},
        "opponent": {"code": req.opponent, "name": opp_team.name},
        "game": {
            "season": req.season,
            "week": req.week,
            "home": req.home,
            "neutral": req.neutral,
            "venue": _venue_dict(req.venue, ctx),
            "game_id": req.game_id,
            "kickoff": kickoff,
            "game_type": ctx.game_type if ctx else None,
        },
        "matchup_score": round(score, 1),
        "projection": {"points": round(points, 2), "low": round(low, 2), "high": round(high, 2)},
        "recommendation": {"verdict": verdict_, "confidence": round(confidence, 3), "reasons": reasons},
        "factors": factors,
        "data_through": through.isoformat() if through else None,
        "scoring": req.scoring,
    }


def _num(x: float, digits: int = 2) -> float | None:
    return None if x is None or math.isnan(x) else round(x, digits)


def _factor_list(
    req: MatchupRequest, f: dict[str, float], effects: dict[str, float], typical: float, recent: float,
    usage_pts: float, ratio: float, ctx: F.GameContext | None, label: str,
) -> list[dict[str, Any]]:
    pos = req.position
    n_prev = int(f["n_prev"])
    out = []

    def add(name: str, value: Any, effect: float, description: str) -> None:
        out.append({"name": name, "value": value, "effect": round(effect, 2), "description": description})

    add("Recent scoring", _num(recent), effects["Recent scoring"],
        f"{recent:.1f} {label} points a game, weighted toward his latest of {min(n_prev, 16)} games; "
        f"{_num(f['ewm_long'], 1) or 0:.1f} over a longer span (up to 32 games)" if n_prev else "no earlier games")
    if pos == "QB":
        usage_value = _num(f["att_share"], 3)
        usage_text = (f"{_pct(f['att_share'] or 0)} of {req.team}'s pass attempts and {_pct(f['car_share'] or 0)} of "
                      f"its carries recently: {f['exp_att']:.1f} attempts and {f['exp_car']:.1f} carries expected")
    elif pos == "RB":
        usage_value = _num(f["car_share"], 3)
        usage_text = (f"{_pct(f['car_share'] or 0)} of {req.team}'s carries and {_pct(f['tgt_share'] or 0)} of its "
                      f"targets recently: {f['exp_car']:.1f} carries and {f['exp_tgt']:.1f} targets expected")
    else:
        usage_value = _num(f["tgt_share"], 3)
        usage_text = (f"{_pct(f['tgt_share'] or 0)} of {req.team}'s targets and {_pct(f['ay_share'] or 0)} of its "
                      f"air yards recently: {f['exp_tgt']:.1f} targets expected")
    trend = f["tgt_trend"] if pos in ("WR", "TE") else f["car_trend"]
    trend_text = "rising" if trend > 0.15 else "falling" if trend < -0.15 else "steady"
    add("Usage", usage_value, effects["Usage"],
        f"{usage_text}, worth about {usage_pts:.1f} {label} points; usage over the last 3 games is {trend_text}"
        if n_prev else "no earlier games")
    if not math.isnan(f["implied"]):
        vegas_text = (f"Vegas implies {f['implied']:.1f} points for {req.team} (league average "
                      f"{F.LEAGUE_IMPLIED:.1f}); his {_pct(f['pts_share'] or 0)} share of team points makes "
                      f"{f['vegas_pts']:.1f}")
    else:
        vegas_text = (f"no betting line for this game; {req.team} scores {f['team_pts']:.1f} points a game "
                      f"recently and his share is {_pct(f['pts_share'] or 0)}") if not math.isnan(f["team_pts"]) \
            else "no betting line for this game"
    add("Vegas", _num(f["implied"], 2), effects["Vegas"], vegas_text)
    missed = int(f["missed_season"])
    streak = int(f["missed_streak"])
    avail = (f"missed {missed} of {req.team}'s {int(f['team_season_games'])} games this season"
             + (f", including the last {streak}" if streak else "")) if missed or streak else \
        "played every team game this season so far"
    add("Availability", missed, effects["Availability"], avail)
    scheduled = f" over {int(f['def_games'])} games" if f["def_games"] else " (last season's, regressed)"
    add("Opponent", round(ratio - 1.0, 3), effects["Opponent"],
        f"{req.opponent} allows {_pct(abs(ratio - 1))} {'more' if ratio >= 1 else 'fewer'} {label} points to "
        f"{pos}s than average, schedule-adjusted{scheduled}")
    if req.neutral:
        where, where_text = "neutral", "neutral site: no home-field effect"
    elif req.home is None:
        where, where_text = "unknown", "venue unknown: no home-field effect"
    else:
        where = "home" if req.home else "away"
        where_text = f"{where} game"
    add("Home/away", where, effects["Home/away"], where_text)
    roof = ctx.roof if ctx else (req.venue.roof if req.venue else None)
    add("Roof", roof, effects["Roof"], f"roof: {roof}" if roof else "roof unknown")
    indoor = f["indoor"] > 0
    wind_v = None if indoor or math.isnan(f["wind"]) else f["wind"]
    add("Wind", wind_v, effects["Wind"],
        "indoors: no wind" if indoor else (f"{wind_v:.0f} mph at kickoff" if wind_v is not None else "wind unknown"))
    temp_v = None if indoor or math.isnan(f["temp"]) else f["temp"]
    add("Temperature", temp_v, effects["Temperature"],
        "indoors" if indoor else (f"{temp_v:.0f} F at kickoff" if temp_v is not None else "temperature unknown"))
    rest = None if math.isnan(f["rest"]) else int(f["rest"])
    add("Rest", rest, effects["Rest"], f"{rest} days since {req.team}'s previous game" if rest is not None
        else "rest unknown")
    add("Typical week", None, typical,
        "fantasy points are right-skewed (a few big games lift the average), so the projection is the median "
        "week, usually below the average" if n_prev else
        f"no earlier games: the projection is the median debut of a {pos} in the data")
    return out


def _reasons(
    req: MatchupRequest, f: dict[str, float], effects: dict[str, float], ratio: float, points: float,
    verdict_: str, eng: Engine, label: str, ctx: F.GameContext | None,
) -> list[str]:
    pos = req.position
    p = F.POS_INDEX[pos]
    start_n, flex_n = START_RANK[pos], FLEX_RANK[pos]
    start, flex = float(eng.start_line[p]), float(eng.flex_line[p])
    if verdict_ == "START":
        tier = f"in the range of a top-{start_n} {pos} (line {start:.1f})"
    elif verdict_ == "FLEX":
        tier = f"between the top-{start_n} ({start:.1f}) and top-{flex_n} ({flex:.1f}) {pos} lines"
    else:
        tier = f"below the top-{flex_n} {pos} line ({flex:.1f})"
    reasons = [f"Projected {points:.1f} {label} points, {tier}"]
    if abs(ratio - 1) < 0.03:
        reasons.append(f"{req.opponent} allows about average {label} points to {pos}s (schedule-adjusted)")
    else:
        reasons.append(f"{req.opponent} allows {_pct(abs(ratio - 1))} {'more' if ratio > 1 else 'fewer'} {label} "
                       f"points to {pos}s than average (schedule-adjusted)")
    if not math.isnan(f["implied"]):
        diff = f["implied"] - F.LEAGUE_IMPLIED
        side = "about" if abs(diff) < 0.5 else ("above" if diff > 0 else "below")
        reasons.append(f"Vegas implies {f['implied']:.1f} points for {req.team}, {side} the league average")
    if f["n_prev"] > 0:
        if pos in ("WR", "TE"):
            reasons.append(f"He has drawn {_pct(f['tgt_share'] or 0)} of {req.team}'s targets recently "
                           f"({f['exp_tgt']:.1f} expected) and averages {f['ewm_pts']:.1f} {label} points (weighted)")
        elif pos == "RB":
            reasons.append(f"He has had {_pct(f['car_share'] or 0)} of {req.team}'s carries and "
                           f"{_pct(f['tgt_share'] or 0)} of its targets recently, averaging {f['ewm_pts']:.1f} "
                           f"{label} points (weighted)")
        else:
            reasons.append(f"He averages {f['ewm_pts']:.1f} {label} points (weighted) over his recent games")
    else:
        reasons.append(f"He has no earlier games in the data: the projection is a typical {pos} debut")
    if f["missed_streak"] > 0:
        reasons.append(f"He missed {req.team}'s last {int(f['missed_streak'])} game(s): availability lowers "
                       f"the projection by {abs(effects['Availability']):.1f}")
    elif f["missed_season"] > 0:
        reasons.append(f"He has missed {int(f['missed_season'])} game(s) this season")
    if abs(effects["Wind"]) >= 0.3 and not math.isnan(f["wind"]):
        reasons.append(f"Wind of {f['wind']:.0f} mph is expected at kickoff")
    return reasons
