"""Sync and load of the nflverse data, on the real shared files."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fgrid.analysis.data import (
    info,
    load,
    schema,
    sources,
    store,
    sync_from_dir,
    sync_online,
)
from fgrid.analysis.dataset import (
    META_FILE,
    PLAYERS_FILE,
    SCHEDULES_FILE,
    STATS_FILE,
    Dataset,
)
from fgrid.analysis.teams import TEAM_CODES
from fgrid.errors import DataFormatError, InputError, NoDataError, StorageError, UnavailableError

#: Rows per season of the raw files, from PROVENANCE.md.
PROVENANCE_ROWS = {2019: 5261, 2020: 5447, 2021: 5680, 2022: 5629, 2023: 5405}
#: nflverse's 2024 renames of the 2023 columns.
RENAMES_2024 = {
    "recent_team": "team",
    "interceptions": "passing_interceptions",
    "sacks": "sacks_suffered",
    "sack_yards": "sack_yards_lost",
}


def read_raw(shared_data: Path, season: int) -> pl.DataFrame:
    """One raw season file as nflverse published it, every column a string."""
    return pl.read_csv(shared_data / "raw" / f"player_stats_{season}.csv.gz", infer_schema=False)


def make_source(shared_data: Path, folder: Path, stats: dict[int, pl.DataFrame] | None = None) -> Path:
    """A source folder in nflverse's own names: ``player_stats_<season>.csv``, ``games.csv``, ``db_playerids.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    for season, frame in ({2023: read_raw(shared_data, 2023)} if stats is None else stats).items():
        frame.write_csv(folder / f"player_stats_{season}.csv")
    shutil.copy(shared_data / "schedules_2019_2024.csv", folder / "games.csv")
    shutil.copy(shared_data / "player_ids.csv", folder / "db_playerids.csv")
    return folder


