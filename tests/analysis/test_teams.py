"""Teams and venues: what a user types resolves to one team or stadium (venues.py is tested here too)."""

from __future__ import annotations

import polars as pl
import pytest

from fgrid.analysis.dataset import Dataset
from fgrid.analysis.teams import TEAM_CODES, TEAMS, normalize_team_code, resolve_team
from fgrid.analysis.venues import VENUES, get_venue, home_venue, resolve_location
from fgrid.errors import InputError

# --- teams ----------------------------------------------------------------------------------------------------------


def test_thirty_two_teams_matching_the_schedules(dataset: Dataset) -> None:
    assert len(TEAMS) == 32
    assert set(dataset.schedules["home_team"]) == set(TEAM_CODES)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SF", "SF"),
        ("sf", "SF"),
        ("49ers", "SF"),
        ("niners", "SF"),
        ("San Francisco", "SF"),
        ("san francisco 49ers", "SF"),
        ("LA", "LA"),
        ("LAR", "LA"),
        ("Rams", "LA"),
        ("STL", "LA"),
        ("St. Louis", "LA"),
        ("KC", "KC"),
        ("Kansas City", "KC"),
        ("OAK", "LV"),
        ("Raiders", "LV"),
        ("Las Vegas", "LV"),
        ("SD", "LAC"),
        ("Chargers", "LAC"),
        ("JAC", "JAX"),
        ("Green Bay", "GB"),
        ("  packers ", "GB"),
        ("Washington", "WAS"),
        ("Commanders", "WAS"),
        ("Football Team", "WAS"),
        ("Jets", "NYJ"),
    ],
)
def test_resolve_team(query: str, code: str) -> None:
    assert resolve_team(query).code == code


def test_team_fields() -> None:
    niners = resolve_team("niners")
    assert (niners.name, niners.city, niners.nickname) == ("San Francisco 49ers", "San Francisco", "49ers")


@pytest.mark.parametrize(("query", "codes"), [("Los Angeles", ("LA", "LAC")), ("new york", ("NYG", "NYJ"))])
def test_ambiguous_city_lists_both_teams(query: str, codes: tuple[str, str]) -> None:
    with pytest.raises(InputError, match=f"ambiguous team '{query}'") as caught:
        resolve_team(query)
    assert all(f"{code} (" in str(caught.value) for code in codes)


def test_unknown_team_lists_valid_codes() -> None:
    with pytest.raises(InputError, match=r"^unknown team 'XYZ'; valid codes: ARI, ATL, ") as caught:
        resolve_team("XYZ")
    assert all(code in str(caught.value) for code in TEAM_CODES) and "\n" not in str(caught.value)


def test_normalize_team_code() -> None:
    assert [normalize_team_code(c) for c in ("OAK", "sd", "STL", "LAR", "KCC", "SF", "FA", None)] == [
        "LV",
        "LAC",
        "LA",
        "LA",
        "KC",
        "SF",
        None,
        None,
    ]


# --- venues ---------------------------------------------------------------------------------------------------------


def test_every_stadium_in_the_schedules_is_in_the_table(dataset: Dataset) -> None:
    ids = set(dataset.schedules["stadium_id"].drop_nulls())
    assert ids - set(VENUES) == set()


def test_every_stadium_name_in_the_schedules_resolves_to_its_id(dataset: Dataset) -> None:
    for stadium_id, name in dataset.schedules.select("stadium_id", "stadium").unique().iter_rows():
        assert resolve_location(name).stadium_id == stadium_id, name


def test_home_games_are_played_at_the_home_teams_stadium(dataset: Dataset) -> None:
    home_games = dataset.schedules.filter(pl.col("location") == "Home")
    wrong = [
        (game_id, stadium_id)
        for game_id, home_team, stadium_id in home_games.select("game_id", "home_team", "stadium_id").iter_rows()
        if home_team not in VENUES[stadium_id].home_teams
    ]
    assert wrong == []
    neutral = dataset.schedules.filter(pl.col("location") == "Neutral")
    assert {"LON00", "LON02", "MEX00", "GER00", "FRA00", "SAO00"} <= set(neutral["stadium_id"])


@pytest.mark.parametrize(
    "query", ["Santa Clara, CA", "Santa Clara", "santa clara california", "Levi's Stadium", "levis stadium", "SFO01"]
)
def test_santa_clara_is_the_49ers_stadium(query: str) -> None:
    venue = resolve_location(query)
    assert venue.stadium_id == "SFO01" and venue.home_teams == ("SF",) and venue.location == "Santa Clara, CA"


@pytest.mark.parametrize(
    ("query", "stadium_id"),
    [
        ("Denver", "DEN00"),
        ("Mexico City", "MEX00"),
        ("São Paulo, Brazil", "SAO00"),
        ("Munich", "GER00"),
        ("Frankfurt, Germany", "FRA00"),
        ("Wembley Stadium", "LON00"),
        ("Los Angeles", "LAX01"),  # the current stadium, not the Coliseum of 2019
        ("Heinz Field", "PIT00"),
        ("Oakland", "OAK00"),
    ],
)
def test_resolve_location(query: str, stadium_id: str) -> None:
    assert resolve_location(query).stadium_id == stadium_id


def test_altitudes_a_fan_would_know() -> None:
    assert get_venue("DEN00").altitude_ft == 5280
    assert get_venue("MEX00").altitude_ft > 7000
    assert max(VENUES.values(), key=lambda v: v.altitude_ft).stadium_id == "MEX00"


def test_home_venue() -> None:
    assert home_venue("LV").stadium_id == "VEG00"
    assert home_venue("NYJ") == home_venue("NYG")


def test_ambiguous_and_unknown_locations() -> None:
    with pytest.raises(InputError, match=r"ambiguous location 'London'.*LON00.*LON02"):
        resolve_location("London")
    with pytest.raises(InputError, match=r"unknown location 'Atlantis'; known cities include .*Atlanta, GA"):
        resolve_location("Atlantis")
