"""Player lookup by id or name, on the real 2019-2023 stats."""

from __future__ import annotations

import polars as pl
import pytest

from fgrid.analysis.dataset import Dataset
from fgrid.analysis.players import (
    FANTASY_POSITIONS,
    Player,
    name_key,
    player_team_at,
    resolve_player,
)
from fgrid.errors import InputError

LAMB = Player(id="00-0036358", name="CeeDee Lamb", position="WR", team="DAL")


@pytest.mark.parametrize(
    "query",
    [
        "CeeDee Lamb",
        "ceedee lamb",
        "CEEDEE LAMB",
        "Cee Dee Lamb",
        "Cée-Dée Lamb",
        "  CeeDee  Lamb ",
        "C.Lamb",
        "00-0036358",
        "6786",
        "sleeper:6786",
        "4241389",
        "espn:4241389",
    ],
)
def test_resolve_by_name_or_id(dataset: Dataset, query: str) -> None:
    assert resolve_player(dataset, query) == LAMB


def test_punctuation_and_suffixes_are_ignored(dataset: Dataset) -> None:
    assert resolve_player(dataset, "amon ra st brown").name == "Amon-Ra St. Brown"
    assert resolve_player(dataset, "Jamarr Chase").name == "Ja'Marr Chase"
    assert name_key("Michael Penix Jr.") == name_key("michael penix")


def test_namesakes_are_ambiguous(dataset: Dataset) -> None:
    with pytest.raises(InputError) as caught:
        resolve_player(dataset, "Ryan Griffin")
    message = str(caught.value)
    assert message.startswith("ambiguous player 'Ryan Griffin': Ryan Griffin (TE, ")
    assert "Ryan Griffin (QB, TB, 00-0029857)" in message and "00-0030108" in message
    assert message.endswith("; use the id") and "\n" not in message


def test_season_or_id_picks_one_namesake(dataset: Dataset) -> None:
    assert resolve_player(dataset, "Ryan Griffin", season=2021) == Player("00-0030108", "Ryan Griffin", "TE", "NYJ")
    assert resolve_player(dataset, "00-0029857").position == "QB"


def test_unknown_name_suggests_the_closest(dataset: Dataset) -> None:
    with pytest.raises(InputError, match=r"^unknown player 'Ceedee Lam'; did you mean: CeeDee Lamb"):
        resolve_player(dataset, "Ceedee Lam")
    with pytest.raises(InputError, match=r"did you mean: .*Patrick Mahomes"):
        resolve_player(dataset, "Patrik Mahomes")
    with pytest.raises(InputError, match="unknown player 'Zzyzx Qwv'"):
        resolve_player(dataset, "Zzyzx Qwv")


def test_unknown_ids(dataset: Dataset) -> None:
    with pytest.raises(InputError, match="unknown player id '00-9999999'"):
        resolve_player(dataset, "00-9999999")
    with pytest.raises(InputError, match="unknown player id '123456789'"):
        resolve_player(dataset, "123456789")
    with pytest.raises(InputError, match="empty player name"):
        resolve_player(dataset, "  ")


def test_only_fantasy_positions_are_found(dataset: Dataset) -> None:
    others = dataset.stats.filter(~pl.col("position").is_in(FANTASY_POSITIONS) | pl.col("position").is_null())
    fantasy = set(dataset.stats.filter(pl.col("position").is_in(FANTASY_POSITIONS))["player_id"])
    never_fantasy = sorted(set(others["player_id"]) - fantasy)
    assert len(never_fantasy) > 10  # punters, defenders and linemen with a trick-play stat line
    for player_id in never_fantasy[:10]:
        with pytest.raises(InputError, match="unknown player id"):
            resolve_player(dataset, player_id)


def test_team_follows_the_season(dataset: Dataset) -> None:
    assert resolve_player(dataset, "Tom Brady").team == "TB"  # his last game was with Tampa Bay
    assert resolve_player(dataset, "Tom Brady", season=2019).team == "NE"
    brady = resolve_player(dataset, "Tom Brady").id
    assert player_team_at(dataset, brady, 2020, 1) == "NE"  # before week 1 of 2020 his last game was for NE
    assert player_team_at(dataset, brady, 2020, 2) == "TB"
    assert player_team_at(dataset, brady, 2019, 1) is None  # no earlier game in the data
    # Christian McCaffrey was traded from CAR to SF during 2022 (his first SF game was week 7).
    cmc = resolve_player(dataset, "Christian McCaffrey").id
    assert player_team_at(dataset, cmc, 2022, 7) == "CAR"
    assert player_team_at(dataset, cmc, 2022, 8) == "SF"


def test_lookups_after_the_first_agree_with_it(dataset: Dataset) -> None:
    # Later lookups read the index the first one built (bench/ measures how fast).
    first = resolve_player(dataset, "Justin Jefferson")
    for _ in range(3):
        assert resolve_player(dataset, "Justin Jefferson") == first
