"""One synced version of the NFL data: its tables (read on first use) and the indexes derived from them.

A version folder holds :data:`STATS_FILE`, :data:`SCHEDULES_FILE`, :data:`PLAYERS_FILE` and :data:`META_FILE`
(written by :mod:`fgrid.analysis.data.store`). This module imports nothing else from the analysis: every other
module may depend on it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import polars as pl

from fgrid.errors import DataFormatError, TransientDataError

#: The files of a version folder.
STATS_FILE = "stats.parquet"
SCHEDULES_FILE = "schedules.parquet"
PLAYERS_FILE = "players.parquet"
META_FILE = "meta.json"
#: The tables of a version, by the Dataset attribute that holds each.
TABLE_FILES = {"stats": STATS_FILE, "schedules": SCHEDULES_FILE, "players": PLAYERS_FILE}


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type's name if it has none): for a one-line message to a user."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class Dataset:
    """One synced version of the data: stats (one row per player per game), schedules, player ids and meta.

    The tables are read from the version folder on first use (a worker analysing with the indexes precomputed at
    sync time, :mod:`fgrid.analysis.precomputed`, never reads them); tables given to the constructor are used as
    they are.
    """

    def __init__(
        self,
        *,
        meta: dict[str, Any],
        version: str,
        path: Path,
        stats: pl.DataFrame | None = None,
        schedules: pl.DataFrame | None = None,
        players: pl.DataFrame | None = None,
        derived: dict[str, Any] | None = None,
    ):
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
                        # Pruned by later syncs since this version was loaded: the next load sees the new one.
                        raise TransientDataError(
                            f"the NFL data in {self.path.parent.parent} changed while being read; try again"
                        ) from exc
                    except OSError as exc:  # e.g. locked or being replaced: worth another try
                        raise TransientDataError(f"reading {path} failed: {first_line(exc)}") from exc
                    except pl.exceptions.PolarsError as exc:
                        raise DataFormatError(
                            f"cannot read {path}: {first_line(exc)}; run `fgrid data sync` again"
                        ) from exc
        return table