@pytest.fixture
def small_sync(shared_data: Path, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A private nfl_dir holding a sync of the 2023 season only (fast; tests may break it)."""
    nfl_dir = tmp_path / "nfl"
    return nfl_dir, sync_from_dir(shared_data, nfl_dir, seasons=range(2023, 2024))


# --- the session-wide sync of all five seasons -------------------------------------------------------------------


def test_sync_imports_every_season_with_provenance_row_counts(sync_report: dict[str, Any]) -> None:
    assert sync_report["seasons"] == [2019, 2020, 2021, 2022, 2023]
    assert sync_report["skipped"] == {}
    rows = {w["season"]: w["rows"] for w in sync_report["weeks"]}
    skipped = {int(season): n for season, n in sync_report["skipped_by_season"].items()}
    assert {season: rows[season] + skipped.get(season, 0) for season in rows} == PROVENANCE_ROWS
    assert sync_report["rows"] == sum(PROVENANCE_ROWS.values())


def test_sync_reports_what_it_filled(sync_report: dict[str, Any]) -> None:
    # PROVENANCE: 2019-2021 lack positions (filled from player ids, 36 rows unmatched), 2019-2022 lack opponents,
    # and 8 rows of 2023 name the player's own team as opponent.
    assert sync_report["filled"]["position_missing"] == 36
    assert sync_report["filled"]["position_from_player_ids"] == 5261 + 5447 + 5680 - 36
    assert sync_report["filled"]["opponent_from_schedules"] == 5261 + 5447 + 5680 + 5629
    assert sync_report["filled"]["opponent_corrected"] == 8


def test_sync_is_fast(sync_report: dict[str, Any]) -> None:
    assert sync_report["seconds"] < 10


def test_info_describes_the_synced_data(nfl_dir: Path, dataset: Dataset) -> None:
    described = info(nfl_dir)
    assert described["seasons"] == [2019, 2020, 2021, 2022, 2023]
    weeks = {w["season"]: (w["min_week"], w["max_week"], w["rows"]) for w in described["weeks"]}
    assert weeks[2023] == (1, 18, 5405)  # the 2023 file is regular season only
    assert weeks[2022] == (1, 22, 5629)  # 17-game season: the Super Bowl is week 22
    assert described["rows"] == 27422
    assert described["last_game_date"] == "2024-01-07"  # 2023 week 18
    assert described["schedule_seasons"] == [2019, 2020, 2021, 2022, 2023, 2024]
    assert described["version"] == dataset.version
    assert described["source"].startswith("dir:")
    assert described["skipped"] == {}
    assert described["synced_at"]
    assert 1000 < described["players"] < 2000


def test_info_and_load_without_data_raise_no_data(tmp_path: Path) -> None:
    for read in (info, load):
        with pytest.raises(NoDataError, match="fgrid data sync --from DIR") as caught:
            read(tmp_path / "empty")
        assert "\n" not in str(caught.value)


def test_stats_have_the_normalized_schema(dataset: Dataset) -> None:
    assert dataset.stats.schema == pl.Schema(schema.STATS_COLUMNS)
    required = ["player_id", "player_name", "player_display_name", "team", "season", "week", "season_type"]
    required += ["opponent", "game_id", "gameday", "home", *schema.COUNT_COLUMNS, "fantasy_points"]
    nulls = dataset.stats.select(pl.col(required).null_count()).row(0, named=True)
    assert {name: n for name, n in nulls.items() if n} == {}
    assert set(dataset.stats["team"]) == set(TEAM_CODES)
    assert set(dataset.stats["opponent"]) == set(TEAM_CODES)
    assert set(dataset.stats["season_type"]) == {"REG", "POST"}
    assert dataset.stats.select(pl.struct("player_id", "game_id").is_duplicated().any()).item() is False


def test_stats_match_schedules(dataset: Dataset) -> None:
    games = dataset.stats.join(dataset.schedules, on="game_id", suffix="_game")
    assert games.height == dataset.stats.height
    home = games.filter(pl.col("home"))
    away = games.filter(~pl.col("home"))
    assert (home["team"] == home["home_team"]).all() and (home["opponent"] == home["away_team"]).all()
    assert (away["team"] == away["away_team"]).all() and (away["opponent"] == away["home_team"]).all()
    assert (games["gameday"] == games["gameday_game"]).all()
    assert dataset.stats.filter(pl.col("team") == pl.col("opponent")).is_empty()


def test_early_seasons_get_positions_and_names_from_player_ids(dataset: Dataset) -> None:
    brady = dataset.stats.filter((pl.col("player_id") == "00-0019596") & (pl.col("season") == 2019))
    assert set(brady["position"]) == {"QB"} and set(brady["player_display_name"]) == {"Tom Brady"}
    assert set(brady["team"]) == {"NE"}
    # Week 1 2019: PIT at NE, Sunday night, 341 passing yards.
    week1 = brady.filter(pl.col("week") == 1).row(0, named=True)
    assert (week1["opponent"], week1["home"], week1["passing_yards"]) == ("PIT", True, 341)
    assert str(week1["gameday"]) == "2019-09-08"


def test_raiders_are_lv_everywhere(dataset: Dataset) -> None:
    teams = set(dataset.schedules["home_team"]) | set(dataset.schedules["away_team"])
    assert teams == set(TEAM_CODES)
    oakland = dataset.schedules.filter(pl.col("stadium_id") == "OAK00")
    assert set(oakland["home_team"]) == {"LV"} and set(oakland["season"]) == {2019}


def test_shares_are_null_only_before_2021(dataset: Dataset) -> None:
    shares = dataset.stats.group_by("season").agg(pl.col("target_share").is_not_null().sum()).sort("season")
    counts = dict(shares.iter_rows())
    assert counts[2019] == counts[2020] == 0
    assert counts[2021] > 4000 and counts[2023] > 4000


def test_schedules_are_clean(dataset: Dataset) -> None:
    schedules = dataset.schedules
    assert list(schedules.columns) == list(schema.SCHEDULE_COLUMNS)
    assert schedules.height == 1675
    assert schedules.schema["gameday"] == pl.Date
    assert set(schedules["roof"].drop_nulls()) <= set(schema.ROOF_VALUES)
    surfaces = set(schedules["surface"].drop_nulls())
    assert "grass" in surfaces and all(s == s.strip() and s for s in surfaces)
    played = schedules.filter(pl.col("season") <= 2024)
    assert played["home_score"].null_count() == 0 and played["spread_line"].null_count() == 0


def test_player_ids_are_int_strings_with_nfl_positions(dataset: Dataset) -> None:
    players = dataset.players
    assert list(players.columns) == list(schema.PLAYER_COLUMNS)
    assert players["gsis_id"].is_unique().all()
    lamb = players.filter(pl.col("gsis_id") == "00-0036358").row(0, named=True)
    assert (lamb["sleeper_id"], lamb["espn_id"], lamb["position"], lamb["team"]) == ("6786", "4241389", "WR", "DAL")
    for column in ("sleeper_id", "espn_id"):
        assert players[column].drop_nulls().str.contains(r"^\d+$").all()
    assert {"K", "P"} <= set(players["position"]) and not {"PK", "PN"} & set(players["position"])
    assert set(players["team"].drop_nulls()) <= set(TEAM_CODES)


def test_load_is_cached_and_the_tables_read(nfl_dir: Path, dataset: Dataset) -> None:
    assert load(nfl_dir) is dataset  # the same object again, nothing reread (bench/ measures how fast)
    version_dir = Path(dataset.path)
    pl.read_parquet(version_dir / STATS_FILE)
    pl.read_parquet(version_dir / SCHEDULES_FILE)
    pl.read_parquet(version_dir / PLAYERS_FILE)


# --- other layouts and schema years --------------------------------------------------------------------------------


def test_nflverse_file_names_are_accepted(shared_data: Path, tmp_path: Path) -> None:
    source = make_source(shared_data, tmp_path / "downloads")
    report = sync_from_dir(source, tmp_path / "nfl")
    assert report["seasons"] == [2023] and report["rows"] == PROVENANCE_ROWS[2023]
    assert load(tmp_path / "nfl").stats.height == PROVENANCE_ROWS[2023]


def test_2024_schema_gives_the_same_rows(shared_data: Path, dataset: Dataset, tmp_path: Path) -> None:
    raw = read_raw(shared_data, 2022)
    renamed = raw.rename(RENAMES_2024).drop("dakota").with_row_index("")  # a leading unnamed index column
    source = make_source(shared_data, tmp_path / "src", {2022: renamed})
    sync_from_dir(source, tmp_path / "nfl")
    columns = list(schema.STATS_COLUMNS)
    got = load(tmp_path / "nfl").stats.select(columns)
    expected = dataset.stats.filter(pl.col("season") == 2022).select(columns)
    assert got.equals(expected)


def test_seasons_limit_the_import(shared_data: Path, tmp_path: Path) -> None:
    report = sync_from_dir(shared_data, tmp_path / "nfl", seasons=range(2021, 2023))
    assert report["seasons"] == [2021, 2022] and report["missing_seasons"] == []
    assert sync_from_dir(shared_data, tmp_path / "nfl", seasons=[2023, 2024])["missing_seasons"] == [2024]
    assert report["rows"] == PROVENANCE_ROWS[2021] + PROVENANCE_ROWS[2022]


def test_unusable_rows_are_counted_not_dropped_silently(shared_data: Path, tmp_path: Path) -> None:
    raw = read_raw(shared_data, 2023)
    broken = raw.with_columns(
        recent_team=pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("XYZ")).otherwise(pl.col("recent_team")),
        player_id=pl.when(pl.int_range(pl.len()) == 10).then(None).otherwise(pl.col("player_id")),
    )
    report = sync_from_dir(make_source(shared_data, tmp_path / "src", {2023: broken}), tmp_path / "nfl")
    assert report["skipped"] == {"unknown_team": 3, "missing_player_id": 1}
    assert report["skipped_by_season"] == {"2023": 4}
    assert report["unknown_team_codes"] == ["XYZ"]
    assert report["rows"] == PROVENANCE_ROWS[2023] - 4
    assert info(tmp_path / "nfl")["skipped"] == report["skipped"]
    meta = json.loads((Path(report["path"]) / META_FILE).read_text())
    assert meta["skipped"] == report["skipped"]


def test_missing_source_folder_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        sync_from_dir(tmp_path / "nowhere", tmp_path / "nfl")


def test_folder_without_stats_is_a_format_error(shared_data: Path, tmp_path: Path) -> None:
    source = make_source(shared_data, tmp_path / "src", {})
    with pytest.raises(DataFormatError, match="no player_stats_YYYY"):
        sync_from_dir(source, tmp_path / "nfl")


# --- malformed input leaves the previous data intact ---------------------------------------------------------------


def assert_intact(nfl_dir: Path, version: str) -> None:
    assert info(nfl_dir)["version"] == version
    store.forget_loaded()
    assert load(nfl_dir).stats.height == PROVENANCE_ROWS[2023]
    assert not [p for p in (nfl_dir / store.VERSIONS_DIR).iterdir() if p.name.endswith(".tmp")]


def test_missing_columns_fail_and_keep_previous_data(
    shared_data: Path, small_sync: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    nfl_dir, before = small_sync
    stats = read_raw(shared_data, 2023).drop("passing_yards", "receptions")
    source = make_source(shared_data, tmp_path / "src", {2023: stats})
    with pytest.raises(DataFormatError) as caught:
        sync_from_dir(source, nfl_dir)
    message = str(caught.value)
    assert "player_stats_2023.csv" in message and "passing_yards, receptions" in message and "\n" not in message
    assert_intact(nfl_dir, before["version"])


def test_truncated_gzip_fails_and_keeps_previous_data(
    shared_data: Path, small_sync: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    nfl_dir, before = small_sync
    source = make_source(shared_data, tmp_path / "src", {})
    whole = (shared_data / "raw" / "player_stats_2023.csv.gz").read_bytes()
    (source / "raw").mkdir()
    (source / "raw" / "player_stats_2023.csv.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataFormatError, match=r"cannot read .*player_stats_2023\.csv\.gz") as caught:
        sync_from_dir(source, nfl_dir)
    assert "\n" not in str(caught.value)
    assert_intact(nfl_dir, before["version"])


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02binary\xff\xfe",
        b"player_id,season\n",
        b'player_id,"season\n1,2',
    ],
    ids=["binary", "header-only", "unterminated-quote"],
)
def test_unreadable_csv_fails_and_keeps_previous_data(
    shared_data: Path, small_sync: tuple[Path, dict[str, Any]], tmp_path: Path, content: bytes
) -> None:
    nfl_dir, before = small_sync
    source = make_source(shared_data, tmp_path / "src", {})
    (source / "player_stats_2023.csv").write_bytes(content)
    with pytest.raises(DataFormatError, match=r"player_stats_2023\.csv"):
        sync_from_dir(source, nfl_dir)
    assert_intact(nfl_dir, before["version"])


def test_non_numeric_stat_names_the_column(
    shared_data: Path, small_sync: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    nfl_dir, before = small_sync
    stats = read_raw(shared_data, 2023).with_columns(receiving_yards=pl.lit("lots"))
    with pytest.raises(DataFormatError, match=r"player_stats_2023\.csv: column receiving_yards"):
        sync_from_dir(make_source(shared_data, tmp_path / "src", {2023: stats}), nfl_dir)
    assert_intact(nfl_dir, before["version"])


def test_malformed_schedules_fail(shared_data: Path, small_sync: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    nfl_dir, before = small_sync
    source = make_source(shared_data, tmp_path / "src")
    pl.read_csv(source / "games.csv", infer_schema=False).drop("home_team").write_csv(source / "games.csv")
    with pytest.raises(DataFormatError, match=r"games\.csv: missing required columns home_team"):
        sync_from_dir(source, nfl_dir)
    assert_intact(nfl_dir, before["version"])


# --- versions, atomic publish, concurrency -------------------------------------------------------------------------


def versions_in(nfl_dir: Path) -> list[str]:
    return sorted(p.name for p in (nfl_dir / store.VERSIONS_DIR).iterdir())


def test_each_sync_publishes_a_new_version_and_keeps_the_previous(
    shared_data: Path, small_sync: tuple[Path, dict[str, Any]]
) -> None:
    nfl_dir, first = small_sync
    old = load(nfl_dir)
    second = sync_from_dir(shared_data, nfl_dir, seasons=range(2023, 2024))
    assert versions_in(nfl_dir) == sorted([first["version"], second["version"]])
    new = load(nfl_dir)
    assert new is not old and new.version == second["version"]
    assert old.stats.height == new.stats.height  # the old Dataset stays usable
    third = sync_from_dir(shared_data, nfl_dir, seasons=range(2023, 2024))
    assert versions_in(nfl_dir) == sorted([second["version"], third["version"]])
    assert os.readlink(nfl_dir / store.CURRENT_LINK) == f"{store.VERSIONS_DIR}/{third['version']}"
    assert load(nfl_dir).version == third["version"] and load(nfl_dir) is load(nfl_dir)  # each flip is seen


@pytest.mark.parametrize("keep", [3, 1])
def test_a_sync_keeps_as_many_versions_as_keep_versions_says(
    shared_data: Path, small_sync: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, keep: int
) -> None:
    nfl_dir, first = small_sync
    monkeypatch.setattr(store, "KEEP_VERSIONS", keep)
    synced = [first["version"]]
    for _ in range(3):  # four syncs in all
        synced.append(sync_from_dir(shared_data, nfl_dir, seasons=range(2023, 2024))["version"])
    assert versions_in(nfl_dir) == sorted(synced)[-keep:]  # the newest ones, the current one among them
    assert os.readlink(nfl_dir / store.CURRENT_LINK) == f"{store.VERSIONS_DIR}/{synced[-1]}"
    assert load(nfl_dir).version == synced[-1]


def test_failed_publish_keeps_previous_data(
    shared_data: Path, small_sync: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    nfl_dir, before = small_sync

    def full_disk(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full_disk)
    with pytest.raises(StorageError, match=r"cannot write .*\.tmp: no space left on the device"):
        sync_from_dir(shared_data, nfl_dir, seasons=range(2023, 2024))
    monkeypatch.undo()
    assert_intact(nfl_dir, before["version"])


def test_killed_sync_keeps_previous_data(shared_data: Path, small_sync: tuple[Path, dict[str, Any]]) -> None:
    nfl_dir, before = small_sync
    # Kill the syncing process (SIGKILL, no cleanup) right after it wrote its first Parquet file.
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        import polars as pl
        from fgrid.analysis.data import sync_from_dir

        write = pl.DataFrame.write_parquet

        def write_then_die(self, *args, **kwargs):
            write(self, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)

        pl.DataFrame.write_parquet = write_then_die
        sync_from_dir(Path({str(shared_data)!r}), Path({str(nfl_dir)!r}), seasons=range(2023, 2024))
        """
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, cwd=repo, check=False)
    assert done.returncode == -9, done.stderr.decode()
    leftovers = [name for name in versions_in(nfl_dir) if name.endswith(".tmp")]
    assert len(leftovers) == 1
    assert info(nfl_dir)["version"] == before["version"]
    store.forget_loaded()
    assert load(nfl_dir).version == before["version"]
    # The next sync clears the leftover.
    after = sync_from_dir(shared_data, nfl_dir, seasons=range(2023, 2024))
    assert versions_in(nfl_dir) == sorted([before["version"], after["version"]])


