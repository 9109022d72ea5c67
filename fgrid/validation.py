"""Shape checks for what users send (CLI, HTTP, task arguments), before any data is read or anything queued.

These check types, lengths and characters only; whether a player or team exists is the analysis's question
(:mod:`fgrid.service.resolve`, through the analysis).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from fgrid.errors import InputError

SCORINGS = ("ppr", "half", "standard")
POSITIONS = ("QB", "RB", "WR", "TE")
#: Longest name, team or location accepted (characters).
MAX_TEXT = 100
#: Most players in one comparison.
MAX_COMPARE = 32
#: Seasons and weeks that can exist in nflverse data.
MIN_SEASON, MAX_SEASON = 1999, 2100
MIN_WEEK, MAX_WEEK = 1, 22

_TASK_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def text(value: Any, what: str) -> str:
    """Return ``value`` stripped, if it is a printable string of sensible length; else raise InputError."""
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, not {type(value).__name__}")
    value = value.strip()
    if not value:
        raise InputError(f"{what} is empty")
    if len(value) > MAX_TEXT:
        raise InputError(f"{what} is too long ({len(value)} characters; at most {MAX_TEXT})")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in value):
        raise InputError(f"{what} contains control characters")
    return value


def optional_int(value: Any, what: str, low: int, high: int) -> int | None:
    """Return ``value`` as an int in [low, high], None for None; else raise InputError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        digits = value.strip().lstrip("-") if isinstance(value, str) else ""
        if digits.isascii() and digits.isdigit():  # not "²", which str.isdigit takes and int() refuses
            value = int(value)
        else:
            raise InputError(f"{what} must be a whole number, not {value!r}"[:160])
    if not low <= value <= high:
        raise InputError(f"{what} {value} is out of range ({low}-{high})")
    return value


def required_int(value: Any, what: str, low: int, high: int) -> int:
    """Return ``value`` as an int in [low, high]; else (None included) raise InputError."""
    checked = optional_int(value, what, low, high)
    if checked is None:
        raise InputError(f"{what} is required")
    return checked


def season(value: Any) -> int:
    """A season that can exist in nflverse data."""
    return required_int(value, "season", MIN_SEASON, MAX_SEASON)


def week(value: Any) -> int:
    """A week that can exist in nflverse data."""
    return required_int(value, "week", MIN_WEEK, MAX_WEEK)


def scoring(value: Any) -> str:
    """Return the scoring format (ppr, half, standard), lower-cased; else raise InputError."""
    if not isinstance(value, str) or value.strip().lower() not in SCORINGS:
        raise InputError(f"unknown scoring {str(value)[:20]!r}; use one of: {', '.join(SCORINGS)}")
    return value.strip().lower()


def analyze_args(
    player: Any, opponent: Any, location: Any = None, season: Any = None, week: Any = None, scoring_: Any = "ppr"
) -> dict[str, Any]:
    """Check one analysis request's shape; return it normalized (the kwargs of ``fgrid.analyze_player``)."""
    return {
        "player": text(player, "player"),
        "opponent": text(opponent, "opponent"),
        "location": None if location in (None, "") else text(location, "location"),
        "season": optional_int(season, "season", MIN_SEASON, MAX_SEASON),
        "week": optional_int(week, "week", MIN_WEEK, MAX_WEEK),
        "scoring": scoring(scoring_),
    }


def compare_args(players: Any, opponents: Any) -> list[tuple[str, str]]:
    """Pair players with opponents (one each in order, or one for all); raise InputError on a bad shape."""
    if not isinstance(players, (list, tuple)) or not isinstance(opponents, (list, tuple)):
        raise InputError("players and opponents must be lists")
    if not players:
        raise InputError("no players to compare")
    if len(players) > MAX_COMPARE:
        raise InputError(f"too many players to compare ({len(players)}; at most {MAX_COMPARE})")
    if not opponents:
        raise InputError("no opponents given; name one per player, or one for all")
    if len(opponents) == 1:
        opponents = list(opponents) * len(players)
    if len(opponents) != len(players):
        raise InputError(f"{len(players)} players but {len(opponents)} opponents; give one per player, or one for all")
    return [(text(p, "player"), text(o, "opponent")) for p, o in zip(players, opponents, strict=True)]


def position(value: Any) -> str | None:
    """Return a fantasy position (QB, RB, WR, TE) upper-cased, None for None; else raise InputError."""
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().upper() not in POSITIONS:
        raise InputError(f"unknown position {str(value)[:20]!r}; use one of: {', '.join(POSITIONS)}")
    return value.strip().upper()


def task_id(value: Any) -> str:
    """Return ``value`` if it looks like a Celery task id (a UUID); else raise InputError."""
    if not isinstance(value, str) or not _TASK_ID.match(value.strip()):
        raise InputError(
            f"malformed task id {str(value)[:60]!r}; a task id looks like 3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"
        )
    return value.strip().lower()
