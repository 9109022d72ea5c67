"""A lineup for one week: a roster, the league's slots, and the exact best assignment of players to slots.

Slots are positions (QB, RB, WR, TE) or flexible slots: FLEX takes an RB, WR or TE, SUPERFLEX a QB, RB, WR or TE,
and any ``A/B`` (e.g. ``WR/TE``) takes either. :func:`assign` fills them to maximize the starters' projected points
exactly (a linear assignment, :func:`scipy.optimize.linear_sum_assignment`), never greedily: a greedy fill can put
the best RB in FLEX and leave the RB slot to a worse player than an optimal one would.

:func:`pick` turns projections (analysis dicts of the engine or the ai model) into a lineup: starters by slot, the
bench with each player's gap to the starter he would replace, and players who cannot play listed apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fgrid.analysis import players as players_mod
from fgrid.analysis import schedule
from fgrid.analysis.feature_store import POSITIONS, store
from fgrid.analysis.matchup.request import MatchupRequest, decision_week, resolve_request, team_at
from fgrid.analysis.scoring import check as check_scoring
from fgrid.errors import InputError

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: The default slots: a 12-team league's usual starting lineup.
DEFAULT_SLOTS = ("QB", "RB", "RB", "WR", "WR", "TE", "FLEX")
#: Flexible slots and the positions each takes.
FLEX_SLOTS = {"FLEX": ("RB", "WR", "TE"), "SUPERFLEX": ("QB", "RB", "WR", "TE"), "OP": ("QB", "RB", "WR", "TE")}
#: Most players on a roster, and most slots.
MAX_ROSTER = 30
MAX_SLOTS = 15
#: Cost of an ineligible player-slot pair: more than any lineup's points, so the solver fills every slot it can
#: first (with points >= 0 that is also the most points: the players a lineup can start form a matroid).
_INELIGIBLE = 1e6


def parse_slots(slots: str | Iterable[str] | None) -> list[str]:
    """The slots of ``QB,RB,RB,WR,WR,TE,FLEX`` (or a list), upper-cased; InputError naming an unknown one."""
    if slots is None:
        return list(DEFAULT_SLOTS)
    items = slots.split(",") if isinstance(slots, str) else list(slots)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise InputError(f"a slot is a name such as RB or FLEX, not {item!r}"[:80])
        name = item.strip().upper()
        if not name:
            continue
        slot_positions(name)
        out.append(name)
    if not out:
        raise InputError("no lineup slots given; e.g. --slots QB,RB,RB,WR,WR,TE,FLEX")
    if len(out) > MAX_SLOTS:
        raise InputError(f"too many slots ({len(out)}; at most {MAX_SLOTS})")
    return out


def slot_positions(slot: str) -> tuple[str, ...]:
    """The positions ``slot`` takes; InputError for an unknown slot."""
    if slot in FLEX_SLOTS:
        return FLEX_SLOTS[slot]
    parts = tuple(p for p in slot.split("/") if p)
    if parts and all(p in POSITIONS for p in parts) and len(set(parts)) == len(parts):
        return parts
    raise InputError(
        f"unknown slot {slot[:20]!r}; use QB, RB, WR, TE, FLEX (RB/WR/TE), SUPERFLEX (QB/RB/WR/TE) "
        "or positions joined by / (WR/TE)"
    )


def assign(
    positions: Sequence[str], points: Sequence[float], slots: Sequence[str], forced: int | None = None
) -> list[int | None]:
    """The best assignment: for each slot, the index of the player in it (None when nobody eligible is left).

    ``positions``/``points``: each player's position and projected points (>= 0). Maximizes the starters' total
    points over every assignment that fills as many slots as possible; ``forced``: a player who must start.
    """
    from scipy.optimize import linear_sum_assignment

    n, m = len(points), len(slots)
    if n == 0 or m == 0:
        return [None] * m
    eligible = np.array([[positions[i] in slot_positions(s) for s in slots] for i in range(n)])
    value = np.maximum(np.asarray(points, dtype=np.float64), 0.0)[:, None] * np.ones((1, m))
    if forced is not None:
        value[forced] += _INELIGIBLE  # worth more than anyone else's start: he starts wherever he is eligible
    cost = np.where(eligible, -value, _INELIGIBLE)
    rows, cols = linear_sum_assignment(cost)
    out: list[int | None] = [None] * m
    for r, c in zip(rows, cols, strict=True):
        if eligible[r, c]:
            out[c] = int(r)
    return out


def _total(points: Sequence[float], chosen: Sequence[int | None]) -> float:
    return float(sum(max(float(points[i]), 0.0) for i in chosen if i is not None))


def pick(
    analyses: Sequence[dict[str, Any]], slots: Sequence[str], out: Sequence[dict[str, Any]] = (), model: str = "engine"
) -> dict[str, Any]:
    """The lineup from projections: ``analyses`` are dicts with player {id, name, position, team}, opponent
    {code}, game and projection {points, low, high} (the engine's or the ai model's), ``out`` the players who cannot
    play ({player, reason}).

    Returns {season, week, when, scoring, model, slots, starters [{slot, player, opponent, game, projection}],
    empty_slots, bench [{player, ..., gap, replaces}] (gap: points the lineup loses by starting him instead, in the
    best lineup that starts him; replaces: the starter who sits then), out, total (starters' projected points),
    summary}.
    """
    slots = list(slots)
    pos = [a["player"]["position"] for a in analyses]
    pts = [float(a["projection"]["points"]) for a in analyses]
    chosen = assign(pos, pts, slots)
    best = _total(pts, chosen)
    starting = {i for i in chosen if i is not None}

    def row(i: int) -> dict[str, Any]:
        a = analyses[i]
        return {
            "player": a["player"],
            "opponent": a["opponent"],
            "game": a.get("game"),
            "projection": a["projection"],
            "hypothetical": bool(a.get("hypothetical", False)),
        }

    starters = [{"slot": slot, **row(i)} for slot, i in zip(slots, chosen, strict=True) if i is not None]
    bench = []
    for i in sorted(set(range(len(analyses))) - starting, key=lambda k: (-pts[k], analyses[k]["player"]["name"])):
        alt = assign(pos, pts, slots, forced=i)
        if i not in alt:
            bench.append({**row(i), "gap": None, "replaces": None, "note": "no slot takes a " + pos[i]})
            continue
        dropped = sorted(starting - set(alt), key=lambda k: pts[k])
        bench.append(
            {
                **row(i),
                "gap": round(best - _total(pts, alt), 2),
                "replaces": analyses[dropped[0]]["player"]["name"] if dropped else None,
            }
        )
    games = [a.get("game") or {} for a in analyses] + [o.get("game") or {} for o in out]
    weeks = {(g.get("season"), g.get("week")) for g in games if g.get("season")}
    season, week = next(iter(weeks)) if len(weeks) == 1 else (None, None)
    scorings = {a.get("scoring") for a in analyses if a.get("scoring")}
    names = ", ".join(f"{s['player']['name']} ({s['projection']['points']:.1f})" for s in starters)
    empty = [slot for slot, i in zip(slots, chosen, strict=True) if i is None]
    summary = f"Start {names}: {best:.1f} projected points" if starters else "No player can start"
    if empty:
        summary += f"; nobody eligible for {', '.join(empty)}"
    return {
        "season": season,
        "week": week,
        "when": next((g.get("when") for g in games if g.get("when")), None),
        "scoring": scorings.pop() if len(scorings) == 1 else None,
        "model": model,
        "slots": slots,
        "starters": starters,
        "empty_slots": empty,
        "bench": bench,
        "out": list(out),
        "total": round(best, 2),
        "summary": summary,
    }


def roster_requests(
    ds: Dataset, roster: Sequence[str], season: int | None = None, week: int | None = None, scoring: str = "ppr"
) -> tuple[list[MatchupRequest], list[dict[str, Any]]]:
    """Resolve a roster's games in one week (:func:`decision_week`): the requests of the players who play, and
    those who cannot ({player, reason, game}: on a bye, or a position fgrid does not project). InputError for an
    unknown player, a duplicate, or a roster of more than :data:`MAX_ROSTER`."""
    if not roster:
        raise InputError("the roster is empty; name players as arguments or in a file, one per line")
    if len(roster) > MAX_ROSTER:
        raise InputError(f"too many players on the roster ({len(roster)}; at most {MAX_ROSTER})")
    scoring = check_scoring(scoring)
    st = store(ds, scoring)
    chosen = decision_week(ds, season, week, scoring)
    requests: list[MatchupRequest] = []
    out: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for name in roster:
        found = players_mod.resolve_player(ds, str(name), season=chosen.season)
        if found.id in seen:
            raise InputError(f"{found.name} is on the roster twice ({seen[found.id]!r} and {name!r})")
        seen[found.id] = str(name)
        pidx = st.player_index.get(found.id)
        if pidx is None:
            raise InputError(f"no games for {found.name} in the synced data")
        tidx, pos_idx = team_at(st, pidx, chosen.key)
        team = st.teams[tidx]
        player = {
            "id": found.id,
            "name": found.name,
            "position": POSITIONS[pos_idx] if pos_idx >= 0 else found.position,
            "team": team,
        }
        game = {
            "season": chosen.season,
            "week": chosen.week,
            "when": f"{chosen.season} week {chosen.week}, {chosen.note}",
        }
        if player["position"] not in POSITIONS:
            out.append(
                {"player": player, "reason": f"a {player['position']}: fgrid projects QB, RB, WR and TE", "game": game}
            )
        elif st.context(chosen.season, chosen.week, team) is None:
            why = schedule.bye_or_other(st, team, chosen.season, chosen.week)
            out.append(
                {"player": player, "reason": f"{team} bye week" if why.endswith("has a bye") else why, "game": game}
            )
        else:
            requests.append(resolve_request(ds, found.id, None, None, chosen.season, chosen.week, scoring))
    return requests, out
