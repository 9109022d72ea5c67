"""Comparing matchups: ranking by projection (ties by the floor), whom to start, on real and made-up analyses."""

from __future__ import annotations

import json

import pytest

from fgrid.analysis import compare, matchup
from fgrid.analysis.dataset import Dataset
from fgrid.errors import InputError


def _analysis(name: str, points: float, low: float, scoring: str = "ppr") -> dict:
    """The parts of an analysis dict that ranking reads."""
    return {
        "player": {"id": name.lower(), "name": name, "position": "WR", "team": "DAL"},
        "opponent": {"code": "SF", "name": "San Francisco 49ers"},
        "matchup_score": 50.0,
        "projection": {"points": points, "low": low, "high": points * 2},
        "recommendation": {"verdict": "FLEX", "confidence": 0.6, "reasons": []},
        "scoring": scoring,
    }


def test_rank_orders_by_points_then_floor() -> None:
    result = compare.rank(
        [
            _analysis("A", 12.0, 4.0),
            _analysis("B", 15.0, 5.0),
            _analysis("C", 12.0, 6.0),  # ties A on points, higher floor
            _analysis("D", 9.0, 3.0),
        ]
    )
    assert [r["player"]["name"] for r in result["ranking"]] == ["B", "C", "A", "D"]
    assert [r["rank"] for r in result["ranking"]] == [1, 2, 3, 4]
    assert result["slots"] == compare.DEFAULT_SLOTS == 1
    assert result["start"] == ["B"] and result["bench"] == ["C", "A", "D"]
    assert [r["start"] for r in result["ranking"]] == [True, False, False, False]
    assert result["summary"] == "Start B (15.0) over C (12.0): +3.0 projected points"
    assert result["ranking"][0]["analysis"]["player"]["name"] == "B"


def test_rank_slots() -> None:
    analyses = [_analysis(n, p, 1.0) for n, p in (("A", 10.0), ("B", 11.0), ("C", 12.0))]
    assert compare.rank(analyses, slots=2)["start"] == ["C", "B"]
    everyone = compare.rank(analyses, slots=5)
    assert everyone["slots"] == 3 and everyone["bench"] == [] and everyone["summary"].startswith("Start C")
    with pytest.raises(InputError, match="slots"):
        compare.rank(analyses, slots=0)
    with pytest.raises(InputError, match="no analyses"):
        compare.rank([])
    with pytest.raises(InputError, match="different scorings"):
        compare.rank([_analysis("A", 1.0, 0.0), _analysis("B", 2.0, 0.0, scoring="half")])


def test_compare_real_players_ranks_their_analyses(dataset: Dataset) -> None:
    # 2023 week 5: DAL at SF, NYG at MIA, KC at MIN, SF vs DAL; one opponent inferred from the schedule.
    pairs = [("CeeDee Lamb", "SF"), ("Tyreek Hill", "NYG"), ("Travis Kelce", None), ("Christian McCaffrey", "DAL")]
    result = compare.compare(dataset, pairs, season=2023, week=5, slots=2)
    json.dumps(result)
    assert (result["season"], result["week"]) == (2023, 5)
    points = [r["points"] for r in result["ranking"]]
    assert points == sorted(points, reverse=True)
    assert len(result["start"]) == 2
    # Each ranked analysis is the one analyze() gives for the pair (rank works on analyses computed anywhere).
    for row in result["ranking"]:
        pair = next(p for p in pairs if p[0] == row["player"]["name"])
        assert row["analysis"] == matchup.analyze(dataset, *pair, season=2023, week=5)
        assert row["analysis"]["game"]["week"] == 5
    assert compare.rank([r["analysis"] for r in result["ranking"]], slots=2) == result


def test_compare_one_week_for_everyone(dataset: Dataset) -> None:
    # 2023 week 5: Lamb at SF, McCaffrey vs DAL, Kelce at MIN, Hill at NYG.
    pairs = [("CeeDee Lamb", "SF"), ("Christian McCaffrey", "DAL"), ("Travis Kelce", "MIN"), ("Tyreek Hill", "NYG")]
    result = compare.compare(dataset, pairs, season=2023, week=5, scoring="half")
    assert result["scoring"] == "half"
    assert {r["analysis"]["game"]["week"] for r in result["ranking"]} == {5}
    assert result["ranking"][0]["points"] >= result["ranking"][-1]["points"]


def test_compare_names_the_bad_pair(dataset: Dataset) -> None:
    with pytest.raises(InputError, match="Nobody"):
        compare.compare(dataset, [("CeeDee Lamb", "SF"), ("Nobody Atall", "SF")], season=2023, week=5)
    # The seed's example without a week: one week for all (2024 week 1), and DAL plays at CLE then.
    with pytest.raises(InputError, match=r"DAL does not play SF in 2024 week 1 .*DAL's next games: week 1 at CLE"):
        compare.compare(dataset, [("CeeDee Lamb", "SF"), ("Tyreek Hill", "LAR"), ("Justin Jefferson", "SEA")])
    with pytest.raises(InputError):
        compare.compare(dataset, [])


def test_compare_ten_pairs_repeats_exactly(dataset: Dataset) -> None:
    # Ten pairs at once, warm after the first call (bench/ measures how fast).
    names = [
        "CeeDee Lamb",
        "Tyreek Hill",
        "Justin Jefferson",
        "Travis Kelce",
        "Christian McCaffrey",
        "Josh Allen",
        "Davante Adams",
        "Stefon Diggs",
        "Puka Nacua",
        "Amon-Ra St. Brown",
    ]
    pairs = [(name, None) for name in names]  # each against his scheduled opponent in 2023 week 5
    first = compare.compare(dataset, pairs, season=2023, week=5)
    assert len(first["ranking"]) == len(pairs)
    for _ in range(2):
        assert compare.compare(dataset, pairs, season=2023, week=5) == first
