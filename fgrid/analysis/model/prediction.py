"""Predict with a trained model: one matchup's projection, grade and explanation; grades of several; a week's slate.

Grades (A+ to F) come from the projection's percentile among every player at the position with a game that week
who qualifies (4+ earlier games, 5+ PPR points a game over his last 8): see :data:`GRADE_BANDS`.

Units: points are fantasy points per game in the model's scoring (``ppr``, ``half`` or ``standard``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fgrid.analysis import schedule
from fgrid.analysis.feature_store import (
    KEY_SEASON,
    POS_INDEX,
    POSITIONS,
    FeatureStore,
    game_key,
    store,
)
from fgrid.analysis.features import (
    MIN_EARLIER_GAMES,
    MIN_RECENT_PPR,
    compute,
    context_arrays,
)
from fgrid.analysis.matchup import engine as matchup_engine
from fgrid.analysis.matchup.request import (
    MatchupRequest,
    features_for_request,
    resolve_request,
)
from fgrid.analysis.model.explain import top_factors
from fgrid.analysis.model.feature_matrix import (
    BASE_FEATURES,
    extra_features,
    history_state,
    stack_features,
    training_frame,
)
from fgrid.analysis.model.trained import (
    TrainedModel,
    interval,
    linear_engine,
    predict_rows,
    raw_predict,
)
from fgrid.analysis.scoring import check as check_scoring
from fgrid.errors import InputError

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: Letter grades by the projection's percentile (0-100) among the position's qualifying players that week: the
#: first band whose lower bound the percentile reaches. In a 12-team league the top ~10% at a position are weekly
#: stars (A range), the next ~30% solid starters (B range), the middle 30% flex/matchup plays (C range).
GRADE_BANDS: tuple[tuple[float, str], ...] = (
    (95.0, "A+"),
    (88.0, "A"),
    (80.0, "A-"),
    (72.0, "B+"),
    (64.0, "B"),
    (56.0, "B-"),
    (46.0, "C+"),
    (36.0, "C"),
    (26.0, "C-"),
    (16.0, "D+"),
    (8.0, "D"),
    (0.0, "F"),
)

_SLATE_CACHE = "model.slate"


def _check_model_scoring(model: TrainedModel, scoring: str | None) -> str:
    if scoring is None:
        return model.scoring
    scoring = check_scoring(scoring)
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
    return rows.filter((pl.col("n_prev") >= MIN_EARLIER_GAMES) & (pl.col("mean8_ppr") >= MIN_RECENT_PPR))


def _slate_candidates(ds: Dataset, st: FeatureStore, season: int, week: int) -> pl.DataFrame | None:
    """Feature rows of every qualifying player with a game in (season, week); None if the week has no games.

    Teams whose game that week has stats: the players who played (the backtest's rows). Teams still to play:
    every player whose latest team is one of them and who played this season or the last, as of before the week.
    """
    key = game_key(season, week)
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


def _upcoming(st: FeatureStore, season: int, week: int, exclude: set[str]) -> pl.DataFrame | None:
    """Qualifying players of the teams (not in ``exclude``) with a scheduled game in (season, week), before it."""
    last_rows = np.r_[st.p_start[1:], len(st.p_key)] - 1  # each player's sentinel row
    pidx = np.arange(len(st.p_start))
    tidx = st.p_team[last_rows]
    pos = st.p_pos[last_rows]
    prev_key = st.p_state["prev_key"][last_rows]
    keep = (pos >= 0) & (prev_key // KEY_SEASON >= season - 1)
    found_ctxs = [
        st.contexts.get((season, week, st.teams[t])) if k and st.teams[t] not in exclude else None
        for t, k in zip(tidx.tolist(), keep.tolist(), strict=True)
    ]
    keep &= np.array([c is not None for c in found_ctxs], dtype=bool)
    pidx, tidx, pos = pidx[keep], tidx[keep], pos[keep]
    ctxs = [c for c in found_ctxs if c is not None]
    if not ctxs:
        return None
    oidx = np.array([st.team_index[c.opponent] for c in ctxs], dtype=np.int64)
    n = len(ctxs)
    feats = compute(st, pidx, tidx, oidx, np.full(n, season), np.full(n, week), pos, **context_arrays(ctxs))
    teams = np.array(st.teams, dtype=object)
    rows = pl.DataFrame(
        {
            "player_id": np.array(st.player_ids, dtype=object)[pidx].tolist(),
            "name": np.array(st.player_names, dtype=object)[pidx].tolist(),
            "season": np.full(n, season),
            "week": np.full(n, week),
            "game_type": [c.game_type for c in ctxs],
            "position": np.array(POSITIONS, dtype=object)[pos].tolist(),
            "team": teams[tidx].tolist(),
            "opponent": teams[oidx].tolist(),
            "game_id": [c.game_id for c in ctxs],
            "actual": np.full(n, np.nan),
            "actual_ppr": np.full(n, np.nan),
            "pidx": pidx,
            "tidx": tidx,
            "oidx": oidx,
            "pos": pos,
            **feats,
        }
    )
    return _qualifying(rows)


def _slate(model: TrainedModel, ds: Dataset, season: int, week: int) -> dict[str, Any]:
    """The week's qualifying players and their projections (cached per model, dataset and week)."""
    st = store(ds, model.scoring)
    cache = st.extras.setdefault(_SLATE_CACHE, {})
    key = (model.token, season, week)
    found = cache.get(key)
    if found is not None:
        return found
    rows = _slate_candidates(ds, st, season, week)
    if rows is not None and rows.height:
        pred = predict_rows(model, ds, rows)
        by_pos = {p: np.sort(pred["projected"][rows["position"].to_numpy() == p]) for p in POSITIONS}
    else:
        rows = None
        pred = {"projected": np.zeros(0), "low": np.zeros(0), "high": np.zeros(0)}
        # No game that week in the schedules: compare with a typical week (the model's reference projections).
        by_pos = {p: np.asarray(model.reference.get(p, []), dtype=np.float64) for p in POSITIONS}
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


def _predict_request(model: TrainedModel, ds: Dataset, req: MatchupRequest, explain: bool = True) -> dict[str, Any]:
    st = store(ds, model.scoring)
    f, ctx = features_for_request(st, req)
    pos = POS_INDEX[req.position]
    base = {name: np.array([f[name]], dtype=np.float64) for name in BASE_FEATURES}
    pidx = np.array([st.player_index[req.player_id]])
    tidx = np.array([st.team_index[req.team]])
    gameday = np.array([float((req.gameday - dt.date(1970, 1, 1)).days) if req.gameday else np.nan])
    spread = np.array([ctx.spread if ctx is not None else np.nan])
    extra = extra_features(
        st,
        history_state(ds, st),
        pidx,
        tidx,
        np.array([req.season]),
        np.array([req.week]),
        gameday,
        spread,
        base["implied"],
        np.array([pos]),
    )
    x = stack_features(base, extra)
    posa = np.array([pos])
    raw = raw_predict(model, x, base, posa)
    low, high = interval(model, raw)
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
        "game": {
            "season": req.season,
            "week": req.week,
            "home": req.home,
            "neutral": req.neutral,
            "game_id": req.game_id,
            "kickoff": req.gameday.isoformat() if req.gameday else None,
            "kickoff_time": ctx.kickoff_time if ctx else None,
            "hypothetical": req.hypothetical,
            "when": schedule.describe(st, req.season, req.week),
        },
        "hypothetical": req.hypothetical,
        "projection": {"points": round(points, 2), "low": round(float(low[0]), 2), "high": round(float(high[0]), 2)},
        "grade": _grade(pct),
        "percentile": pct,
        "rank": ranking,
        "scoring": model.scoring,
        "model_id": model.model_id,
    }
    if explain:
        if raw["debut"][0]:
            out["explanation"] = [
                {"factor": "no earlier games", "points": 0.0, "detail": "a debut: the position's typical first game"}
            ]
        else:
            design = matchup_engine.design(base, posa, linear_engine(model).usage_w)[0]
            allf = {**base, **extra}
            out["explanation"] = top_factors(model, x, allf, pos, design)
    return out


