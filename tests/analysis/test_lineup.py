"""Lineups: slots, the exact assignment (against brute force), bench gaps, byes; and the schedule's "week"."""

from __future__ import annotations

import itertools
import random

import pytest

from fgrid.analysis import lineup, schedule
from fgrid.analysis.dataset import Dataset
from fgrid.analysis.feature_store import store
from fgrid.errors import InputError

POSITIONS = ("QB", "RB", "WR", "TE")


def brute_force(positions: list[str], points: list[float], slots: list[str]) -> float:
    """The most points any assignment of distinct players to slots (a slot may stay empty) can start."""
    best = 0.0
    choices = [[None, *[i for i, p in enumerate(positions) if p in lineup.slot_positions(s)]] for s in slots]
    for combo in itertools.product(*choices):
        used = [i for i in combo if i is not None]
        if len(used) == len(set(used)):
            best = max(best, sum(points[i] for i in used))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_assignment_is_optimal_against_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    slots = rng.choice(
        [
            ["QB", "RB", "WR", "FLEX"],
            ["RB", "RB", "FLEX", "SUPERFLEX"],
            ["WR/TE", "TE", "FLEX"],
            ["QB", "RB", "RB", "WR", "TE", "FLEX"],
        ]
    )
    n = rng.randint(1, 7)
    positions = [rng.choice(POSITIONS) for _ in range(n)]
    points = [round(rng.uniform(0, 30), 1) for _ in range(n)]
    chosen = lineup.assign(positions, points, slots)
    used = [i for i in chosen if i is not None]
    assert len(used) == len(set(used))
    for slot, i in zip(slots, chosen, strict=True):
        assert i is None or positions[i] in lineup.slot_positions(slot)
    assert sum(points[i] for i in used) == pytest.approx(brute_force(positions, points, slots))


def test_greedy_would_be_wrong_and_the_assignment_is_not() -> None:
    # Greedy by points puts the best RB in FLEX first, then has no RB for the RB slot... exact keeps both.
    slots = ["FLEX", "RB", "WR"]
    positions, points = ["RB", "WR", "WR", "RB"], [20.0, 18.0, 17.0, 5.0]
    chosen = lineup.assign(positions, points, slots)
    assert sum(points[i] for i in chosen if i is not None) == 20.0 + 18.0 + 17.0


def test_slots_parse_and_refuse_unknown_names() -> None:
    assert lineup.parse_slots(None) == list(lineup.DEFAULT_SLOTS)
    assert lineup.parse_slots("qb, rb, superflex, wr/te") == ["QB", "RB", "SUPERFLEX", "WR/TE"]
    with pytest.raises(InputError, match="unknown slot 'K'"):
        lineup.parse_slots("QB,K")


def _analysis(name: str, position: str, points: float) -> dict:
    return {
        "player": {"id": name, "name": name, "position": position, "team": "X"},
        "opponent": {"code": "Y"},
        "game": {"season": 2023, "week": 5},
        "projection": {"points": points, "low": 0, "high": points * 2},
    }


def test_pick_names_the_bench_gap_and_the_starter_replaced() -> None:
    analyses = [
        _analysis("Q1", "QB", 20),
        _analysis("Q2", "QB", 18),
        _analysis("R1", "RB", 15),
        _analysis("W1", "WR", 14),
        _analysis("W2", "WR", 9),
    ]
    result = lineup.pick(analyses, ["QB", "RB", "WR", "FLEX"], out=[])
    assert [s["player"]["name"] for s in result["starters"]] == ["Q1", "R1", "W1", "W2"]
    assert result["total"] == 58
    q2 = next(b for b in result["bench"] if b["player"]["name"] == "Q2")
    assert q2["gap"] == 2 and q2["replaces"] == "Q1"
    assert (result["season"], result["week"]) == (2023, 5)


def test_schedule_week_after_the_data_and_next_games(dataset: Dataset) -> None:
    st = store(dataset, "ppr")
    week = schedule.next_week(st)
    assert (week.season, week.week) == (2024, 1)
    assert week.note == "the first week after your data (through 2023 week 18)"
    assert schedule.next_games(st, "MIA", 2024).startswith("MIA's next games: week 1 vs JAX, week 2 vs BUF")
    assert schedule.bye_or_other(st, "MIA", 2024, 6) == "MIA has a bye"


def test_roster_puts_byes_apart_and_resolves_one_week(dataset: Dataset) -> None:
    # 2024 week 6: KC and MIA are on a bye.
    requests, out = lineup.roster_requests(dataset, ["Patrick Mahomes", "Tyreek Hill", "CeeDee Lamb"], 2024, 6)
    assert [r.player_name for r in requests] == ["CeeDee Lamb"] and requests[0].opponent == "DET"
    assert {o["player"]["name"]: o["reason"] for o in out} == {
        "Patrick Mahomes": "KC bye week",
        "Tyreek Hill": "MIA bye week",
    }
    with pytest.raises(InputError, match="twice"):
        lineup.roster_requests(dataset, ["CeeDee Lamb", "00-0036358"])