def test_forget_loaded_makes_the_next_load_read_the_version_again(small_sync: tuple[Path, dict[str, Any]]) -> None:
    nfl_dir, report = small_sync
    first = load(nfl_dir)
    assert load(nfl_dir) is first  # read once per process per version
    store.forget_loaded()
    again = load(nfl_dir)
    assert again is not first
    assert again.version == first.version == report["version"]


def test_concurrent_syncs_never_show_a_reader_partial_data(
    shared_data: Path, small_sync: tuple[Path, dict[str, Any]]
) -> None:
    nfl_dir, _ = small_sync
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def read_forever() -> None:
        while not stop.is_set():
            try:
                store.forget_loaded()
                dataset = load(nfl_dir)
                assert dataset.stats.height == dataset.meta["rows"] == PROVENANCE_ROWS[2023]
                assert dataset.meta["version"] == dataset.version
                seen.add(dataset.version)
            except BaseException as error:  # collected and re-raised by the test
                errors.append(error)
                return

    def sync() -> None:
        try:
            sync_from_dir(shared_data, nfl_dir, seasons=range(2023, 2024))
        except BaseException as error:  # collected and re-raised by the test
            errors.append(error)

    readers = [threading.Thread(target=read_forever) for _ in range(2)]
    syncs = [threading.Thread(target=sync) for _ in range(4)]
    for thread in readers + syncs:
        thread.start()
    for thread in syncs:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert len(versions_in(nfl_dir)) == store.KEEP_VERSIONS
    assert len(seen) >= 2


