"""Where a sync's tables come from: nflverse files in a local folder, or nflverse online (via nflreadpy).

Each reader returns :class:`SourceTables`: every table normalized (:mod:`fgrid.analysis.data.normalize`), not yet
joined, with what was read. Nothing is written here; :mod:`fgrid.analysis.data.store` stores the result.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import polars as pl

from fgrid.analysis.data.normalize import (
    normalize_players,
    normalize_schedules,
    normalize_stats,
)
from fgrid.analysis.dataset import first_line
from fgrid.errors import DataFormatError, InputError, UnavailableError

OFFLINE_MESSAGE = "cannot reach nflverse (offline?); use `fgrid data sync --from DIR` with local files"

_NULLS = ["NA", "NULL", "NaN", ""]
_STATS_NAME = re.compile(r"^(?:player_stats|stats_player_week)_(\d{4})\.(?:csv|csv\.gz|parquet)$")
_SCHEDULES_NAME = re.compile(r"^(?:schedules.*|games)\.(?:csv|csv\.gz|parquet)$")
_IDS_NAME = re.compile(r"^(?:player_ids|db_playerids)\.(?:csv|csv\.gz|parquet)$")

#: ``progress(message)``: what a sync is doing, for a person.
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SourceTables:
    """One source's tables, each normalized, not yet joined."""

    stats: dict[int, pl.DataFrame]  # by season
    schedules: pl.DataFrame
    players: pl.DataFrame
    source: str  # provenance for the version's meta: ``dir:<absolute path>`` or ``nflverse (online)``
    files: list[str]  # the files (or nflverse datasets) read
    ignored: list[str] = field(default_factory=list)  # files found but not used (a second file for a season)


def read_table(path: Path) -> pl.DataFrame:
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
        raise DataFormatError(f"cannot read {path}: {first_line(error)}") from error
    return frame


# ---------------------------------------------------------------------------------------------------------------
# A local folder


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


def read_folder(src: Path, seasons: Collection[int] | None, progress: Progress) -> SourceTables:
    """Read local nflverse files from ``src`` (or ``src/raw``): ``player_stats_YYYY.csv[.gz]`` (one per season;
    ``seasons`` limits which), ``schedules*.csv`` or ``games.csv``, and ``player_ids.csv`` or ``db_playerids.csv``.

    InputError if ``src`` is not a folder; DataFormatError if a kind of file is missing, unreadable or lacks
    required columns.
    """
    found = _find_files(src, seasons)
    stats = {}
    for season, path in found.stats.items():
        progress(f"reading {path.name}")
        stats[season] = normalize_stats(read_table(path), str(path))
    progress("reading schedules and player ids")
    schedules = pl.concat(
        [normalize_schedules(read_table(path), str(path)) for path in found.schedules], how="vertical"
    )
    players = normalize_players(read_table(found.player_ids), str(found.player_ids))
    used = [*found.stats.values(), *found.schedules, found.player_ids]
    return SourceTables(
        stats=stats,
        schedules=schedules,
        players=players,
        source=f"dir:{src.resolve()}",
        files=[str(p) for p in used],
        ignored=[str(p) for p in found.ignored],
    )


# ---------------------------------------------------------------------------------------------------------------
# nflverse online


def download(seasons: Iterable[int], progress: Progress) -> SourceTables:
    """Download ``seasons`` of weekly player stats, the schedules and player ids from nflverse (via nflreadpy).

    Schedules are kept from the first requested season on (future games included). InputError without seasons;
    UnavailableError when nflverse cannot be reached or lacks a file; DataFormatError if it sends an unreadable one.
    """
    import nflreadpy
    import requests

    wanted = sorted(set(seasons))
    if not wanted:
        raise InputError("no seasons to sync")

    def fetch(what: str, loader: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        progress(f"downloading {what}")
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
            raise DataFormatError(f"nflverse sent {what} that fgrid cannot read: {first_line(error)}") from error

    stats = {}
    for season in wanted:
        frame = fetch(f"player stats {season}", partial(nflreadpy.load_player_stats, season, summary_level="week"))
        stats[season] = normalize_stats(frame, f"nflverse player stats {season}")
    games = fetch("schedules", lambda: nflreadpy.load_schedules(True))
    schedules = normalize_schedules(games, "nflverse schedules").filter(pl.col("season") >= wanted[0])
    players = normalize_players(fetch("player ids", nflreadpy.load_ff_playerids), "nflverse player ids")
    files = [f"stats_player_week_{s}" for s in wanted] + ["schedules/games", "db_playerids"]
    return SourceTables(stats=stats, schedules=schedules, players=players, source="nflverse (online)", files=files)
