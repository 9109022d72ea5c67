"""One matchup analysis: a player against an opponent in one game, as of before its kickoff.

:func:`analyze` resolves the request (:func:`fgrid.analysis.matchup.request.resolve_request`) and returns a
JSON-ready dict: the matchup score (0-100), the engine's projection with an 80% interval
(:mod:`fgrid.analysis.matchup.engine`), a START/FLEX/SIT verdict with reasons, and every factor's value and effect
in points.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from fgrid.analysis import players, schedule, teams
from fgrid.analysis.feature_store import POS_INDEX, FeatureStore, GameContext, game_key, store
from fgrid.analysis.features import LEAGUE_IMPLIED
from fgrid.analysis.matchup.engine import (
    FLEX_RANK,
    LOG_OFFSET,
    START_RANK,
    TERMS,
    Engine,
    design_one,
    engine_for,
    usage_points_one,
)
from fgrid.analysis.matchup.request import (
    MatchupRequest,
    features_for_request,
    resolve_request,
    team_meetings,
)
from fgrid.analysis.scoring import SCORINGS

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset
    from fgrid.analysis.venues import Venue

SCORING_LABELS = {"ppr": "PPR", "half": "half-PPR", "standard": "standard"}

#: A hypothetical (what-if) game's 80% interval: the log-space quantile offsets of a scheduled game times this.
#: Without a betting line, a weather forecast or known rest the projection misses what those terms explain. Measured
#: on 2023's held-out games (every backtest row, those inputs blanked): the 10%-90% spread of the log residuals grows
#: from 1.376 to 1.382, and the widened interval keeps its 80% coverage (README "Your week").
WHAT_IF_WIDEN = 1.005

#: Games in an analysis's ``recent_points``: the player's last 8 games before kickoff (the span the README's backtest
#: rows use for "points a game").
RECENT_GAMES = 8

#: A matchup score of 50 is an average defence; +-DEF_SCALE (one spread of the ratio across teams) is about +-23.
SCORE_SLOPE = 0.5


def warm(ds: Dataset, scorings: tuple[str, ...] = SCORINGS) -> None:
    """Build every index an analysis needs (player names, feature stores, meetings), so the first call is fast."""
    for scoring in scorings:
        st = store(ds, scoring)
        players.player_index(ds)
        team_meetings(st)
        engine_for(st)


def matchup_score(ratio: float, scale: float) -> float:
    """0-100 from the opponent's schedule-adjusted points-allowed ratio: 50 is average, higher is a softer defence."""
    return float(min(100.0, max(0.0, 50.0 + 50.0 * math.tanh(SCORE_SLOPE * (ratio - 1.0) / scale))))


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
    TE or a top-36 RB or WR, SIT below (see :data:`START_RANK`, :data:`FLEX_RANK` and how
    :data:`fgrid.analysis.matchup.constants.ENGINE` fits the lines). The confidence is the chance (from the
    projection's interval, as a split normal) that he scores on the verdict's side of the nearest line: above the
    START line for START, below the FLEX line for SIT, and for FLEX on the same side as the projection of whichever
    line is nearer.
    """
    p = POS_INDEX[position]
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
    opponent: str | None = None,
    location: str | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
    what_if: bool = False,
) -> dict[str, Any]:
    """Analyze ``player`` against ``opponent`` in one game (see :func:`resolve_request`), as of before kickoff.

    Returns a JSON-ready dict: ``player`` {id, name, position, team}, ``opponent`` {code, name}, ``game`` {season,
    week, home, neutral, venue, game_id, kickoff (date), kickoff_time (Eastern), hypothetical, when (how the week
    stands against the data)}, ``hypothetical`` (a what-if game, ``what_if``), ``interval`` {level, note},
    ``matchup_score`` (0-100, 50 an average defence against the position), ``projection`` {points, low, high}
    (median and 80% interval, fantasy points in ``scoring``), ``recommendation`` {verdict, confidence, reasons},
    ``factors`` [{name, value, effect, description}] (effect: points, signed; the recent weighted average plus every
    effect is the projection), ``recent_points`` (his last :data:`RECENT_GAMES` games' fantasy points in
    ``scoring``, oldest first; fewer for a player with fewer games), ``data_through`` (date of the last game the
    analysis could use) and ``scoring``. Only games before kickoff are used.
    """
    req = resolve_request(ds, player, opponent, location, season, week, scoring, what_if=what_if)
    return analyze_request(ds, req)


def analyze_request(ds: Dataset, req: MatchupRequest) -> dict[str, Any]:
    """:func:`analyze` of an already resolved request."""
    st = store(ds, req.scoring)
    eng = engine_for(st)
    f, ctx = features_for_request(st, req)
    p = POS_INDEX[req.position]
    x = design_one(f, p, eng)
    coef = eng.coef[p].tolist()
    z = float(eng.intercept[p]) + sum(c * v for c, v in zip(coef, x, strict=True))
    widen = WHAT_IF_WIDEN if req.hypothetical else 1.0
    if f["n_prev"] > 0:
        points = max(math.exp(z) - LOG_OFFSET, 0.0)
        low = max(math.exp(z + float(eng.q10[p]) * widen) - LOG_OFFSET, 0.0)
        high = math.exp(z + float(eng.q90[p]) * widen) - LOG_OFFSET
    else:
        points, low, high = (float(v) for v in eng.debut[p])
        low, high = max(points - (points - low) * widen, 0.0), points + (high - points) * widen
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
    through = st.data_through(game_key(req.season, req.week))
    interval: dict[str, Any] = {"level": 0.8}
    if req.hypothetical:
        interval["note"] = (
            f"a hypothetical game: the interval is {WHAT_IF_WIDEN:g}x as wide as a scheduled "
            "game's in log space (no betting line, weather forecast or known rest)"
        )
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
            "kickoff_time": ctx.kickoff_time if ctx else None,
            "game_type": ctx.game_type if ctx else None,
            "hypothetical": req.hypothetical,
            "when": schedule.describe(st, req.season, req.week),
        },
        "hypothetical": req.hypothetical,
        "interval": interval,
        "matchup_score": round(score, 1),
        "projection": {"points": round(points, 2), "low": round(low, 2), "high": round(high, 2)},
        "recommendation": {"verdict": verdict_, "confidence": round(confidence, 3), "reasons": reasons},
        "factors": factors,
        "recent_points": recent_points(st, req.player_id, req.season, req.week),
        "data_through": through.isoformat() if through else None,
        "scoring": req.scoring,
    }


def recent_points(st: FeatureStore, player_id: str, season: int, week: int, games: int = RECENT_GAMES) -> list[float]:
    """The player's fantasy points (the store's scoring) in his last ``games`` games before (season, week), oldest
    first: only games already played at kickoff."""
    pidx = st.player_index.get(player_id)
    if pidx is None:
        return []
    rows = st.player_rows(pidx)
    keys = st.p_key[rows]
    before = int(np.searchsorted(keys, game_key(season, week)))  # keys sorted; the sentinel sorts last
    pts = st.p_game["pts"][rows][max(0, before - games) : before]
    return [round(float(v), 2) for v in pts if v == v]


def _num(x: float, digits: int = 2) -> float | None:
    return None if x is None or math.isnan(x) else round(x, digits)


def _factor_list(
    req: MatchupRequest,
    f: dict[str, float],
    effects: dict[str, float],
    typical: float,
    recent: float,
    usage_pts: float,
    ratio: float,
    ctx: GameContext | None,
    label: str,
) -> list[dict[str, Any]]:
    pos = req.position
    n_prev = int(f["n_prev"])
    out = []

    def add(name: str, value: Any, effect: float, description: str) -> None:
        out.append({"name": name, "value": value, "effect": round(effect, 2), "description": description})

    add(
        "Recent scoring",
        _num(recent),
        effects["Recent scoring"],
        f"{recent:.1f} {label} points a game, weighted toward his latest of {min(n_prev, 16)} games; "
        f"{_num(f['ewm_long'], 1) or 0:.1f} over a longer span (up to 32 games)"
        if n_prev
        else "no earlier games",
    )
    if pos == "QB":
        usage_value = _num(f["att_share"], 3)
        usage_text = (
            f"{_pct(f['att_share'] or 0)} of {req.team}'s pass attempts and {_pct(f['car_share'] or 0)} of "
            f"its carries recently: {f['exp_att']:.1f} attempts and {f['exp_car']:.1f} carries expected"
        )
    elif pos == "RB":
        usage_value = _num(f["car_share"], 3)
        usage_text = (
            f"{_pct(f['car_share'] or 0)} of {req.team}'s carries and {_pct(f['tgt_share'] or 0)} of its "
            f"targets recently: {f['exp_car']:.1f} carries and {f['exp_tgt']:.1f} targets expected"
        )
    else:
        usage_value = _num(f["tgt_share"], 3)
        usage_text = (
            f"{_pct(f['tgt_share'] or 0)} of {req.team}'s targets and {_pct(f['ay_share'] or 0)} of its "
            f"air yards recently: {f['exp_tgt']:.1f} targets expected"
        )
    trend = f["tgt_trend"] if pos in ("WR", "TE") else f["car_trend"]
    trend_text = "rising" if trend > 0.15 else "falling" if trend < -0.15 else "steady"
    add(
        "Usage",
        usage_value,
        effects["Usage"],
        f"{usage_text}, worth about {usage_pts:.1f} {label} points; usage over the last 3 games is {trend_text}"
        if n_prev
        else "no earlier games",
    )
    if not math.isnan(f["implied"]):
        vegas_text = (
            f"Vegas implies {f['implied']:.1f} points for {req.team} (league average "
            f"{LEAGUE_IMPLIED:.1f}); his {_pct(f['pts_share'] or 0)} share of team points makes "
            f"{f['vegas_pts']:.1f}"
        )
    elif req.hypothetical:
        vegas_text = "no betting line: a hypothetical game; " + (
            f"{req.team} scores {f['team_pts']:.1f} points a game recently"
            if not math.isnan(f["team_pts"])
            else "team scoring unknown"
        )
    else:
        vegas_text = (
            (
                f"no betting line for this game; {req.team} scores {f['team_pts']:.1f} points a game "
                f"recently and his share is {_pct(f['pts_share'] or 0)}"
            )
            if not math.isnan(f["team_pts"])
            else "no betting line for this game"
        )
    add("Vegas", _num(f["implied"], 2), effects["Vegas"], vegas_text)
    missed = int(f["missed_season"])
    streak = int(f["missed_streak"])
    avail = (
        (
            f"missed {missed} of {req.team}'s {int(f['team_season_games'])} games this season"
            + (f", including the last {streak}" if streak else "")
        )
        if missed or streak
        else "played every team game this season so far"
    )
    add("Availability", missed, effects["Availability"], avail)
    scheduled = f" over {int(f['def_games'])} games" if f["def_games"] else " (last season's, regressed)"
    add(
        "Opponent",
        round(ratio - 1.0, 3),
        effects["Opponent"],
        f"{req.opponent} allows {_pct(abs(ratio - 1))} {'more' if ratio >= 1 else 'fewer'} {label} points to "
        f"{pos}s than average, schedule-adjusted{scheduled}",
    )
    if req.neutral:
        where, where_text = "neutral", "neutral site: no home-field effect"
    elif req.home is None:
        where, where_text = "unknown", "venue unknown: no home-field effect"
    else:
        where = "home" if req.home else "away"
        where_text = f"{where} game"
    add("Home/away", where, effects["Home/away"], where_text)
    roof = ctx.roof if ctx else (req.venue.roof if req.venue else None)
    roof_text = f"roof: {roof}" if roof else "roof unknown"
    if req.hypothetical and req.venue is not None:
        roof_text += f" and altitude {req.venue.altitude_ft:,} ft, from the venue table ({req.venue.name})"
    add("Roof", roof, effects["Roof"], roof_text)
    indoor = f["indoor"] > 0
    unknown = "typical weather assumed (a hypothetical game: no forecast)" if req.hypothetical else None
    wind_v = None if indoor or math.isnan(f["wind"]) else f["wind"]
    add(
        "Wind",
        wind_v,
        effects["Wind"],
        "indoors: no wind"
        if indoor
        else (f"{wind_v:.0f} mph at kickoff" if wind_v is not None else unknown or "wind unknown"),
    )
    temp_v = None if indoor or math.isnan(f["temp"]) else f["temp"]
    add(
        "Temperature",
        temp_v,
        effects["Temperature"],
        "indoors"
        if indoor
        else (f"{temp_v:.0f} F at kickoff" if temp_v is not None else unknown or "temperature unknown"),
    )
    rest = None if math.isnan(f["rest"]) else int(f["rest"])
    add(
        "Rest",
        rest,
        effects["Rest"],
        f"{rest} days since {req.team}'s previous game"
        if rest is not None
        else ("typical rest assumed (a hypothetical game)" if req.hypothetical else "rest unknown"),
    )
    add(
        "Typical week",
        None,
        typical,
        "fantasy points are right-skewed (a few big games lift the average), so the projection is the median "
        "week, usually below the average"
        if n_prev
        else f"no earlier games: the projection is the median debut of a {pos} in the data",
    )
    return out


def _reasons(
    req: MatchupRequest,
    f: dict[str, float],
    effects: dict[str, float],
    ratio: float,
    points: float,
    verdict_: str,
    eng: Engine,
    label: str,
    ctx: GameContext | None,
) -> list[str]:
    pos = req.position
    p = POS_INDEX[pos]
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
        reasons.append(
            f"{req.opponent} allows {_pct(abs(ratio - 1))} {'more' if ratio > 1 else 'fewer'} {label} "
            f"points to {pos}s than average (schedule-adjusted)"
        )
    if not math.isnan(f["implied"]):
        diff = f["implied"] - LEAGUE_IMPLIED
        side = "about" if abs(diff) < 0.5 else ("above" if diff > 0 else "below")
        reasons.append(f"Vegas implies {f['implied']:.1f} points for {req.team}, {side} the league average")
    if f["n_prev"] > 0:
        if pos in ("WR", "TE"):
            reasons.append(
                f"He has drawn {_pct(f['tgt_share'] or 0)} of {req.team}'s targets recently "
                f"({f['exp_tgt']:.1f} expected) and averages {f['ewm_pts']:.1f} {label} points (weighted)"
            )
        elif pos == "RB":
            reasons.append(
                f"He has had {_pct(f['car_share'] or 0)} of {req.team}'s carries and "
                f"{_pct(f['tgt_share'] or 0)} of its targets recently, averaging {f['ewm_pts']:.1f} "
                f"{label} points (weighted)"
            )
        else:
            reasons.append(f"He averages {f['ewm_pts']:.1f} {label} points (weighted) over his recent games")
    else:
        reasons.append(f"He has no earlier games in the data: the projection is a typical {pos} debut")
    if f["missed_streak"] > 0:
        reasons.append(
            f"He missed {req.team}'s last {int(f['missed_streak'])} game(s): availability lowers "
            f"the projection by {abs(effects['Availability']):.1f}"
        )
    elif f["missed_season"] > 0:
        reasons.append(f"He has missed {int(f['missed_season'])} game(s) this season")
    if abs(effects["Wind"]) >= 0.3 and not math.isnan(f["wind"]):
        reasons.append(f"Wind of {f['wind']:.0f} mph is expected at kickoff")
    return reasons


def _venue_dict(venue: Venue | None, ctx: GameContext | None) -> dict[str, Any] | None:
    if venue is not None:
        return {
            "stadium_id": venue.stadium_id,
            "name": venue.name,
            "city": venue.city,
            "state": venue.state or venue.country,
            "roof": ctx.roof if ctx and ctx.roof else venue.roof,
            "surface": ctx.surface if ctx and ctx.surface else venue.surface,
            "altitude_ft": venue.altitude_ft,
        }
    if ctx is not None and (ctx.stadium or ctx.stadium_id):
        return {
            "stadium_id": ctx.stadium_id,
            "name": ctx.stadium,
            "city": None,
            "state": None,
            "roof": ctx.roof,
            "surface": ctx.surface,
            "altitude_ft": None,
        }
    return None