# --- online, served from 127.0.0.1 ---------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def nflverse_mirror(shared_data: Path, tmp_path: Path) -> Iterator[str]:
    """A local HTTP server on 127.0.0.1 serving the shared files where nflreadpy looks for them."""
    root = tmp_path / "www"
    stats_dir = root / "nflverse-data" / "stats_player"
    stats_dir.mkdir(parents=True)
    (root / "nflverse-data" / "schedules").mkdir()
    (root / "dynastyprocess").mkdir()
    stats = pl.read_csv(gzip.decompress((shared_data / "raw" / "player_stats_2023.csv.gz").read_bytes()))
    stats.rename(RENAMES_2024).drop("dakota").write_parquet(stats_dir / "stats_player_week_2023.parquet")
    games = pl.read_csv(shared_data / "schedules_2019_2024.csv", infer_schema_length=None).drop("")
    games.write_parquet(root / "nflverse-data" / "schedules" / "games.parquet")
    shutil.copy(shared_data / "player_ids.csv", root / "dynastyprocess" / "db_playerids.csv")

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **k: _QuietHandler(*a, directory=str(root), **k)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        from nflreadpy.downloader import get_downloader

        get_downloader().session.close()  # drop pooled keep-alive connections to this server
        server.shutdown()
        server.server_close()


