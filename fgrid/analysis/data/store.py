"""The versioned store of synced data: sync a source into a new version, publish it, prune old ones, load one.

Layout of ``nfl_dir``::

    versions/<stamp>/{stats,schedules,players}.parquet, meta.json   one complete, never-modified version each
    versions/<stamp>/precomputed/                                    its precomputed indexes (analysis.precomputed)
    current -> versions/<stamp>                                      symlink, flipped atomically by a sync

A sync builds everything in memory first (so bad input changes nothing), writes ``versions/<stamp>.tmp/``,
renames it, then replaces ``current`` with ``os.replace``. A reader resolves ``current`` once per load, so it sees
one whole version or the previous one, never a mix. The newest :data:`KEEP_VERSIONS` versions are kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import polars as pl

from fgrid.analysis import precomputed
from fgrid.analysis.data import sources
from fgrid.analysis.data.normalize import join
from fgrid.analysis.data.schema import SCHEMA_VERSION
from fgrid.analysis.data.sources import Progress, SourceTables
from fgrid.analysis.dataset import (
    META_FILE,
    PLAYERS_FILE,
    SCHEDULES_FILE,
    STATS_FILE,
    Dataset,
)
from fgrid.errors import DataFormatError, NoDataError, TransientDataError
from fgrid.files import storage_error, sync_folder

#: How many complete versions a sync keeps: the new current one and the newest before it (the one it replaced
#: first), so a reader that loaded the previous version can still read its tables.
KEEP_VERSIONS = 2

CURRENT_LINK = "current"
VERSIONS_DIR = "versions"
LOCK_FILE = ".sync.lock"


# ---------------------------------------------------------------------------------------------------------------
# Writing a version


def _now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


@contextlib.contextmanager
def _sync_lock(nfl_dir: Path, progress: Progress | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``nfl_dir`` while a version is written, published and old ones pruned; while
    another sync holds it, say so (naming its process and start) through ``progress`` and wait."""
    nfl_dir.mkdir(parents=True, exist_ok=True)
    with open(nfl_dir / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = " ".join(handle.read().split()[:2]) or "unknown"
            if progress is not None:
                progress(f"waiting for another sync of {nfl_dir} to finish (pid and start: {holder})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {datetime.now(UTC).isoformat(timespec='seconds')}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _flush_file(path: Path) -> None:
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
    last_game = cast("date | None", stats["gameday"].max())  # a Date column; polars types max() loosely
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
    versions = nfl_dir / VERSIONS_DIR
    with _sync_lock(nfl_dir, progress):
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
                _flush_file(tmp / name)
            progress("precomputing the analysis indexes")
            precomputed.write(
                Dataset(meta=meta, version=stamp, path=final, stats=stats, schedules=schedules, players=players), tmp
            )
            os.rename(tmp, final)
            sync_folder(versions)
            link_tmp = nfl_dir / f".{CURRENT_LINK}.{stamp}.tmp"
            os.symlink(Path(VERSIONS_DIR) / stamp, link_tmp)
            os.replace(link_tmp, nfl_dir / CURRENT_LINK)
            sync_folder(nfl_dir)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            # A full disk or a read-only folder, however the writer reports it: one line naming the folder.
            if (storage := storage_error(exc, tmp)) is not None:
                raise storage from exc
            raise
        _prune(nfl_dir, current=final.name, previous=previous.name if previous else None)
    return meta


def _prune(nfl_dir: Path, current: str, previous: str | None) -> None:
    """Keep :data:`KEEP_VERSIONS` complete versions (``current``, then ``previous``, then the newest others);
    delete the rest and the leftovers of killed syncs. The caller holds the sync lock."""
    entries = list((nfl_dir / VERSIONS_DIR).iterdir())
    others = sorted(
        (e.name for e in entries if e.is_dir() and not e.name.endswith(".tmp") and e.name not in (current, previous)),
        reverse=True,
    )  # stamps sort by time
    ranked = [current, *([previous] if previous else []), *others]
    keep = set(ranked[: max(KEEP_VERSIONS, 1)])
    for entry in entries:
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
    for entry in nfl_dir.glob(f".{CURRENT_LINK}.*.tmp"):
        entry.unlink(missing_ok=True)


def _store(nfl_dir: Path, tables: SourceTables, progress: Progress, started: float) -> dict[str, Any]:
    """Join ``tables``, publish them as a new version of ``nfl_dir``; return the sync report."""
    progress("joining stats to schedules and player ids")
    stats, schedules, counts = join(list(tables.stats.values()), tables.schedules, tables.players)
    if stats.is_empty():
        raise DataFormatError(f"no usable player stats rows in {tables.source} (skipped: {counts['skipped']})")
    meta = {
        "schema": SCHEMA_VERSION,
        "source": tables.source,
        "files": tables.files,
        **_summary(stats, schedules),
        **counts,
    }
    meta = _publish(Path(nfl_dir), stats, schedules, tables.players, meta, progress)
    return {**meta, "path": str(Path(nfl_dir) / VERSIONS_DIR / meta["version"]), "seconds": time.monotonic() - started}


def _quiet(_message: str) -> None:
    pass


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
    say = progress or _quiet
    tables = sources.read_folder(Path(src), seasons, say)
    report = _store(nfl_dir, tables, say, started)
    report["ignored_files"] = tables.ignored
    report["missing_seasons"] = sorted(set(seasons or ()) - set(tables.stats))
    return report


def sync_online(nfl_dir: Path, seasons: Iterable[int], progress: Progress | None = None) -> dict[str, Any]:
    """Download ``seasons`` of weekly player stats, the schedules and player ids from nflverse (via nflreadpy).

    Schedules are kept from the first requested season on (future games included). Returns the same report as
    :func:`sync_from_dir`. Raises UnavailableError when nflverse cannot be reached.
    """
    started = time.monotonic()
    say = progress or _quiet
    return _store(nfl_dir, sources.download(seasons, say), say, started)


# ---------------------------------------------------------------------------------------------------------------
# Reading a version


_CACHE: dict[Path, Dataset] = {}
_CACHE_LOCK = threading.Lock()
#: The version folder a data folder's ``current`` link named when it was last resolved, by (data folder, link text):
#: a sync flips the link to a new text, so reading the link (one system call) tells whether the cached Dataset is
#: still the current one, where resolving it walks every component of the path.
_LINKED: dict[tuple[str, str], Path] = {}


def _link_text(nfl_dir: Path) -> tuple[str, str] | None:
    try:
        folder = os.fspath(nfl_dir)
        return folder, os.readlink(os.path.join(folder, CURRENT_LINK))
    except (OSError, ValueError):  # no link, not a link, an unreadable folder: resolve it the long way
        return None


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
        raise NoDataError(f"the NFL data in {nfl_dir} was synced by another fgrid version; run `fgrid data sync` again")
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
    """The Dataset of one version folder, its tables unread, with its precomputed indexes if it has valid ones."""
    meta = _read_meta(target, nfl_dir)
    return Dataset(meta=meta, version=target.name, path=target, derived=precomputed.read(target))


def forget_loaded() -> None:
    """Drop every Dataset this process has loaded, so the next :func:`load` reads its version folder again."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _LINKED.clear()


def load(nfl_dir: Path) -> Dataset:
    """Return the current synced Dataset of ``nfl_dir``, read once per process per version (NoDataError if none).

    No table is read here: each is read on first use. The analysis indexes come from the version's precomputed
    feature store (written by every sync; reading it needs neither polars nor the tables), or are built on first use.
    """
    link = _link_text(nfl_dir)
    if link is not None:
        with _CACHE_LOCK:
            known = _LINKED.get(link)
            cached = _CACHE.get(known) if known is not None else None
        if cached is not None:
            return cached
    for _attempt in range(3):
        target = _resolve(nfl_dir)
        with _CACHE_LOCK:
            cached = _CACHE.get(target)
        if cached is None:
            try:
                cached = _open(target, nfl_dir)
            except FileNotFoundError:
                # A sync pruned this version between resolving `current` and reading it: resolve again.
                continue
            with _CACHE_LOCK:
                for stale in [p for p in _CACHE if p.parent == target.parent]:
                    del _CACHE[stale]
                _CACHE[target] = cached
        if link is not None and _link_text(nfl_dir) == link:  # the link did not move while it was resolved
            with _CACHE_LOCK:
                for moved in [key for key in _LINKED if key[0] == link[0]]:
                    del _LINKED[moved]
                _LINKED[link] = target
        return cached
    raise TransientDataError(f"the NFL data in {nfl_dir} changed while being read; try again")
