"""Stadiums: a hand-made table of every venue in the 2019-2024 schedules, and lookup by what a user types.

nflverse schedules name a game's venue only by ``stadium_id`` (a PFR-style code such as ``SFO01``) and a stadium
name that changes with sponsors; this table adds the city, state or country, altitude and home teams. Values are
general public knowledge; ``roof`` and ``surface`` are each venue's usual ones (a game's own are in schedules).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from fgrid.errors import InputError


@dataclass(frozen=True)
class Venue:
    """One stadium. ``altitude_ft`` is feet above sea level; ``roof`` is outdoors, dome or retractable."""

    stadium_id: str
    name: str
    city: str
    state: str
    country: str
    roof: str
    surface: str
    altitude_ft: int
    home_teams: tuple[str, ...] = ()
    #: Other names the stadium had in 2019-2024 (as schedules spell them) or is known by.
    aliases: tuple[str, ...] = ()
    #: The metro area people name instead of the suburb (``Los Angeles`` for Inglewood), if any.
    metro: str = ""
    #: False for a venue no longer used by 2024 (a team moved out), so a city lookup prefers a current one.
    active: bool = True

    @property
    def location(self) -> str:
        """``City, ST`` in the US, ``City, Country`` elsewhere."""
        return f"{self.city}, {self.state or self.country}"

    @property
    def neutral(self) -> bool:
        """True for a venue with no NFL home team (international games)."""
        return not self.home_teams


def _us(
    stadium_id: str,
    name: str,
    city: str,
    state: str,
    roof: str,
    surface: str,
    altitude_ft: int,
    home_teams: tuple[str, ...],
    aliases: tuple[str, ...] = (),
    metro: str = "",
    active: bool = True,
) -> Venue:
    return Venue(stadium_id, name, city, state, "USA", roof, surface, altitude_ft, home_teams, aliases, metro, active)


def _abroad(
    stadium_id: str, name: str, city: str, country: str, altitude_ft: int, aliases: tuple[str, ...] = ()
) -> Venue:
    return Venue(stadium_id, name, city, "", country, "outdoors", "grass", altitude_ft, (), aliases)


#: Every venue of the 2019-2024 seasons by stadium_id: all home stadiums and every international site.
VENUES: dict[str, Venue] = {
    v.stadium_id: v
    for v in (
        _us("ATL97", "Mercedes-Benz Stadium", "Atlanta", "GA", "retractable", "turf", 1050, ("ATL",)),
        _us("BAL00", "M&T Bank Stadium", "Baltimore", "MD", "outdoors", "grass", 30, ("BAL",)),
        _us("BOS00", "Gillette Stadium", "Foxborough", "MA", "outdoors", "turf", 290, ("NE",), metro="Boston"),
        _us(
            "BUF00",
            "Highmark Stadium",
            "Orchard Park",
            "NY",
            "outdoors",
            "turf",
            860,
            ("BUF",),
            ("New Era Field",),
            metro="Buffalo",
        ),
        _us("CAR00", "Bank of America Stadium", "Charlotte", "NC", "outdoors", "turf", 750, ("CAR",)),
        _us("CHI98", "Soldier Field", "Chicago", "IL", "outdoors", "grass", 595, ("CHI",)),
        _us("CIN00", "Paycor Stadium", "Cincinnati", "OH", "outdoors", "turf", 490, ("CIN",), ("Paul Brown Stadium",)),
        _us(
            "CLE00",
            "Cleveland Browns Stadium",
            "Cleveland",
            "OH",
            "outdoors",
            "grass",
            580,
            ("CLE",),
            ("FirstEnergy Stadium", "Huntington Bank Field"),
        ),
        _us("DAL00", "AT&T Stadium", "Arlington", "TX", "retractable", "turf", 600, ("DAL",), metro="Dallas"),
        _us(
            "DEN00",
            "Empower Field at Mile High",
            "Denver",
            "CO",
            "outdoors",
            "grass",
            5280,
            ("DEN",),
            ("Broncos Stadium at Mile High", "Mile High"),
        ),
        _us("DET00", "Ford Field", "Detroit", "MI", "dome", "turf", 600, ("DET",)),
        _us("GNB00", "Lambeau Field", "Green Bay", "WI", "outdoors", "grass", 640, ("GB",)),
        _us("HOU00", "NRG Stadium", "Houston", "TX", "retractable", "turf", 50, ("HOU",)),
        _us("IND00", "Lucas Oil Stadium", "Indianapolis", "IN", "retractable", "turf", 715, ("IND",)),
        _us(
            "JAX00",
            "EverBank Stadium",
            "Jacksonville",
            "FL",
            "outdoors",
            "grass",
            20,
            ("JAX",),
            ("TIAA Bank Stadium", "TIAA Bank Field"),
        ),
        _us(
            "KAN00",
            "GEHA Field at Arrowhead Stadium",
            "Kansas City",
            "MO",
            "outdoors",
            "grass",
            800,
            ("KC",),
            ("Arrowhead Stadium", "Arrowhead"),
        ),
        _us("LAX01", "SoFi Stadium", "Inglewood", "CA", "dome", "turf", 100, ("LA", "LAC"), metro="Los Angeles"),
        _us(
            "LAX97",
            "Dignity Health Sports Park",
            "Carson",
            "CA",
            "outdoors",
            "grass",
            40,
            ("LAC",),
            ("StubHub Center",),
            metro="Los Angeles",
            active=False,
        ),
        _us(
            "LAX99",
            "Los Angeles Memorial Coliseum",
            "Los Angeles",
            "CA",
            "outdoors",
            "grass",
            200,
            ("LA",),
            ("LA Coliseum", "Coliseum"),
            active=False,
        ),
        _us("MIA00", "Hard Rock Stadium", "Miami Gardens", "FL", "outdoors", "grass", 10, ("MIA",), metro="Miami"),
        _us("MIN01", "U.S. Bank Stadium", "Minneapolis", "MN", "dome", "turf", 840, ("MIN",)),
        _us("NAS00", "Nissan Stadium", "Nashville", "TN", "outdoors", "turf", 420, ("TEN",)),
        _us(
            "NOR00",
            "Caesars Superdome",
            "New Orleans",
            "LA",
            "dome",
            "turf",
            5,
            ("NO",),
            ("Mercedes-Benz Superdome", "Superdome"),
        ),
        _us(
            "NYC01",
            "MetLife Stadium",
            "East Rutherford",
            "NJ",
            "outdoors",
            "turf",
            10,
            ("NYG", "NYJ"),
            metro="New York",
        ),
        _us(
            "OAK00",
            "Oakland Coliseum",
            "Oakland",
            "CA",
            "outdoors",
            "grass",
            10,
            ("LV",),
            ("Ring Central Coliseum", "RingCentral Coliseum", "Oakland-Alameda County Coliseum"),
            active=False,
        ),
        _us("PHI00", "Lincoln Financial Field", "Philadelphia", "PA", "outdoors", "grass", 20, ("PHI",)),
        _us(
            "PHO00",
            "State Farm Stadium",
            "Glendale",
            "AZ",
            "retractable",
            "grass",
            1070,
            ("ARI",),
            ("University of Phoenix Stadium",),
            metro="Phoenix",
        ),
        _us("PIT00", "Acrisure Stadium", "Pittsburgh", "PA", "outdoors", "grass", 730, ("PIT",), ("Heinz Field",)),
        _us("SEA00", "Lumen Field", "Seattle", "WA", "outdoors", "turf", 20, ("SEA",), ("CenturyLink Field",)),
        _us("SFO01", "Levi's Stadium", "Santa Clara", "CA", "outdoors", "grass", 20, ("SF",), metro="San Francisco"),
        _us("TAM00", "Raymond James Stadium", "Tampa", "FL", "outdoors", "grass", 30, ("TB",)),
        _us("VEG00", "Allegiant Stadium", "Paradise", "NV", "dome", "grass", 2030, ("LV",), metro="Las Vegas"),
        _us(
            "WAS00",
            "Northwest Stadium",
            "Landover",
            "MD",
            "outdoors",
            "grass",
            180,
            ("WAS",),
            ("FedExField", "FedEx Field", "Commanders Field"),
            metro="Washington",
        ),
        _abroad("FRA00", "Deutsche Bank Park", "Frankfurt", "Germany", 360, ("Waldstadion", "Commerzbank-Arena")),
        _abroad("GER00", "Allianz Arena", "Munich", "Germany", 1700, ("Fussball Arena Munchen", "Munchen")),
        _abroad("LON00", "Wembley Stadium", "London", "England", 130, ("Wembley",)),
        _abroad("LON02", "Tottenham Hotspur Stadium", "London", "England", 100, ("Tottenham Stadium", "Tottenham")),
        _abroad("MEX00", "Estadio Azteca", "Mexico City", "Mexico", 7200, ("Azteca Stadium", "Azteca")),
        _abroad("SAO00", "Arena Corinthians", "Sao Paulo", "Brazil", 2500, ("Neo Quimica Arena", "Corinthians Arena")),
    )
}

_STATE_NAMES = {
    "AZ": "Arizona",
    "CA": "California",
    "CO": "Colorado",
    "FL": "Florida",
    "GA": "Georgia",
    "IL": "Illinois",
    "IN": "Indiana",
    "LA": "Louisiana",
    "MA": "Massachusetts",
    "MD": "Maryland",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MO": "Missouri",
    "NC": "North Carolina",
    "NJ": "New Jersey",
    "NV": "Nevada",
    "NY": "New York",
    "OH": "Ohio",
    "PA": "Pennsylvania",
    "TN": "Tennessee",
    "TX": "Texas",
    "WA": "Washington",
    "WI": "Wisconsin",
}
_COUNTRY_NAMES = {"England": ("UK", "United Kingdom", "GB"), "Mexico": ("MX",), "Germany": ("DE",), "Brazil": ("BR",)}


def _key(text: str) -> str:
    """Fold case, accents and punctuation: ``Levi's Stadium`` -> ``levis stadium``, ``São Paulo`` -> ``sao paulo``."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


