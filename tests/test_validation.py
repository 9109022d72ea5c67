"""Shape checks on what users send, before anything is read or queued: one clear InputError each."""

from __future__ import annotations

import pytest

from fgrid import validation
from fgrid.errors import InputError


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "must be text"),
        (3, "must be text"),
        ("   ", "is empty"),
        ("x" * 101, "too long"),
        ("Lamb\x00", "control characters"),
        ("Lamb\u202e", "control characters"),
    ],
)
def test_text_is_refused(value, message):
    with pytest.raises(InputError, match=message):
        validation.text(value, "player")


def test_text_is_stripped():
    assert validation.text("  CeeDee Lamb ", "player") == "CeeDee Lamb"


@pytest.mark.parametrize(("value", "expected"), [(None, None), (5, 5), ("5", 5), (" 18 ", 18)])
def test_optional_int_accepts(value, expected):
    assert validation.optional_int(value, "week", 1, 22) == expected


@pytest.mark.parametrize("value", [True, 0, 23, "five", 5.0, "1e3", "²", "-²"])
def test_optional_int_refuses(value):
    with pytest.raises(InputError, match="week"):
        validation.optional_int(value, "week", 1, 22)


def test_required_values():
    assert validation.season(2023) == 2023 and validation.week("5") == 5
    with pytest.raises(InputError, match="season is required"):
        validation.season(None)


@pytest.mark.parametrize(("value", "expected"), [("PPR", "ppr"), (" half ", "half"), ("standard", "standard")])
def test_scoring(value, expected):
    assert validation.scoring(value) == expected


def test_unknown_scoring_lists_the_choices():
    with pytest.raises(InputError, match="ppr, half, standard"):
        validation.scoring("points")


def test_compare_pairs_one_opponent_for_all_or_one_each():
    assert validation.compare_args(["A", "B"], ["SF"]) == [("A", "SF"), ("B", "SF")]
    assert validation.compare_args(["A", "B"], ["SF", "LAR"]) == [("A", "SF"), ("B", "LAR")]
    with pytest.raises(InputError, match="2 players but 3 opponents"):
        validation.compare_args(["A", "B"], ["SF", "LAR", "SEA"])
    with pytest.raises(InputError, match="too many"):
        validation.compare_args(["A"] * (validation.MAX_COMPARE + 1), ["SF"])


def test_task_ids():
    task_id = "3F1C9E5E-8D1B-4C1E-9A53-2B8F0C6D7E21"
    assert validation.task_id(task_id) == task_id.lower()
    for bad in ("../../etc", "3f1c9e5e", "", None):
        with pytest.raises(InputError, match="malformed task id"):
            validation.task_id(bad)
