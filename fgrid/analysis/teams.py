"""The 32 NFL teams: resolve what a user types (a code, an old code, a city or a nickname) to one team.

Codes are nflverse's current codes (``LA`` is the Rams, ``LV`` the Raiders). :func:`normalize_team_code` maps
the codes other sources use (historical ``OAK``/``SD``/``STL``, DynastyProcess ``GBP``/``KCC``, ``LAR``) to them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from fgrid.errors import InputError


@dataclass(frozen=True)
class Team:
    """One NFL team: its nflverse code, full name, the place in its name, and its nickname."""

    code: str
    name: str
    city: str
    nickname: str


def _team(code: str, city: str, nickname: str) -> Team:
    return Team(code=code, name=f"{city} {nickname}", city=city, nickname=nickname)


#: Every team by its current nflverse code.
TEAMS: dict[str, Team] = {
    t.code: t
    for t in (
        _team("ARI", "Arizona", "Cardinals"),
        _team("ATL", "Atlanta", "Falcons"),
        _team("BAL", "Baltimore", "Ravens"),
        _team("BUF", "Buffalo", "Bills"),
        _team("CAR", "Carolina", "Panthers"),
        _team("CHI", "Chicago", "Bears"),
        _team("CIN", "Cincinnati", "Bengals"),
        _team("CLE", "Cleveland", "Browns"),
        _team("DAL", "Dallas", "Cowboys"),
        _team("DEN", "Denver", "Broncos"),
        _team("DET", "Detroit", "Lions"),
        _team("GB", "Green Bay", "Packers"),
        _team("HOU", "Houston", "Texans"),
        _team("IND", "Indianapolis", "Colts"),
        _team("JAX", "Jacksonville", "Jaguars"),
        _team("KC", "Kansas City", "Chiefs"),
        _team("LA", "Los Angeles", "Rams"),
        _team("LAC", "Los Angeles", "Chargers"),
        _team("LV", "Las Vegas", "Raiders"),
        _team("MIA", "Miami", "Dolphins"),
        _team("MIN", "Minnesota", "Vikings"),
        _team("NE", "New England", "Patriots"),
        _team("NO", "New Orleans", "Saints"),
        _team("NYG", "New York", "Giants"),
        _team("NYJ", "New York", "Jets"),
        _team("PHI", "Philadelphia", "Eagles"),
        _team("PIT", "Pittsburgh", "Steelers"),
        _team("SEA", "Seattle", "Seahawks"),
        _team("SF", "San Francisco", "49ers"),
        _team("TB", "Tampa Bay", "Buccaneers"),
        _team("TEN", "Tennessee", "Titans"),
        _team("WAS", "Washington", "Commanders"),
    )
}

#: The current codes, sorted.
TEAM_CODES: tuple[str, ...] = tuple(sorted(TEAMS))

#: Codes other sources use, mapped to the current code: relocations, nflverse's ``LA``/``LAR``, DynastyProcess
#: (``GBP``, ``KCC``, ``NEP``...) and NFL GSIS (``ARZ``, ``BLT``, ``CLV``, ``HST``) abbreviations.
CODE_ALIASES: dict[str, str] = {
    "OAK": "LV",
    "LVR": "LV",
    "SD": "LAC",
    "SDC": "LAC",
    "STL": "LA",
    "LAR": "LA",
    "RAM": "LA",
    "JAC": "JAX",
    "WSH": "WAS",
    "GBP": "GB",
    "KCC": "KC",
    "NEP": "NE",
    "NOS": "NO",
    "SFO": "SF",
    "TBB": "TB",
    "ARZ": "ARI",
    "BLT": "BAL",
    "CLV": "CLE",
    "HST": "HOU",
}

#: Every code fgrid accepts in data files, mapped to the current code.
CODE_MAP: dict[str, str] = {**{code: code for code in TEAMS}, **CODE_ALIASES}

# Names people use for a team beyond its city, nickname and full name (old names included).
_EXTRA_NAMES: dict[str, str] = {
    "niners": "SF",
    "pats": "NE",
    "bucs": "TB",
    "jags": "JAX",
    "bolts": "LAC",
    "oakland": "LV",
    "oakland raiders": "LV",
    "san diego": "LAC",
    "san diego chargers": "LAC",
    "st louis": "LA",
    "saint louis": "LA",
    "st louis rams": "LA",
    "redskins": "WAS",
    "washington redskins": "WAS",
    "football team": "WAS",
    "washington football team": "WAS",
}


def normalize_team_code(code: str | None) -> str | None:
    """Return the current nflverse code for a team code from any source (``OAK`` -> ``LV``), or None if unknown."""
    if code is None:
        return None
    return CODE_MAP.get(code.strip().upper())


def _key(text: str) -> str:
    """Fold case, accents and punctuation so that ``St. Louis`` and ``st louis`` match."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


def _build_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, set[str]] = {}

    def add(name: str, code: str) -> None:
        index.setdefault(_key(name), set()).add(code)

    for team in TEAMS.values():
        for name in (team.city, team.nickname, team.name):
            add(name, team.code)
    for name, code in _EXTRA_NAMES.items():
        add(name, code)
    # Codes last and alone: "LA" is the Rams' code even though Los Angeles has two teams.
    codes = {_key(alias): {code} for alias, code in CODE_MAP.items()}
    index.update(codes)
    return {key: tuple(sorted(codes_)) for key, codes_ in index.items()}


_INDEX = _build_index()


def resolve_team(query: str) -> Team:
    """Return the team a user means by a code (``SF``), old code (``OAK``), city or nickname (``niners``)."""
    codes = _INDEX.get(_key(query), ())
    if len(codes) == 1:
        return TEAMS[codes[0]]
    if len(codes) > 1:
        choices = " or ".join(f"{code} ({TEAMS[code].name})" for code in codes)
        raise InputError(f"ambiguous team '{query}': {choices}; use the code")
    raise InputError(f"unknown team '{query}'; valid codes: {', '.join(TEAM_CODES)}")
