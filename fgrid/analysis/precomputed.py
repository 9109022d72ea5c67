"""The precomputed feature store: a version's PPR feature store and player index, written at sync time.

Reading them back is quicker and lighter than building them with polars (the README has the figures), and needs
only numpy and json. That also lets a prefork worker load everything in its main process before the pool forks
(polars cannot run there: its thread pool does not survive a fork), so the pool processes, and every replacement
after ``--max-tasks-per-child``, share one copy.

Layout, inside a version folder (written once, to a temporary folder renamed into place)::

    precomputed/arrays.npz    the store's numpy arrays (uncompressed, no pickles)
    precomputed/index.json    everything else: teams, players, game contexts, the player-name index, and a manifest

Indexes written by other code (their format number or the fingerprint of the modules computing them differ) are
ignored, and replaced by the next :func:`write`: an upgrade never analyses with indexes older code computed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fgrid.analysis import players
from fgrid.analysis.feature_store import FeatureStore, GameContext, store, store_key

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

log = logging.getLogger("fgrid")

#: Bumped when what the folder holds, or how the store is computed, changes.
FORMAT = 1
FOLDER = "precomputed"
ARRAYS_FILE = "arrays.npz"
INDEX_FILE = "index.json"
#: The scoring precomputed: the default one (the others are built on first use).
SCORING = "ppr"

_ARRAYS = (
    "p_comb",
    "p_key",
    "p_team",
    "p_pos",
    "p_start",
    "t_comb",
    "t_key",
    "def_ratio",
    "def_games",
    "week_keys",
    "p_matrix",
    "t_matrix",
)
_ARRAY_DICTS = ("p_state", "p_game", "t_state")
_SCALARS = (
    "scoring",
    "version",
    "teams",
    "player_ids",
    "player_names",
    "first_season",
    "first_stats_season",
    "last_stats_season",
    "last_key",
)
_CONTEXT_FIELDS = tuple(f.name for f in dataclasses.fields(GameContext))


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


#: The modules whose code computes what the folder holds (paths relative to ``fgrid/analysis``).
SOURCES = ("feature_store.py", "players.py", "scoring.py", "precomputed.py")


@functools.cache
def code_fingerprint() -> str:
    """A fingerprint of the code that computes the indexes (fgrid's modules, numpy's and polars' versions): any
    change to it invalidates the indexes written."""
    import polars

    digest = hashlib.sha256(f"numpy {np.__version__} polars {polars.__version__}".encode())
    for name in SOURCES:
        try:
            digest.update((Path(__file__).parent / name).read_bytes())
        except OSError:  # no source files (a zipped install): the installed package's version stands for them
            from importlib.metadata import PackageNotFoundError, version

            with contextlib.suppress(PackageNotFoundError):
                digest.update(version("fgrid").encode())
            break
    return digest.hexdigest()[:16]


def _manifest(version: str) -> dict[str, Any]:
    return {"format": FORMAT, "code": code_fingerprint(), "data_version": version, "scoring": SCORING}


def write(ds: Dataset, folder: Path | None = None) -> Path:
    """Write the precomputed indexes of ``ds`` into ``folder`` (default: the dataset's version folder); return the
    path of the folder holding them.

    Builds the PPR store and the player index if ``ds`` has not yet. Valid indexes are left as they are; ones
    written by other code are replaced.
    """
    target = Path(folder or ds.path) / FOLDER
    if _valid(target, ds.version):
        return target
    st = store(ds, SCORING)
    index = players.player_index(ds)
    tmp = target.with_name(f".{FOLDER}.{uuid.uuid4().hex}.tmp")
    old = tmp.with_suffix(".old")
    try:
        tmp.mkdir()
        arrays = {name: getattr(st, name) for name in _ARRAYS}
        for group in _ARRAY_DICTS:
            arrays.update({f"{group}.{key}": value for key, value in getattr(st, group).items()})
        with open(tmp / ARRAYS_FILE, "wb") as out:
            np.savez(out, **arrays)
            out.flush()
            os.fsync(out.fileno())
        doc = {
            "manifest": _manifest(ds.version),
            "store": {
                **{name: getattr(st, name) for name in _SCALARS},
                "last_day": _iso(st.last_day),
                "week_last_day": [_iso(d) for d in st.week_last_day],
                "contexts": [
                    [getattr(c, f) if f != "gameday" else _iso(c.gameday) for f in _CONTEXT_FIELDS]
                    for c in st.contexts.values()
                ],
            },
            "players": players.index_to_json(index),
        }
        with open(tmp / INDEX_FILE, "w", encoding="utf-8") as out:
            out.write(json.dumps(doc, separators=(",", ":")))  # dumps: C-encoded, json.dump is not
            out.flush()
            os.fsync(out.fileno())
        if _valid(target, ds.version):  # another process wrote it meanwhile
            return target
        if target.exists():  # written by other code: moved aside, then deleted
            os.rename(target, old)
        os.rename(tmp, target)
    except OSError:
        if _valid(target, ds.version):  # another process wrote it first
            return target
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return target


def _valid(folder: Path, version: str) -> bool:
    try:
        with open(folder / INDEX_FILE, encoding="utf-8") as handle:
            return json.load(handle).get("manifest") == _manifest(version)
    except (OSError, ValueError):
        return False


def read(version_dir: Path) -> dict[str, Any] | None:
    """The derived indexes of a version (for ``Dataset.derived``) from its precomputed folder; None if it has no
    valid one."""
    folder = Path(version_dir) / FOLDER
    try:
        with open(folder / INDEX_FILE, encoding="utf-8") as handle:
            doc = json.load(handle)
        if doc.get("manifest") != _manifest(version_dir.name):
            log.info("fgrid: ignoring the precomputed indexes in %s (written by other fgrid code)", folder)
            return None
        with np.load(folder / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        return _derived(doc, arrays)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:  # damaged: a rebuild
        log.warning("fgrid: ignoring the precomputed indexes in %s (%s: %s)", folder, type(exc).__name__, exc)
        return None


def _derived(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    saved = doc["store"]
    contexts = {}
    for values in saved["contexts"]:
        fields = dict(zip(_CONTEXT_FIELDS, values, strict=True))
        fields["gameday"] = _date(fields["gameday"])
        contexts[(fields["season"], fields["week"], fields["team"])] = GameContext(**fields)
    groups: dict[str, dict[str, np.ndarray]] = {group: {} for group in _ARRAY_DICTS}
    for name, value in arrays.items():
        group, _, key = name.partition(".")
        if key:
            groups[group][key] = value
    # Keyword arguments of many types gathered by name: typed loosely, as the saved document is.
    kwargs: dict[str, Any] = {name: saved[name] for name in _SCALARS}
    kwargs.update(
        team_index={t: i for i, t in enumerate(saved["teams"])},
        player_index={p: i for i, p in enumerate(saved["player_ids"])},
    )
    kwargs.update({name: arrays[name] for name in _ARRAYS})
    kwargs.update(groups)
    kwargs.update(
        contexts=contexts,
        week_last_day=[_date(d) for d in saved["week_last_day"]],
        last_day=_date(saved["last_day"]),
    )
    st = FeatureStore(**kwargs)
    return {store_key(SCORING): st, players.INDEX_KEY: players.index_from_json(doc["players"])}