def predict(
    model: TrainedModel,
    ds: Dataset,
    player: str,
    opponent: str | None = None,
    location: str | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str | None = None,
    what_if: bool = False,
) -> dict[str, Any]:
    """The model's projection of ``player`` against ``opponent`` (resolved as
    :func:`fgrid.analysis.matchup.resolve_request`).

    Returns {player, opponent, game, projection {points, low, high} (median and 80% interval, points in the model's
    scoring), grade (A+ to F), percentile (0-100 among the position's qualifying players that week), rank,
    explanation [{factor, points, detail}] (the top factors, signed contributions in points), scoring, model_id}.
    ``scoring`` must be the model's (default).
    """
    scoring = _check_model_scoring(model, scoring)
    req = resolve_request(ds, player, opponent, location, season, week, scoring, what_if=what_if)
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
        (
            f"projected {proj['points']:.1f} pts (80% interval {proj['low']:.1f}-{proj['high']:.1f}), "
            f"{where} ({_ordinal(round(pred['percentile']))} percentile)"
        )
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
    what_if: bool = False,
) -> list[dict[str, Any]]:
    """Grade each (player, opponent) matchup A+ to F by the model's projected percentile among the position's
    qualifying players that week (bands: :data:`GRADE_BANDS`), with reasons. One dict per pair, in order:
    {player, opponent, game, grade, percentile, rank, projection, reasons}."""
    out = []
    for pair in pairs:
        if len(pair) != 2:
            raise InputError(f"a matchup is a player and an opponent, got {list(pair)!r}")
        player, opponent = pair
        req = resolve_request(ds, player, opponent, None, season, week, model.scoring, what_if=what_if)
        pred = _predict_request(model, ds, req)
        out.append(
            {
                "player": pred["player"],
                "opponent": pred["opponent"],
                "game": pred["game"],
                "grade": pred["grade"],
                "percentile": pred["percentile"],
                "rank": pred["rank"],
                "projection": pred["projection"],
                "hypothetical": pred["hypothetical"],
                "reasons": _reasons(pred),
            }
        )
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
    st = store(ds, model.scoring)
    if position is not None:
        position = str(position).strip().upper()
        if position not in POSITIONS:
            raise InputError(f"unknown position '{position}'; use one of: {', '.join(POSITIONS)}")
    if (season, week) not in {(s, w) for (s, w, _t) in st.contexts} and game_key(season, week) > st.last_key:
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
        pct, rank, _size = _percentile(slate["by_pos"][p], pts)
        out.append(
            {
                "rank": rank,
                "player_id": rows["player_id"][i],
                "name": rows["name"][i],
                "position": p,
                "team": rows["team"][i],
                "opponent": rows["opponent"][i],
                "game_id": rows["game_id"][i],
                "projection": {
                    "points": round(pts, 2),
                    "low": round(float(pred["low"][i]), 2),
                    "high": round(float(pred["high"][i]), 2),
                },
                "percentile": pct,
                "grade": _grade(pct),
            }
        )
    out.sort(key=lambda r: (-r["projection"]["points"], r["player_id"]))
    if position is None:
        for overall, row in enumerate(out, start=1):
            row["overall_rank"] = overall
    return out[: int(top)] if top is not None else out
