"""Players: resolve what a user types (a gsis, Sleeper or ESPN id, or a name) to one player in the stats.

Only fantasy-relevant players (QB, RB, WR, TE, FB, K) with at least one game in the synced stats can be found.
Names match ignoring case, accents, punctuation, spaces and suffixes (``Cee Dee Lamb`` is ``CeeDee Lamb``,
``Michael Penix`` is ``Michael Penix Jr.``). The index is built once per Dataset and kept on it.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from rapidfuzz import fuzz, process

from fgrid.analysis.dataset import Dataset
from fgrid.errors import InputError

#: Positions fgrid analyses; other players in the stats (linemen on trick plays, defenders) are not resolvable.
FANTASY_POSITIONS: tuple[str, ...] = ("QB", "RB", "WR", "TE", "FB", "K")

_GSIS_ID = re.compile(r"^\d{2}-\d{7}$")
_PREFIXED_ID = re.compile(r"^(sleeper|espn)\s*[:=]\s*(\d+)$", re.IGNORECASE)
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}
#: The key of the index in ``Dataset.derived``.
INDEX_KEY = "players.index"


@dataclass(frozen=True)
class Player:
    """A player: gsis id, display name, position and team (nflverse code; his latest, or as of a season)."""

    id: str
    name: str
    position: str
    team: str | None


@dataclass
class PlayerIndex:
    """Every resolvable player, by id and by the keys of his names, and each one's games and teams."""

    players: dict[str, Player]
    seasons: dict[str, frozenset[int]]
    #: Per player, his games in order as (season * 100 + week) keys and the team of each.
    timeline: dict[str, tuple[list[int], list[str]]]
    by_name: dict[str, list[str]]
    by_short_name: dict[str, list[str]]
    by_sleeper: dict[str, list[str]]
    by_espn: dict[str, list[str]]
    #: Folded display names for fuzzy suggestions, and the display name of each.
    choices: list[str] = field(default_factory=list)
    choice_names: list[str] = field(default_factory=list)


#: Fields of the index that are plain JSON already.
_JSON_FIELDS = ("by_name", "by_short_name", "by_sleeper", "by_espn", "choices", "choice_names")