def _build_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, set[str]] = {}

    def add(name: str, venue: Venue) -> None:
        if name:
            index.setdefault(_key(name), set()).add(venue.stadium_id)

    for venue in VENUES.values():
        for name in (venue.stadium_id, venue.name, *venue.aliases):
            add(name, venue)
        for city in (venue.city, venue.metro):
            if not city:
                continue
            add(city, venue)
            regions = (
                (venue.state, _STATE_NAMES.get(venue.state, ""))
                if venue.state
                else (venue.country, *_COUNTRY_NAMES.get(venue.country, ()))
            )
            for region in regions:
                add(f"{city} {region}", venue)
    return {key: tuple(sorted(ids)) for key, ids in index.items()}


_INDEX = _build_index()


def get_venue(stadium_id: str) -> Venue | None:
    """Return the venue with this schedules ``stadium_id`` (``SFO01``), or None if the table lacks it."""
    return VENUES.get(stadium_id.strip().upper())


def home_venue(team_code: str) -> Venue:
    """Return a team's current home stadium (by current nflverse code, e.g. ``LV`` -> Allegiant Stadium)."""
    for venue in VENUES.values():
        if venue.active and team_code in venue.home_teams:
            return venue
    raise InputError(f"no home stadium known for team '{team_code}'")


def resolve_location(query: str) -> Venue:
    """Return the venue a user means by ``City, ST`` (``Santa Clara, CA``), a city, a stadium name or stadium_id."""
    ids = _INDEX.get(_key(query), ())
    if len(ids) > 1:
        # A city with an old and a current stadium means the current one (Los Angeles -> SoFi Stadium).
        active = tuple(i for i in ids if VENUES[i].active)
        ids = active if len(active) == 1 else ids
    if len(ids) == 1:
        return VENUES[ids[0]]
    if ids:
        choices = " or ".join(f"{VENUES[i].name} ({i})" for i in ids)
        raise InputError(f"ambiguous location '{query}': {choices}; use the stadium name or id")
    cities = sorted({v.location for v in VENUES.values() if v.active})
    raise InputError(
        f"unknown location '{query}'; known cities include {'; '.join(cities[:8])}; ... "
        "or give a stadium name or id (e.g. Levi's Stadium, SFO01)"
    )