def point_nflreadpy_at(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Send nflreadpy's downloads to ``base`` (never to the internet), bypassing any proxy."""
    from nflreadpy.downloader import NflverseDownloader

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(
        NflverseDownloader,
        "BASE_URLS",
        {"nflverse-data": f"{base}/nflverse-data/", "dynastyprocess": f"{base}/dynastyprocess/"},
    )


def test_online_sync_from_a_local_mirror(
    nflverse_mirror: str, dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_nflreadpy_at(nflverse_mirror, monkeypatch)
    messages: list[str] = []
    report = sync_online(tmp_path / "nfl", [2023], progress=messages.append)
    assert report["source"] == "nflverse (online)"
    assert report["seasons"] == [2023] and report["rows"] == PROVENANCE_ROWS[2023]
    assert report["schedule_seasons"] == [2023, 2024]
    assert any("player stats 2023" in m for m in messages)
    columns = list(schema.STATS_COLUMNS)
    online = load(tmp_path / "nfl").stats.select(columns)
    assert online.equals(dataset.stats.filter(pl.col("season") == 2023).select(columns))


def test_online_sync_of_a_missing_season_is_unavailable(
    nflverse_mirror: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_nflreadpy_at(nflverse_mirror, monkeypatch)
    with pytest.raises(UnavailableError, match="HTTP 404"):
        sync_online(tmp_path / "nfl", [2031])


def test_offline_sync_says_to_use_local_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    point_nflreadpy_at(f"http://127.0.0.1:{port}", monkeypatch)
    with pytest.raises(UnavailableError) as caught:
        sync_online(tmp_path / "nfl", [2023])
    assert str(caught.value) == sources.OFFLINE_MESSAGE
    assert "--from" in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "nfl" / store.CURRENT_LINK).exists()
