"""Normalize nflverse tables to :mod:`fgrid.analysis.data.schema` and join stats to games and player ids.

Each function takes a table as read from a source (:mod:`fgrid.analysis.data.sources`; CSV columns as strings,
Parquet typed) and a ``source`` naming it in error messages; a table that cannot be normalized raises
DataFormatError naming the file and the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import polars as pl

from fgrid.analysis.data.schema import (
    PLAYER_COLUMNS,
    POSITION_MAP,
    REQUIRED_PLAYERS,
    REQUIRED_SCHEDULE,
    REQUIRED_STATS,
    ROOF_VALUES,
    SCHEDULE_COLUMNS,
    STATS_COLUMNS,
    STATS_RENAMES,
    UNKNOWN_POSITIONS,
)
from fgrid.analysis.dataset import first_line
from fgrid.analysis.teams import CODE_MAP
from fgrid.errors import DataFormatError

_INDEX_COLUMN = re.compile(r"^(|Unnamed: \d+|__index_level_\d+__)$")


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
                    f"{source}: column {name} has values that are not {schema[name]}: {first_line(error)}"
                ) from error
        raise


def _team_code(name: str) -> pl.Expr:
    """Map a team-code column to current nflverse codes (OAK -> LV); unknown codes become null."""
    return pl.col(name).str.to_uppercase().replace_strict(CODE_MAP, default=None, return_dtype=pl.String).alias(name)


def _int_string(name: str) -> pl.Expr:
    """Turn an id stored as a float (``4431611.0``) into an int string (``4431611``)."""
    return pl.col(name).str.replace(r"^(\d+)\.0*$", "${1}").alias(name)


def normalize_stats(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Normalize one nflverse player stats table (any schema year 2019-2024) to :data:`STATS_COLUMNS`.

    Game columns (opponent from the file aside) and missing names or positions are filled later, by
    :func:`join`, from schedules and player ids.
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


def normalize_schedules(frame: pl.DataFrame, source: str) -> pl.DataFrame:
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


def normalize_players(frame: pl.DataFrame, source: str) -> pl.DataFrame:
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


def join(
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
        "display_name_from_player_ids": _count(stats["player_display_name"].is_null() & stats["id_name"].is_not_null()),
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