def _fold(text: str) -> str:
    """Lower-case ASCII words: ``Amon-Ra St. Brown`` -> ``amon ra st brown``, ``Ja'Marr`` -> ``jamarr``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")
    words = re.sub(r"[^a-z0-9]+", " ", ascii_text).split()
    while len(words) > 2 and words[-1] in _SUFFIXES:
        words.pop()
    return " ".join(words)


def name_key(name: str) -> str:
    """Return the key two spellings of one name share (case, accents, punctuation, spaces and suffix ignored)."""
    return _fold(name).replace(" ", "")


def _game_key(season: int, week: int) -> int:
    return season * 100 + week


def _build_index(ds: Dataset) -> PlayerIndex:
    games = (
        ds.stats.select("player_id", "player_name", "player_display_name", "position", "team", "season", "week")
        .sort("season", "week")
        .group_by("player_id", maintain_order=True)
        .agg(
            pl.col("player_display_name").drop_nulls().last().alias("name"),
            pl.col("player_display_name").drop_nulls().unique().alias("names"),
            pl.col("player_name").drop_nulls().unique().alias("short_names"),
            pl.col("position").drop_nulls().last().alias("position"),
            (pl.col("season") * 100 + pl.col("week")).alias("keys"),
            pl.col("team").alias("teams"),
            pl.col("season").unique().alias("seasons"),
        )
        .filter(pl.col("position").is_in(FANTASY_POSITIONS))
    )
    index = PlayerIndex({}, {}, {}, {}, {}, {}, {})
    for row in games.iter_rows(named=True):
        pid = row["player_id"]
        index.players[pid] = Player(id=pid, name=row["name"], position=row["position"], team=row["teams"][-1])
        index.seasons[pid] = frozenset(row["seasons"])
        index.timeline[pid] = (row["keys"], row["teams"])
        for name in row["names"]:
            index.by_name.setdefault(name_key(name), []).append(pid)
            index.choices.append(_fold(name))
            index.choice_names.append(name)
        for short in row["short_names"]:
            index.by_short_name.setdefault(name_key(short), []).append(pid)
    ids = ds.players.filter(pl.col("gsis_id").is_in(list(index.players)))
    for gsis, sleeper, espn in ids.select("gsis_id", "sleeper_id", "espn_id").iter_rows():
        if sleeper:
            index.by_sleeper.setdefault(sleeper, []).append(gsis)
        if espn:
            index.by_espn.setdefault(espn, []).append(gsis)
    return index


def player_index(ds: Dataset) -> PlayerIndex:
    """The name and id index of ``ds``, built on first use (or read from the version's precomputed indexes) and kept
    on it."""
    index = ds.derived.get(INDEX_KEY)
    if index is None:
        index = ds.derived.setdefault(INDEX_KEY, _build_index(ds))
    return index


def index_to_json(index: PlayerIndex) -> dict[str, Any]:
    """The index as JSON-ready lists and dicts (for :mod:`fgrid.analysis.precomputed`)."""
    return {
        "players": {pid: [p.name, p.position, p.team] for pid, p in index.players.items()},
        "seasons": {pid: sorted(seasons) for pid, seasons in index.seasons.items()},
        "timeline": {pid: [keys, teams] for pid, (keys, teams) in index.timeline.items()},
        **{name: getattr(index, name) for name in _JSON_FIELDS},
    }


def index_from_json(doc: dict[str, Any]) -> PlayerIndex:
    """The index :func:`index_to_json` saved."""
    return PlayerIndex(
        players={pid: Player(pid, name, position, team) for pid, (name, position, team) in doc["players"].items()},
        seasons={pid: frozenset(seasons) for pid, seasons in doc["seasons"].items()},
        timeline={pid: (keys, teams) for pid, (keys, teams) in doc["timeline"].items()},
        **{name: doc[name] for name in _JSON_FIELDS},
    )


def player_team_at(ds: Dataset, player_id: str, season: int, week: int) -> str | None:
    """Return the player's team in his most recent game before ``season``/``week``, or None if he had none."""
    keys, teams = player_index(ds).timeline.get(player_id, ([], []))
    position = bisect.bisect_left(keys, _game_key(season, week)) - 1
    return teams[position] if position >= 0 else None


def _as_of(index: PlayerIndex, pid: str, season: int | None) -> Player:
    """The player with his team as of the end of ``season`` (his first team if he had no game by then)."""
    player = index.players[pid]
    if season is None:
        return player
    keys, teams = index.timeline[pid]
    position = bisect.bisect_left(keys, _game_key(season + 1, 0)) - 1
    team = teams[max(position, 0)]
    return player if team == player.team else Player(player.id, player.name, player.position, team)


def _pick(index: PlayerIndex, query: str, pids: list[str], season: int | None) -> Player:
    """Return the one player among ``pids`` (narrowed to ``season``'s if that decides); InputError if several."""
    pids = list(dict.fromkeys(pids))
    if len(pids) > 1 and season is not None:
        in_season = [pid for pid in pids if season in index.seasons[pid]]
        pids = in_season or pids
    if len(pids) == 1:
        return _as_of(index, pids[0], season)
    latest_first = sorted(pids, key=lambda pid: index.timeline[pid][0][-1], reverse=True)
    choices = " or ".join(
        f"{p.name} ({p.position}, {p.team}, {p.id})" for p in (_as_of(index, pid, season) for pid in latest_first)
    )
    raise InputError(f"ambiguous player '{query}': {choices}; use the id")


def _suggestions(index: PlayerIndex, query: str, limit: int = 5) -> list[str]:
    found = process.extract(_fold(query), index.choices, scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=70)
    names = dict.fromkeys(index.choice_names[position] for _choice, _score, position in found)
    return list(names)[:limit]


def resolve_player(ds: Dataset, query: str, season: int | None = None) -> Player:
    """Return the player a user means by gsis id (``00-0036358``), Sleeper or ESPN id, or name.

    ``season`` (optional) breaks a tie between namesakes in favour of one who played that season, and sets the
    returned team to his team as of that season. Raises InputError for an unknown or ambiguous query.
    """
    index = player_index(ds)
    text = query.strip()
    if not text:
        raise InputError("empty player name; give a name or an id such as 00-0036358")
    if _GSIS_ID.match(text):
        if text not in index.players:
            raise InputError(f"unknown player id '{text}' (no games as QB, RB, WR, TE or K in the synced data)")
        return _as_of(index, text, season)
    if prefixed := _PREFIXED_ID.match(text):
        source, number = prefixed[1].lower(), prefixed[2]
        pids = (index.by_sleeper if source == "sleeper" else index.by_espn).get(number, [])
        if not pids:
            raise InputError(f"unknown {source} id '{number}' (no such player with games in the synced data)")
        return _pick(index, text, pids, season)
    if text.isdigit():
        pids = index.by_sleeper.get(text, []) + index.by_espn.get(text, [])
        if not pids:
            raise InputError(f"unknown player id '{text}' (neither a Sleeper nor an ESPN id of a player with games)")
        if len(set(pids)) > 1:
            raise InputError(f"ambiguous player id '{text}'; write sleeper:{text} or espn:{text}")
        return _pick(index, text, pids, season)
    key = name_key(text)
    named = index.by_name.get(key) or index.by_short_name.get(key)
    if named:
        return _pick(index, text, named, season)
    similar = _suggestions(index, text)
    hint = f"did you mean: {', '.join(similar)}?" if similar else "no similar name in the synced data"
    raise InputError(f"unknown player '{text}'; {hint}")
