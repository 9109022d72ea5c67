"""The analysis snapshot a sync writes: read back, it gives exactly the indexes built from the tables, with no table
read; a snapshot of other code or a damaged one is ignored (and rewritten), never trusted."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fgrid.analysis import data, matchup, players, snapshot
from fgrid.analysis import features as F
from fgrid.analysis.data import Dataset

REQUESTS = [("CeeDee Lamb", "SF", 5), ("Patrick Mahomes", "MIN", 5), ("Christian McCaffrey", "DAL", 5),
            ("Travis Kelce", "MIN", 5)]


@pytest.fixture()
def version_dir(nfl_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the synced version folder (the tests change its snapshot)."""
    target = data.load(nfl_dir).path
    copy = tmp_path / target.name
    shutil.copytree(target, copy)
    return copy


def _from_tables(version: Path) -> Dataset:
    """The version's Dataset with its tables read and no snapshot: everything is built from the tables."""
    from polars import read_parquet

    meta = json.loads((version / data.META_FILE).read_text())
    return Dataset(meta=meta, version=version.name, path=version,
                   **{name: read_parquet(version / file) for name, file in data.TABLE_FILES.items()})


def _snapshot_dataset(version: Path) -> Dataset:
    meta = json.loads((version / data.META_FILE).read_text())
    return Dataset(meta=meta, version=version.name, path=version, derived=snapshot.read(version))


def test_a_sync_writes_a_snapshot_and_loading_reads_no_table(nfl_dir: Path) -> None:
    ds = data.load(nfl_dir)
    assert (ds.path / snapshot.FOLDER / snapshot.ARRAYS_FILE).is_file()
    assert F.store_key("ppr") in ds.derived and players.INDEX_KEY in ds.derived
    fresh = _snapshot_dataset(ds.path)
    matchup.warm(fresh, ("ppr",))
    result = matchup.analyze(fresh, "CeeDee Lamb", "SF", season=2023, week=5)
    assert result["player"]["name"] == "CeeDee Lamb"
    assert fresh.loaded() == []  # neither the warm-up nor an analysis needed a table


def test_the_snapshot_holds_exactly_what_the_tables_give(version_dir: Path) -> None:
    built, saved = _from_tables(version_dir), _snapshot_dataset(version_dir)
    a, b = F.store(built, "ppr"), F.store(saved, "ppr")
    for f in dataclasses.fields(F.FeatureStore):
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
        assert (matchup.analyze(saved, player, opponent, season=2023, week=week)
                == matchup.analyze(built, player, opponent, season=2023, week=week))


def test_a_snapshot_of_other_code_is_ignored_and_replaced(version_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshot, "_code", lambda: "other-code")
    assert snapshot.read(version_dir) is None  # written by this code, read by "other" code
    ds = _from_tables(version_dir)
    snapshot.write(ds)
    assert snapshot.read(version_dir) is not None  # replaced by one the running code accepts
    assert not [p for p in version_dir.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.parametrize("damage", ["truncated arrays", "bad json", "missing arrays"])
def test_a_damaged_snapshot_is_ignored(version_dir: Path, damage: str) -> None:
    folder = version_dir / snapshot.FOLDER
    if damage == "truncated arrays":
        arrays = folder / snapshot.ARRAYS_FILE
        arrays.write_bytes(arrays.read_bytes()[:1000])
    elif damage == "bad json":
        (folder / snapshot.INDEX_FILE).write_text("{")
    else:
        (folder / snapshot.ARRAYS_FILE).unlink()
    assert snapshot.read(version_dir) is None
    ds = _snapshot_dataset(version_dir)  # no snapshot: built from the tables on first use
    assert matchup.analyze(ds, "CeeDee Lamb", "SF", season=2023, week=5)["player"]["name"] == "CeeDee Lamb"
    assert "stats" in ds.loaded()


def test_a_snapshot_never_unpickles(version_dir: Path) -> None:
    # An object array in the file would need pickle to load: it is refused, and the snapshot ignored.
    arrays = version_dir / snapshot.FOLDER / snapshot.ARRAYS_FILE
    with np.load(arrays) as npz:
        content = {name: npz[name] for name in npz.files}
    content["p_key"] = np.array([object()], dtype=object)
    with open(arrays, "wb") as out:
        np.savez(out, **content)
    assert snapshot.read(version_dir) is None


def test_a_table_read_late_fails_with_a_one_line_error(version_dir: Path) -> None:
    # A Dataset reads a table on first use, possibly after newer syncs pruned its version, or with a damaged file.
    from fgrid.errors import DataFormatError, TransientDataError

    ds = _snapshot_dataset(version_dir)
    (version_dir / data.STATS_FILE).unlink()
    with pytest.raises(TransientDataError, match="changed while being read"):
        ds.stats  # noqa: B018 - the read is the point
    (version_dir / data.SCHEDULES_FILE).write_bytes(b"not parquet")
    with pytest.raises(DataFormatError, match="cannot read .*schedules.parquet"):
        ds.schedules  # noqa: B018
    assert ds.loaded() == []
