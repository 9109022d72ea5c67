"""The one schema every synced version is stored in, whatever nflverse schema year its files come in.

Every season's player stats (2019's early nflfastR columns to 2024's renamed ones) are normalized to
:data:`STATS_COLUMNS`, schedules to :data:`SCHEDULE_COLUMNS`, player ids to :data:`PLAYER_COLUMNS`
(by :mod:`fgrid.analysis.data.normalize`).
"""

from __future__ import annotations

import polars as pl

#: Bumped when the stored schema changes; data synced with another value must be synced again.
SCHEMA_VERSION = 1

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
