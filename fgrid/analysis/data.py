"""nflverse data: sync it (from local files or online) into a versioned Parquet store, and load it.

Layout of ``nfl_dir``::

    versions/<stamp>/{stats,schedules,players}.parquet, meta.json   one complete, never-modified version each
    versions/<stamp>/snapshot/                                       its analysis indexes (fgrid.analysis.snapshot)
    current -> versions/<stamp>                                      symlink, flipped atomically by a sync

A sync builds everything in memory first (so bad input changes nothing), writes ``versions/<stamp>.tmp/``,
renames it, then replaces ``current`` with ``os.replace``. A reader resolves ``current`` once per load, so it sees
one whole version or the previous one, never a mix. The current and the previous version are kept.

Every season's player stats, whatever nflverse schema year it comes in (2019's early nflfastR columns to 2024's
renamed ones), are normalized to one schema, :data:`STATS_COLUMNS`.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import os
import re
import shutil
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from fgrid.analysis.teams import CODE_MAP
from fgrid.errors import DataFormatError, InputError, NoDataError, TransientDataError, UnavailableError

#: Bumped when the stored schema changes; data synced with another value must be synced again.
SCHEMA_VERSION = 1
#: How many complete versions a sync keeps (the new current one and the one it replaced).
KEEP_VERSIONS = 2

CURRENT_LINK = "current"
VERSIONS_DIR = "versions"
STATS_FILE = "stats.parquet"
SCHEDULES_FILE = "schedules.parquet"
PLAYERS_FILE = "players.parquet"
META_FILE = "meta.json"
LOCK_FILE = ".sync.lock"

OFFLINE_MESSAGE = "cannot reach nflverse (offline?); use `fgrid data sync --from DIR` with local files"

#: Identity and game columns of ``Dataset.stats``, in order.
STATS_ID_COLUMNS: dict[str, pl.DataType] = {
    "player_id": pl.String(),
    "player_name": pl.String(),
    "player_display_name": pl.String(),
    "position": pl.String(),
    "team": pl.String(),
    "season": pl.Int64(),
    "week": pl.Int64(),
    "season_type": pl.String(),
    "opponent": pl.String(),
    "game_id": pl.String(),
    "gameday": pl.Date(),
    "home": pl.Boolean(),
}
#: Whole-number stat columns (counts and yards), nflverse's 2023 names.
COUNT_COLUMNS: tuple[str, ...] = (
    "completions",
    "attempts",
    "passing_yards",
    "passing_tds",
    "interceptions",
    "sacks",
    "sack_yards",
    "sack_fumbles",
    "sack_fumbles_lost",
    "passing_air_yards",
    "passing_yards_after_catch",
    "passing_first_downs",
    "passing_2pt_conversions",
    "carries",
    "rushing_yards",
    "rushing_tds",
    "rushing_fumbles",
    "rushing_fumbles_lost",
    "rushing_first_downs",
    "rushing_2pt_conversions",
    "receptions",
    "targets",
    "receiving_yards",
    "receiving_tds",
    "receiving_fumbles",
    "receiving_fumbles_lost",
    "receiving_air_yards",
    "receiving_yards_after_catch",
    "receiving_first_downs",
    "receiving_2pt_conversions",
    "special_teams_tds",
)
#: Fractional stat columns: EPA (null when the player had no such play), nflverse's own fantasy points, and the
#: shares (null before 2021 and for players without a target).
FLOAT_COLUMNS: tuple[str, ...] = (
    "passing_epa",
    "rushing_epa",
    "receiving_epa",
    "fantasy_points",
    "fantasy_points_ppr",
    "target_share",
    "air_yards_share",
)
#: The normalized stats schema: one row per player per game.
STATS_COLUMNS: dict[str, pl.DataType] = {
    **STATS_ID_COLUMNS,
    **{name: pl.Int64() for name in COUNT_COLUMNS},
    **{name: pl.Float64() for name in FLOAT_COLUMNS},
}
#: Stat columns a player stats file must have (everything scoring and usage need); others may be missing.
REQUIRED_STATS: tuple[str, ...] = (
    "player_id",
    "season",
    "week",
    "team",
    "completions",
    "attempts",
    "passing_yards",
    "passing_tds",
    "interceptions",
    "sack_fumbles_lost",
    "passing_2pt_conversions",
    "carries",
    "rushing_yards",
    "rushing_tds",
    "rushing_fumbles_lost",
    "rushing_2pt_conversions",
    "receptions",
    "targets",
    "receiving_yards",
    "receiving_tds",
    "receiving_fumbles_lost",
    "receiving_2pt_conversions",
    "special_teams_tds",
)
#: nflverse renames over the years, old or new name -> normalized name.
STATS_RENAMES: dict[str, str] = {
    "recent_team": "team",
    "opponent_team": "opponent",
    "passing_interceptions": "interceptions",
    "sacks_suffered": "sacks",
    "sack_yards_lost": "sack_yards",
}

#: The normalized schedules schema (nflverse games columns).
SCHEDULE_COLUMNS: dict[str, pl.DataType] = {
    "game_id": pl.String(),
    "season": pl.Int64(),
    "game_type": pl.String(),
    "week": pl.Int64(),
    "gameday": pl.Date(),
    "gametime": pl.String(),
    "away_team": pl.String(),
    "home_team": pl.String(),
    "away_score": pl.Int64(),
    "home_score": pl.Int64(),
    "location": pl.String(),
    "result": pl.Int64(),
    "total": pl.Int64(),
    "away_rest": pl.Int64(),
    "home_rest": pl.Int64(),
    "away_moneyline": pl.Int64(),
    "home_moneyline": pl.Int64(),
    "spread_line": pl.Float64(),
    "total_line": pl.Float64(),
    "div_game": pl.Int64(),
    "roof": pl.String(),
    "surface": pl.String(),
    "temp": pl.Float64(),
    "wind": pl.Float64(),
    "stadium_id": pl.String(),
    "stadium": pl.String(),
}
REQUIRED_SCHEDULE: tuple[str, ...] = ("game_id", "season", "game_type", "week", "gameday", "away_team", "home_team")
ROOF_VALUES = ("outdoors", "dome", "closed", "open")

#: The normalized player-ids schema (DynastyProcess ``db_playerids``; ids as int strings).
PLAYER_COLUMNS: dict[str, pl.DataType] = {
    "gsis_id": pl.String(),
    "sleeper_id": pl.String(),
    "espn_id": pl.String(),
    "name": pl.String(),
    "merge_name": pl.String(),
    "position": pl.String(),
    "team": pl.String(),
    "birthdate": pl.Date(),
}
REQUIRED_PLAYERS: tuple[str, ...] = ("gsis_id", "name", "position")
#: DynastyProcess position codes that differ from the NFL's.
POSITION_MAP: dict[str, str] = {"PK": "K", "PN": "P"}
#: DynastyProcess placeholders for "position unknown".
UNKNOWN_POSITIONS = ("?", "XX")

_NULLS = ["NA", "NULL", "NaN", ""]
_INDEX_COLUMN = re.compile(r"^(|Unnamed: \d+|__index_level_\d+__)$")
_STATS_NAME = re.compile(r"^(?:player_stats|stats_player_week)_(\d{4})\.(?:csv|csv\.gz|parquet)$")
_SCHEDULES_NAME = re.compile(r"^(?:schedules.*|games)\.(?:csv|csv\.gz|parquet)$")
_IDS_NAME = re.compile(r"^(?:player_ids|db_playerids)\.(?:csv|csv\.gz|parquet)$")

Progress = Callable[[str], None]


#: The tables of a version, by the Dataset attribute that holds each.
TABLE_FILES = {"stats": STATS_FILE, "schedules": SCHEDULES_FILE, "players": PLAYERS_FILE}


class Dataset:
    """One synced version of the data: stats (one row per player per game), schedules, player ids and meta.

    The tables are read from the version folder on first use (a worker analysing with the precomputed snapshot of
    :mod:`fgrid.analysis.snapshot` never reads them); tables given to the constructor are used as they are.
    """

    def __init__(self, *, meta: dict[str, Any], version: str, path: Path, stats: pl.DataFrame | None = None,
                 schedules: pl.DataFrame | None = None, players: pl.DataFrame | None = None,
                 derived: dict[str, Any] | None = None):
        self.meta = meta
        self.version = version
        self.path = Path(path)
        #: Indexes derived from this dataset (e.g. the player-name index), built once by the modules that need them.
        self.derived: dict[str, Any] = derived if derived is not None else {}
        given = {"stats": stats, "schedules": schedules, "players": players}
        self._tables: dict[str, pl.DataFrame] = {k: v for k, v in given.items() if v is not None}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Dataset(version={self.version!r}, path={str(self.path)!r})"

    @property
    def stats(self) -> pl.DataFrame:
        return self._table("stats")

    @property
    def schedules(self) -> pl.DataFrame:
        return self._table("schedules")

    @property
    def players(self) -> pl.DataFrame:
        return self._table("players")

    def loaded(self) -> list[str]:
        """The tables read (or given) so far."""
        return sorted(self._tables)

    def replace(self, **tables: pl.DataFrame) -> Dataset:
        """A copy with some tables replaced and nothing derived (every index is rebuilt from the tables)."""
        unknown = set(tables) - set(TABLE_FILES)
        if unknown:
            raise TypeError(f"unknown table(s) {sorted(unknown)}")
        merged = {name: tables.get(name, getattr(self, name)) for name in TABLE_FILES}
        return Dataset(meta=self.meta, version=self.version, path=self.path, **merged)

    def _table(self, name: str) -> pl.DataFrame:
        table = self._tables.get(name)
        if table is None:
            with self._lock:
                table = self._tables.get(name)
                if table is None:
                    path = self.path / TABLE_FILES[name]
                    try:
                        table = self._tables[name] = pl.read_parquet(path)
                    except FileNotFoundError as exc:
                        # Pruned by two newer syncs since this version was loaded: the next load sees the new one.
                        raise TransientDataError(f"the NFL data in {self.path.parent.parent} changed while being "
                                                 "read; try again") from exc
                    except OSError as exc:  # e.g. locked or being replaced: worth another try
                        raise TransientDataError(f"reading {path} failed: {_first_line(exc)}") from exc
                    except pl.exceptions.PolarsError as exc:
                        raise DataFormatError(f"cannot read {path}: {_first_line(exc)}; run `fgrid data sync` "
                                              "again") from exc
        return table


# ---------------------------------------------------------------------------------------------------------------
# Reading and normalizing


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _read_table(path: Path) -> pl.DataFrame:
    """Read a CSV (optionally gzipped) or Parquet file, CSV columns as strings; DataFormatError if unreadable."""
    try:
        if path.name.endswith(".parquet"):
            frame = pl.read_parquet(path)
        else:
            raw = path.read_bytes()
            if path.name.endswith(".gz"):
                raw = gzip.decompress(raw)
            frame = pl.read_csv(raw, infer_schema=False, null_values=_NULLS, raise_if_empty=True)
    except (OSError, EOFError, zlib.error, pl.exceptions.PolarsError) as error:
        raise DataFormatError(f"cannot read {path}: {_first_line(error)}") from error
    return frame


def _drop_index_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop the unnamed row-number column pandas writes (``""``, ``Unnamed: 0``, ``__index_level_0__``)."""
    return frame.drop([c for c in frame.columns if _INDEX_COLUMN.match(c)])


