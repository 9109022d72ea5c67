"""The precomputed feature store a sync writes: read back, it gives exactly the indexes built from the tables, with
no table read; indexes of other code or damaged ones are ignored (and rewritten), never trusted."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import fgrid.analysis
from fgrid.analysis import data, feature_store, matchup, players, precomputed
from fgrid.analysis.dataset import (
    META_FILE,
    SCHEDULES_FILE,
    STATS_FILE,
    TABLE_FILES,
    Dataset,
)

REQUESTS = [
    ("CeeDee Lamb", "SF", 5),
    ("Patrick Mahomes", "MIN", 5),
    ("Christian McCaffrey", "DAL", 5),
    ("Travis Kelce", "MIN", 5),
]


@pytest.fixture()
def version_dir(nfl_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the synced version folder (the tests change its precomputed indexes)."""
    target = data.load(nfl_dir).path
    copy = tmp_path / target.name
    shutil.copytree(target, copy)
    return copy


def _from_tables(version: Path) -> Dataset:
    """The version's Dataset with its tables read and nothing precomputed: everything is built from the tables."""
    from polars import read_parquet

    meta = json.loads((version / META_FILE).read_text())
    return Dataset(
        meta=meta,
        version=version.name,
        path=version,
        **{name: read_parquet(version / file) for name, file in TABLE_FILES.items()},
    )


def _precomputed_dataset(version: Path) -> Dataset:
    meta = json.loads((version / META_FILE).read_text())
    return Dataset(meta=meta, version=version.name, path=version, derived=precomputed.read(version))


def test_a_sync_precomputes_the_indexes_and_loading_reads_no_table(nfl_dir: Path) -> None:
    ds = data.load(nfl_dir)
    assert (ds.path / precomputed.FOLDER / precomputed.ARRAYS_FILE).is_file()
    assert feature_store.store_key("ppr") in ds.derived and players.INDEX_KEY in ds.derived
    fresh = _precomputed_dataset(ds.path)
    matchup.warm(fresh, ("ppr",))
    result = matchup.analyze(fresh, "CeeDee Lamb", "SF", season=2023, week=5)
    assert result["player"]["name"] == "CeeDee Lamb"
    assert fresh.loaded() == []  # neither the warm-up nor an analysis needed a table


def test_the_precomputed_store_holds_exactly_what_the_tables_give(version_dir: Path) -> None:
    built, saved = _from_tables(version_dir), _precomputed_dataset(version_dir)
    a, b = feature_store.store(built, "ppr"), feature_store.store(saved, "ppr")
    for f in dataclasses.fields(feature_store.FeatureStore):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "extras":
            continue
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), f.name
        elif f.name in ("p_state", "p_game", "t_state"):
            assert x.keys() == y.keys(), f.name
            for key in x:
                assert x[key].dtype == y[key].dtype and np.array_equal(x[key], y[key], equal_nan=True), key
        elif f.name == "contexts":
            assert list(x) == list(y)
            assert all(repr(x[k]) == repr(y[k]) for k in x)  # repr: nan == nan
        else:
            assert x == y, f.name
    assert players.player_index(built) == players.player_index(saved)
    for player, opponent, week in REQUESTS:
        assert matchup.analyze(saved, player, opponent, season=2023, week=week) == matchup.analyze(
            built, player, opponent, season=2023, week=week
        )


def test_indexes_of_other_code_are_ignored_and_replaced(version_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precomputed, "code_fingerprint", lambda: "other-code")
    assert precomputed.read(version_dir) is None  # written by this code, read by "other" code
    ds = _from_tables(version_dir)
    precomputed.write(ds)
    assert precomputed.read(version_dir) is not None  # replaced by one the running code accepts
    assert not [p for p in version_dir.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.parametrize("damage", ["truncated arrays", "bad json", "missing arrays"])
def test_damaged_indexes_are_ignored(version_dir: Path, damage: str) -> None:
    folder = version_dir / precomputed.FOLDER
    if damage == "truncated arrays":
        arrays = folder / precomputed.ARRAYS_FILE
        arrays.write_bytes(arrays.read_bytes()[:1000])
    elif damage == "bad json":
        (folder / precomputed.INDEX_FILE).write_text("{")
    else:
        (folder / precomputed.ARRAYS_FILE).unlink()
    assert precomputed.read(version_dir) is None
    ds = _precomputed_dataset(version_dir)  # nothing precomputed: built from the tables on first use
    assert matchup.analyze(ds, "CeeDee Lamb", "SF", season=2023, week=5)["player"]["name"] == "CeeDee Lamb"
    assert "stats" in ds.loaded()


def test_reading_the_indexes_never_unpickles(version_dir: Path) -> None:
    # An object array in the file would need pickle to load: it is refused, and the indexes ignored.
    arrays = version_dir / precomputed.FOLDER / precomputed.ARRAYS_FILE
    with np.load(arrays) as npz:
        content = {name: npz[name] for name in npz.files}
    content["p_key"] = np.array([object()], dtype=object)
    with open(arrays, "wb") as out:
        np.savez(out, **content)
    assert precomputed.read(version_dir) is None


def test_a_table_read_late_fails_with_a_one_line_error(version_dir: Path) -> None:
    # A Dataset reads a table on first use, possibly after newer syncs pruned its version, or with a damaged file.
    from fgrid.errors import DataFormatError, TransientDataError

    ds = _precomputed_dataset(version_dir)
    (version_dir / STATS_FILE).unlink()
    with pytest.raises(TransientDataError, match="changed while being read"):
        ds.stats  # noqa: B018 - the read is the point
    (version_dir / SCHEDULES_FILE).write_bytes(b"not parquet")
    with pytest.raises(DataFormatError, match=r"cannot read .*schedules\.parquet"):
        ds.schedules  # noqa: B018 - the read is the point
    assert ds.loaded() == []


def test_the_fingerprint_covers_the_modules_that_compute_the_indexes() -> None:
    analysis_dir = Path(fgrid.analysis.__file__).parent
    assert all((analysis_dir / name).is_file() for name in precomputed.SOURCES)
    assert {"feature_store.py", "players.py", "scoring.py", "precomputed.py"} <= set(precomputed.SOURCES)
