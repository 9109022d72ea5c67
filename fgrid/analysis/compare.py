"""Compare several matchups: rank the analyses by projection and say whom to start.

:func:`rank` works on analysis dicts computed anywhere (the Celery comparison fans out one analysis task per
pair, then ranks their results); :func:`compare` analyses the pairs in-process and ranks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from fgrid.analysis import matchup
from fgrid.analysis.matchup.request import decision_week
from fgrid.config import DEFAULT_COMPARE_SLOTS
from fgrid.errors import InputError

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: Start slots when none are given: the question is usually "which one do I start?".
DEFAULT_SLOTS = DEFAULT_COMPARE_SLOTS


def compare(
    ds: Dataset,
    pairs: Sequence[tuple[str, str | None] | tuple[str, str | None, str | None]],
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
    slots: int | None = None,
    what_if: bool = False,
) -> dict[str, Any]:
    """Analyse each (player, opponent[, location]) pair in ONE week (:func:`matchup.request.decision_week`: the week
    after the data by default; an opponent of None is the scheduled one), then :func:`rank` them for ``slots``
    start slots. InputError for a pair the schedule cannot answer (naming it), unless ``what_if``."""
    if not pairs:
        raise InputError("no players to compare")
    chosen = decision_week(ds, season, week, scoring)
    analyses = []
    for pair in pairs:
        player, opponent, *rest = pair
        location = rest[0] if rest else None
        analyses.append(
            matchup.analyze(ds, player, opponent, location, chosen.season, chosen.week, scoring, what_if=what_if)
        )
    return rank(analyses, slots)


def _sort_key(item: tuple[int, dict[str, Any]]) -> tuple[float, float, float, str]:
    _i, a = item
    proj = a["projection"]
    return (-float(proj["points"]), -float(proj["low"]), -float(a.get("matchup_score") or 0.0), a["player"]["name"])


def rank(analyses: Iterable[dict[str, Any]], slots: int | None = None) -> dict[str, Any]:
    """Rank analyses (dicts of :func:`matchup.analyze`) by projected points, ties broken by the floor (``low``).

    The top ``slots`` (default :data:`DEFAULT_SLOTS`, at most the number of players) are the ones to start.
    Returns {scoring, season, week, when (the week's phrase; season/week None when the analyses are of different
    weeks), hypothetical (any what-if game), slots, start: [names], bench: [names], summary: a sentence, ranking:
    [{rank, start, player, opponent, points, low, high, matchup_score, verdict, analysis}]}.
    """
    analyses = list(analyses)
    if not analyses:
        raise InputError("no analyses to rank")
    scorings = {a.get("scoring", "ppr") for a in analyses}
    if len(scorings) > 1:
        raise InputError(f"cannot rank analyses in different scorings ({', '.join(sorted(scorings))})")
    n_slots = DEFAULT_SLOTS if slots is None else int(slots)
    if n_slots < 1:
        raise InputError(f"slots must be at least 1 (got {slots})")
    n_slots = min(n_slots, len(analyses))
    ordered = sorted(enumerate(analyses), key=_sort_key)
    ranking = []
    for position, (_i, a) in enumerate(ordered, start=1):
        proj = a["projection"]
        ranking.append(
            {
                "rank": position,
                "start": position <= n_slots,
                "player": a["player"],
                "opponent": a["opponent"],
                "points": proj["points"],
                "low": proj["low"],
                "high": proj["high"],
                "matchup_score": a.get("matchup_score"),
                "verdict": a.get("recommendation", {}).get("verdict"),
                "analysis": a,
            }
        )
    games = [a.get("game") or {} for a in analyses]
    weeks = {(g.get("season"), g.get("week")) for g in games}
    season, week = next(iter(weeks)) if len(weeks) == 1 else (None, None)
    start = [r["player"]["name"] for r in ranking if r["start"]]
    bench = [r["player"]["name"] for r in ranking if not r["start"]]
    return {
        "scoring": scorings.pop(),
        "season": season,
        "week": week,
        "when": games[0].get("when") if season is not None else None,
        "hypothetical": any(bool(a.get("hypothetical")) for a in analyses),
        "slots": n_slots,
        "start": start,
        "bench": bench,
        "summary": _summary(ranking, n_slots),
        "ranking": ranking,
    }


def _summary(ranking: list[dict[str, Any]], slots: int) -> str:
    starters = ranking[:slots]
    names = ", ".join(f"{r['player']['name']} ({r['points']:.1f})" for r in starters)
    if len(ranking) == slots:
        return f"Start {names}"
    first_out = ranking[slots]
    margin = starters[-1]["points"] - first_out["points"]
    return (
        f"Start {names} over {first_out['player']['name']} ({first_out['points']:.1f}): {margin:+.1f} projected points"
    )