def _require(frame: pl.DataFrame, required: Iterable[str], source: str, what: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataFormatError(f"{source}: missing required columns {', '.join(missing)} (not an nflverse {what} file?)")


def _cast_expr(name: str, dtype: pl.DataType, present: set[str]) -> pl.Expr:
    """Cast one column to its normalized type; numbers pass through Float64 so that ``"3.0"`` and ``"-0"`` parse."""
    if name not in present:
        return pl.lit(None, dtype=dtype).alias(name)
    col = pl.col(name)
    if dtype == pl.String():
        return col.cast(pl.String).str.strip_chars().replace("", None).alias(name)
    if dtype == pl.Int64():
        return col.cast(pl.Float64).round(0).cast(pl.Int64).alias(name)
    if dtype == pl.Float64():
        return col.cast(pl.Float64).alias(name)
    if dtype == pl.Date():
        return col.cast(pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d").alias(name)
    return col.cast(dtype).alias(name)


def _cast(frame: pl.DataFrame, schema: dict[str, pl.DataType], source: str) -> pl.DataFrame:
    """Select ``schema``'s columns cast to its types (missing ones null); DataFormatError naming a bad column."""
    present = set(frame.columns)
    exprs = [_cast_expr(name, dtype, present) for name, dtype in schema.items()]
    try:
        return frame.select(exprs)
    except pl.exceptions.PolarsError:
        for expr, name in zip(exprs, schema, strict=True):
            try:
                frame.select(expr)
            except pl.exceptions.PolarsError as error:
                raise DataFormatError(
                    f"{source}: column {name} has values that are not {schema[name]}: {_first_line(error)}"
                ) from error
        raise


def _team_code(name: str) -> pl.Expr:
    """Map a team-code column to current nflverse codes (OAK -> LV); unknown codes become null."""
    return pl.col(name).str.to_uppercase().replace_strict(CODE_MAP, default=None, return_dtype=pl.String).alias(name)


def _int_string(name: str) -> pl.Expr:
    """Turn an id stored as a float (``4431611.0``) into an int string (``4431611``)."""
    return pl.col(name).str.replace(r"^(\d+)\.0*$", "${1}").alias(name)


def _normalize_stats(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Normalize one nflverse player stats table (any schema year 2019-2024) to :data:`STATS_COLUMNS`.

    Game columns (opponent from the file aside) and missing names or positions are filled later, by
    :func:`_build`, from schedules and player ids.
    """
    frame = _drop_index_columns(frame)
    renames = {old: new for old, new in STATS_RENAMES.items() if old in frame.columns and new not in frame.columns}
    frame = frame.rename(renames)
    _require(frame, REQUIRED_STATS, source, "player_stats")
    frame = _cast(frame, STATS_COLUMNS, source)
    return frame.with_columns(
        _team_code("opponent"),
        pl.col("team").str.to_uppercase().alias("team_raw"),
        _team_code("team"),
        pl.col("season_type").str.to_uppercase(),
    )


def _normalize_schedules(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Normalize an nflverse games table to :data:`SCHEDULE_COLUMNS` (current team codes, stripped surface)."""
    frame = _drop_index_columns(frame)
    _require(frame, REQUIRED_SCHEDULE, source, "schedules (games)")
    frame = _cast(frame, SCHEDULE_COLUMNS, source)
    return frame.with_columns(
        pl.col("away_team").str.to_uppercase().alias("away_raw"),
        pl.col("home_team").str.to_uppercase().alias("home_raw"),
        _team_code("away_team"),
        _team_code("home_team"),
        pl.col("game_type").str.to_uppercase(),
        pl.when(pl.col("roof").str.to_lowercase().is_in(ROOF_VALUES)).then(pl.col("roof").str.to_lowercase()),
        pl.col("surface").str.to_lowercase(),
    )


def _normalize_players(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Normalize a DynastyProcess player-ids table to :data:`PLAYER_COLUMNS`, one row per gsis_id."""
    frame = _drop_index_columns(frame)
    _require(frame, REQUIRED_PLAYERS, source, "player ids (db_playerids)")
    # Birthdates are read as text and parsed leniently: a bad one is not worth failing a sync over.
    frame = _cast(frame, {**PLAYER_COLUMNS, "birthdate": pl.String()}, source)
    position = pl.col("position").str.to_uppercase()
    return (
        frame.with_columns(
            _int_string("sleeper_id"),
            _int_string("espn_id"),
            pl.when(position.is_in(UNKNOWN_POSITIONS))
            .then(None)
            .otherwise(position.replace(POSITION_MAP))
            .alias("position"),
            _team_code("team"),
            pl.col("birthdate").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        )
        .filter(pl.col("gsis_id").is_not_null())
        .unique("gsis_id", keep="first", maintain_order=True)
    )


def _schedule_sides(schedules: pl.DataFrame) -> pl.DataFrame:
    """One row per team per game: (season, week, team) -> game_id, opponent, gameday, home, game_type."""
    keep = ["season", "week", "game_id", "gameday", "game_type"]
    home = schedules.select(*keep, team="home_team", opponent="away_team", home=pl.lit(True))
    away = schedules.select(*keep, team="away_team", opponent="home_team", home=pl.lit(False))
    return pl.concat([home, away]).unique(["season", "week", "team"], keep="last")


def _count(mask: pl.Series) -> int:
    return int(mask.sum())


def _build(
    stat_frames: list[pl.DataFrame],
    schedules: pl.DataFrame,
    players: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Join normalized stats to schedules and player ids; return (stats, schedules, counts of skipped/filled rows).

    Rows that cannot be used (no player id, a team code fgrid does not know, no game in schedules for the team
    that week, a second row for the same player and game) are left out and counted by reason and season.
    """
    unknown_schedule = schedules.filter(pl.col("away_team").is_null() | pl.col("home_team").is_null())
    schedules = schedules.filter(pl.col("away_team").is_not_null() & pl.col("home_team").is_not_null())
    schedules = schedules.unique("game_id", keep="last").sort("gameday", "game_id")

    stats = pl.concat(stat_frames, how="vertical") if stat_frames else pl.DataFrame(schema=STATS_COLUMNS)
    ids = players.select(player_id="gsis_id", id_name="name", id_position="position")
    sides = _schedule_sides(schedules).rename(
        {"game_id": "s_game_id", "opponent": "s_opponent", "gameday": "s_gameday", "home": "s_home"}
    )
    stats = (
        stats.join(ids, on="player_id", how="left")
        .join(sides, on=["season", "week", "team"], how="left")
        .with_row_index("_row")
    )

    skip_reason = (
        pl.when(pl.col("player_id").is_null())
        .then(pl.lit("missing_player_id"))
        .when(pl.col("team").is_null())
        .then(pl.lit("unknown_team"))
        .when(pl.col("s_game_id").is_null())
        .then(pl.lit("no_game"))
        .when(pl.col("_row") != pl.col("_row").min().over("player_id", "s_game_id"))
        .then(pl.lit("duplicate"))
    )
    stats = stats.with_columns(_skip=skip_reason)
    skipped_rows = stats.filter(pl.col("_skip").is_not_null())
    stats = stats.filter(pl.col("_skip").is_null())

    filled = {
        "position_from_player_ids": _count(stats["position"].is_null() & stats["id_position"].is_not_null()),
        "display_name_from_player_ids": _count(
            stats["player_display_name"].is_null() & stats["id_name"].is_not_null()
        ),
        "opponent_from_schedules": _count(stats["opponent"].is_null()),
        "opponent_corrected": _count(stats["opponent"].is_not_null() & (stats["opponent"] != stats["s_opponent"])),
    }
    stats = stats.with_columns(
        position=pl.coalesce("position", "id_position"),
        player_display_name=pl.coalesce("player_display_name", "id_name", "player_name"),
        player_name=pl.coalesce("player_name", "player_display_name", "id_name"),
        opponent=pl.col("s_opponent"),
        game_id=pl.col("s_game_id"),
        gameday=pl.col("s_gameday"),
        home=pl.col("s_home"),
        season_type=pl.coalesce(
            "season_type", pl.when(pl.col("game_type") == "REG").then(pl.lit("REG")).otherwise(pl.lit("POST"))
        ),
    )
    filled["position_missing"] = _count(stats["position"].is_null())
    stats = stats.select(list(STATS_COLUMNS)).sort("season", "week", "team", "player_id")

    skipped: dict[str, int] = {}
    for (reason,), group in skipped_rows.group_by("_skip", maintain_order=True):
        skipped[str(reason)] = group.height
    if unknown_schedule.height:
        skipped["schedule_games_unknown_team"] = unknown_schedule.height
    report = {
        "skipped": skipped,
        "skipped_by_season": {
            str(season): n
            for season, n in skipped_rows.group_by("season").len().sort("season").iter_rows()
            if season is not None
        },
        "unknown_team_codes": sorted(
            (
                set(skipped_rows.filter(pl.col("_skip") == "unknown_team")["team_raw"].drop_nulls())
                | set(unknown_schedule["away_raw"].drop_nulls())
                | set(unknown_schedule["home_raw"].drop_nulls())
            )
            - set(CODE_MAP)
        ),
        "filled": filled,
    }
    return stats, schedules.select(list(SCHEDULE_COLUMNS)), report


# ---------------------------------------------------------------------------------------------------------------
# Finding local files


@dataclass(frozen=True)
class _SourceFiles:
    stats: dict[int, Path]
    schedules: list[Path]
    player_ids: Path
    ignored: list[Path]


def _find_files(src: Path, seasons: Collection[int] | None) -> _SourceFiles:
    if not src.is_dir():
        raise InputError(f"no such folder: {src}")
    folders = [d for d in (src, src / "raw") if d.is_dir()]
    candidates = [p for d in folders for p in sorted(d.iterdir()) if p.is_file()]
    stats: dict[int, Path] = {}
    schedules: list[Path] = []
    ids: list[Path] = []
    ignored: list[Path] = []
    for path in candidates:
        if match := _STATS_NAME.match(path.name):
            season = int(match[1])
            if seasons is not None and season not in seasons:
                continue
            if season in stats:
                ignored.append(path)
            else:
                stats[season] = path
        elif _SCHEDULES_NAME.match(path.name):
            schedules.append(path)
        elif _IDS_NAME.match(path.name):
            ids.append(path)
    where = f"{src} (or {src / 'raw'})"
    if not stats:
        wanted = f" for seasons {min(seasons)}-{max(seasons)}" if seasons else ""
        raise DataFormatError(f"no player_stats_YYYY.csv[.gz] files{wanted} in {where}")
    if not schedules:
        raise DataFormatError(f"no schedules*.csv or games.csv in {where}")
    if not ids:
        raise DataFormatError(f"no player_ids.csv or db_playerids.csv in {where}")
    ignored.extend(ids[1:])
    return _SourceFiles(stats=dict(sorted(stats.items())), schedules=schedules, player_ids=ids[0], ignored=ignored)


# ---------------------------------------------------------------------------------------------------------------
# Writing a version


def _now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


@contextlib.contextmanager
def _sync_lock(nfl_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``nfl_dir`` while a version is written, published and old ones pruned."""
    nfl_dir.mkdir(parents=True, exist_ok=True)
    with open(nfl_dir / LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_target(nfl_dir: Path) -> Path | None:
    link = nfl_dir / CURRENT_LINK
    try:
        return link.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, NotADirectoryError):
        return None


def _summary(stats: pl.DataFrame, schedules: pl.DataFrame) -> dict[str, Any]:
    seasons = (
        stats.group_by("season")
        .agg(min_week=pl.col("week").min(), max_week=pl.col("week").max(), rows=pl.len())
        .sort("season")
    )
    last_game = stats["gameday"].max()
    return {
        "seasons": seasons["season"].to_list(),
        "weeks": seasons.to_dicts(),
        "rows": stats.height,
        "players": stats["player_id"].n_unique(),
        "last_game_date": last_game.isoformat() if last_game is not None else None,
        "schedule_seasons": sorted(schedules["season"].unique().to_list()),
        "games": schedules.height,
    }


def _publish(
    nfl_dir: Path,
    stats: pl.DataFrame,
    schedules: pl.DataFrame,
    players: pl.DataFrame,
    meta: dict[str, Any],
    progress: Progress,
) -> dict[str, Any]:
    """Write a new version folder, flip ``current`` to it atomically, prune old versions; return the meta."""
    from fgrid.analysis import snapshot

    versions = nfl_dir / VERSIONS_DIR
    with _sync_lock(nfl_dir):
        versions.mkdir(parents=True, exist_ok=True)
        stamp = _now_stamp()
        tmp = versions / f"{stamp}.tmp"
        final = versions / stamp
        previous = _current_target(nfl_dir)
        meta = {**meta, "version": stamp, "synced_at": datetime.now(UTC).isoformat(timespec="seconds")}
        progress(f"writing version {stamp}")
        try:
            tmp.mkdir()
            stats.write_parquet(tmp / STATS_FILE)
            schedules.write_parquet(tmp / SCHEDULES_FILE)
            players.write_parquet(tmp / PLAYERS_FILE)
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
            for name in (STATS_FILE, SCHEDULES_FILE, PLAYERS_FILE, META_FILE):
                _fsync(tmp / name)
            progress("precomputing the analysis snapshot")
            snapshot.write(Dataset(meta=meta, version=stamp, path=final, stats=stats, schedules=schedules,
                                   players=players), tmp)
            os.rename(tmp, final)
            _fsync(versions)
            link_tmp = nfl_dir / f".{CURRENT_LINK}.{stamp}.tmp"
            os.symlink(Path(VERSIONS_DIR) / stamp, link_tmp)
            os.replace(link_tmp, nfl_dir / CURRENT_LINK)
            _fsync(nfl_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(nfl_dir, keep={final.name, previous.name if previous else ""})
    return meta


def _prune(nfl_dir: Path, keep: set[str]) -> None:
    """Delete versions other than ``keep`` and leftovers of killed syncs (the caller holds the sync lock)."""
    for entry in (nfl_dir / VERSIONS_DIR).iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
    for entry in nfl_dir.glob(f".{CURRENT_LINK}.*.tmp"):
        entry.unlink(missing_ok=True)


def _sync(
    nfl_dir: Path,
    stat_frames: list[pl.DataFrame],
    schedules: pl.DataFrame,
    players: pl.DataFrame,
    source: str,
    files: list[str],
    progress: Progress,
    started: float,
) -> dict[str, Any]:
    progress("joining stats to schedules and player ids")
    stats, schedules, counts = _build(stat_frames, schedules, players)
    if stats.is_empty():
        raise DataFormatError(f"no usable player stats rows in {source} (skipped: {counts['skipped']})")
    meta = {
        "schema": SCHEMA_VERSION,
        "source": source,
        "files": files,
        **_summary(stats, schedules),
        **counts,
    }
    meta = _publish(Path(nfl_dir), stats, schedules, players, meta, progress)
    return {**meta, "path": str(Path(nfl_dir) / VERSIONS_DIR / meta["version"]), "seconds": time.monotonic() - started}


def sync_from_dir(
    src: Path,
    nfl_dir: Path,
    seasons: Collection[int] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Import local nflverse files from ``src`` (or ``src/raw``) into a new version in ``nfl_dir``; return a report.

    Reads ``player_stats_YYYY.csv[.gz]`` (one per season; ``seasons``, e.g. ``range(2019, 2024)``, limits which),
    ``schedules*.csv`` or ``games.csv``, and ``player_ids.csv`` or ``db_playerids.csv``. The report has the version,
    rows and weeks per season, players, last game date, files used, requested seasons without a file, and counts of
    skipped and filled rows. Raises DataFormatError (previous data untouched) if a file is unreadable or lacks
    required columns.
    """
    started = time.monotonic()
    say = progress or (lambda _message: None)
    src = Path(src)
    found = _find_files(src, seasons)
    stat_frames = []
    for path in found.stats.values():
        say(f"reading {path.name}")
        stat_frames.append(_normalize_stats(_read_table(path), str(path)))
    say("reading schedules and player ids")
    schedules = pl.concat(
        [_normalize_schedules(_read_table(path), str(path)) for path in found.schedules], how="vertical"
    )
    players = _normalize_players(_read_table(found.player_ids), str(found.player_ids))
    used = [*found.stats.values(), *found.schedules, found.player_ids]
    report = _sync(
        nfl_dir, stat_frames, schedules, players, f"dir:{src.resolve()}", [str(p) for p in used], say, started
    )
    report["ignored_files"] = [str(p) for p in found.ignored]
    report["missing_seasons"] = sorted(set(seasons or ()) - set(found.stats))
    return report


def sync_online(nfl_dir: Path, seasons: Iterable[int], progress: Progress | None = None) -> dict[str, Any]:
    """Download ``seasons`` of weekly player stats, the schedules and player ids from nflverse (via nflreadpy).

    Schedules are kept from the first requested season on (future games included). Returns the same report as
    :func:`sync_from_dir`. Raises UnavailableError when nflverse cannot be reached.
    """
    import nflreadpy
    import requests

    started = time.monotonic()
    say = progress or (lambda _message: None)
    wanted = sorted(set(seasons))
    if not wanted:
        raise InputError("no seasons to sync")

    def fetch(what: str, loader: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        say(f"downloading {what}")
        try:
            return loader()
        except ConnectionError as error:
            cause = error.__cause__
            if isinstance(cause, requests.HTTPError) and cause.response is not None:
                status = cause.response.status_code
                cause.response.close()  # nflreadpy streams and never closes a refused response
                problem = f"has no {what}" if status == 404 else f"did not send {what}"
                raise UnavailableError(
                    f"nflverse {problem} (HTTP {status}); try other seasons, "
                    "or use `fgrid data sync --from DIR` with local files"
                ) from error
            raise UnavailableError(OFFLINE_MESSAGE) from error
        except ValueError as error:
            raise DataFormatError(f"nflverse sent {what} that fgrid cannot read: {_first_line(error)}") from error

    stat_frames = []
    for season in wanted:
        frame = fetch(f"player stats {season}", lambda s=season: nflreadpy.load_player_stats(s, summary_level="week"))
        stat_frames.append(_normalize_stats(frame, f"nflverse player stats {season}"))
    games = fetch("schedules", lambda: nflreadpy.load_schedules(True))
    schedules = _normalize_schedules(games, "nflverse schedules").filter(pl.col("season") >= wanted[0])
    players = _normalize_players(fetch("player ids", nflreadpy.load_ff_playerids), "nflverse player ids")
    files = [f"stats_player_week_{s}" for s in wanted] + ["schedules/games", "db_playerids"]
    return _sync(nfl_dir, stat_frames, schedules, players, "nflverse (online)", files, say, started)


# ---------------------------------------------------------------------------------------------------------------
# Reading a version


_CACHE: dict[Path, Dataset] = {}
_CACHE_LOCK = threading.Lock()


def _no_data(nfl_dir: Path) -> NoDataError:
    return NoDataError(f"no NFL data in {nfl_dir}; run `fgrid data sync --from DIR` (or online: `fgrid data sync`)")


def _resolve(nfl_dir: Path) -> Path:
    target = _current_target(Path(nfl_dir))
    if target is None:
        raise _no_data(nfl_dir)
    return target


def _read_meta(version_dir: Path, nfl_dir: Path) -> dict[str, Any]:
    meta = json.loads((version_dir / META_FILE).read_text())
    if meta.get("schema") != SCHEMA_VERSION:
        raise NoDataError(
            f"the NFL data in {nfl_dir} was synced by another fgrid version; run `fgrid data sync` again"
        )
    return meta


def info(nfl_dir: Path) -> dict[str, Any]:
    """Describe the synced data: seasons, weeks and rows per season, players, last game date, source, version."""
    for _attempt in range(3):
        target = _resolve(nfl_dir)
        try:
            meta = _read_meta(target, nfl_dir)
        except FileNotFoundError:
            continue
        return {
            "version": meta["version"],
            "path": str(target),
            "source": meta["source"],
            "synced_at": meta["synced_at"],
            "seasons": meta["seasons"],
            "weeks": meta["weeks"],
            "rows": meta["rows"],
            "players": meta["players"],
            "games": meta["games"],
            "schedule_seasons": meta["schedule_seasons"],
            "last_game_date": meta["last_game_date"],
            "skipped": meta["skipped"],
            "filled": meta["filled"],
        }
    raise TransientDataError(f"the NFL data in {nfl_dir} changed while being read; try again")


def _open(target: Path, nfl_dir: Path) -> Dataset:
    """The Dataset of one version folder, its tables unread, with its snapshot's indexes if it has a valid one."""
    from fgrid.analysis import snapshot

    meta = _read_meta(target, nfl_dir)
    return Dataset(meta=meta, version=target.name, path=target, derived=snapshot.read(target))


def load(nfl_dir: Path) -> Dataset:
    """Return the current synced Dataset of ``nfl_dir``, read once per process per version (NoDataError if none).

    No table is read here: each is read on first use. The analysis indexes come from the version's snapshot
    (written by every sync; reading it needs neither polars nor the tables), or are built on first use.
    """
    for _attempt in range(3):
        target = _resolve(nfl_dir)
        with _CACHE_LOCK:
            cached = _CACHE.get(target)
        if cached is not None:
            return cached
        try:
            dataset = _open(target, nfl_dir)
        except FileNotFoundError:
            # A sync pruned this version between resolving `current` and reading it: resolve again.
            continue
        with _CACHE_LOCK:
            for stale in [p for p in _CACHE if p.parent == target.parent]:
                del _CACHE[stale]
            _CACHE[target] = dataset
        return dataset
    raise TransientDataError(f"the NFL data in {nfl_dir} changed while being read; try again")
