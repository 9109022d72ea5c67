"""The learned model: training, predictions a fan can check, saving and loading, killed runs, no leakage, speed."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from fgrid import files
from fgrid.analysis import feature_store
from fgrid.analysis import model as ai
from fgrid.analysis.dataset import Dataset
from fgrid.analysis.model import explain, feature_matrix, prediction, registry, training
from fgrid.errors import InputError, NoDataError

#: A small, fast model: one seed, few trees (the defaults take about a minute).
SMALL = {"SEEDS": (0,), "MEDIAN_ROUNDS": 80, "QUANTILE_ROUNDS": 50}
#: 2023 week 8: Kansas City at Denver (a game every fan can look up).
SEASON, WEEK = 2023, 8


@pytest.fixture(scope="module")
def small_model(dataset: Dataset) -> ai.TrainedModel:
    """A model trained on the 2022 season with few trees."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in SMALL.items():
            mp.setattr(training, name, value)
        return ai.train(dataset, [2022], "ppr")


@pytest.fixture()
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


def test_training_reports_progress_and_records_what_it_was_trained_on(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"SEEDS": (0,), "MEDIAN_ROUNDS": 40, "QUANTILE_ROUNDS": 30}.items():
        monkeypatch.setattr(training, name, value)
    stages: list[tuple[str, float]] = []
    model = ai.train(dataset, [2022, 2021], "ppr", progress=lambda stage, pct: stages.append((stage, pct)))
    assert model.seasons == [2021, 2022]
    assert stages[0] == ("features", 0.0) and stages[-1] == ("done", 100.0)
    assert [p for _s, p in stages] == sorted(p for _s, p in stages)
    # The last season is held out: models fit on 2021 are scored on 2022 and the interval calibrated there.
    val = model.metrics["validation"]
    assert val["season"] == 2022 and val["trained_on"] == [2021]
    everyone = val["by_position"]["ALL"]
    assert everyone["rows"] > 2000
    assert everyone["ratio"] < 1.0  # beats the naive weighted average even with 40 trees
    assert 0.74 <= everyone["coverage"] <= 0.86  # about 80%: the calibration's own season
    assert model.scale_low > 0 and model.scale_high > 0
    assert model.fingerprint["version"] == str(dataset.version) and len(model.fingerprint["sha256"]) == 16


def test_training_rejects_seasons_without_stats(dataset: Dataset) -> None:
    with pytest.raises(InputError, match="no stats for season"):
        ai.train(dataset, [2031])
    with pytest.raises(InputError, match="scoring"):
        ai.train(dataset, [2022], scoring="fractional")


def test_a_star_projects_above_a_backup_and_intervals_hold_the_projection(
    dataset: Dataset, small_model: ai.TrainedModel
) -> None:
    kelce = ai.predict(small_model, dataset, "Travis Kelce", "DEN", season=SEASON, week=WEEK)
    backup = ai.predict(small_model, dataset, "Noah Gray", "DEN", season=SEASON, week=WEEK)
    assert kelce["player"]["name"] == "Travis Kelce" and kelce["game"]["game_id"] == "2023_08_KC_DEN"
    assert kelce["projection"]["points"] > backup["projection"]["points"] + 5
    for pred in (kelce, backup):
        proj = pred["projection"]
        assert 0 <= proj["low"] <= proj["points"] <= proj["high"]
        assert 0 <= pred["percentile"] <= 100
        assert pred["grade"] in {letter for _bound, letter in prediction.GRADE_BANDS}
    assert kelce["grade"] in {"A+", "A", "A-"}
    assert kelce["percentile"] > backup["percentile"]
    # Explanation: the top factors, signed points, readable names, largest first.
    factors = kelce["explanation"]
    assert 1 <= len(factors) <= explain.TOP_FACTORS
    assert all(isinstance(f["points"], float) and f["factor"] for f in factors)
    sizes = [abs(f["points"]) for f in factors]
    assert sizes == sorted(sizes, reverse=True)
    usual = {"target share", "recent form", "longer-run scoring level"}
    assert any(f["factor"] in usual and f["points"] > 0 for f in factors)
    json.dumps(kelce)  # JSON-ready


def test_predict_needs_the_models_scoring(dataset: Dataset, small_model: ai.TrainedModel) -> None:
    with pytest.raises(InputError, match="trained for ppr"):
        ai.predict(small_model, dataset, "Travis Kelce", "DEN", season=SEASON, week=WEEK, scoring="half")


def test_slate_ranks_the_week_and_grades_follow_percentiles(dataset: Dataset, small_model: ai.TrainedModel) -> None:
    qbs = ai.predict_slate(small_model, dataset, SEASON, WEEK, position="QB")
    assert len(qbs) >= 20 and all(r["position"] == "QB" for r in qbs)
    points = [r["projection"]["points"] for r in qbs]
    assert points == sorted(points, reverse=True)
    assert [r["rank"] for r in qbs][:3] == [1, 2, 3]
    top12 = {r["name"] for r in qbs[:12]}
    assert {"Patrick Mahomes", "Josh Allen"} & top12
    order = {letter: i for i, (_b, letter) in enumerate(prediction.GRADE_BANDS)}
    grades = [order[r["grade"]] for r in qbs]
    assert grades == sorted(grades)  # a better projection never gets a worse grade
    assert qbs[0]["grade"] == "A+" and qbs[-1]["grade"] in {"D", "F"}
    assert len(ai.predict_slate(small_model, dataset, SEASON, WEEK, top=10)) == 10
    with pytest.raises(InputError, match="position"):
        ai.predict_slate(small_model, dataset, SEASON, WEEK, position="K")

    pairs = [("Patrick Mahomes", "DEN"), ("Blaine Gabbert", "DEN")]
    graded = ai.grade(small_model, dataset, pairs, season=SEASON, week=WEEK)
    assert [g["player"]["name"] for g in graded] == ["Patrick Mahomes", "Blaine Gabbert"]
    assert order[graded[0]["grade"]] < order[graded[1]["grade"]]
    assert graded[0]["reasons"][0].startswith("projected") and len(graded[0]["reasons"]) >= 2
    # The same player and game: the slate's number and predict's agree.
    mahomes = next(r for r in qbs if r["name"] == "Patrick Mahomes")
    assert mahomes["projection"] == graded[0]["projection"]
    assert mahomes["percentile"] == graded[0]["percentile"]


def test_save_and_load_round_trip(dataset: Dataset, small_model: ai.TrainedModel, models_dir: Path) -> None:
    model_id = ai.save(small_model, models_dir)
    assert (models_dir / registry.LATEST_FILE).read_text().strip() == model_id
    manifest = json.loads((models_dir / f"{model_id}.json").read_text())
    assert manifest["seasons"] == [2022] and manifest["scoring"] == "ppr"
    assert manifest["feature_names"] == list(feature_matrix.FEATURE_NAMES)
    assert manifest["fingerprint"]["version"] == str(dataset.version)
    assert manifest["created_at"].endswith("Z") and "metrics" in manifest
    listed = ai.list_models(models_dir)
    assert [m["model_id"] for m in listed] == [model_id] and listed[0]["latest"]

    loaded = ai.load_model(models_dir)
    assert loaded.model_id == model_id and loaded is ai.load_model(models_dir, model_id)  # cached per process
    a = ai.predict(small_model, dataset, "Justin Jefferson", "GB", season=SEASON, week=WEEK)
    b = ai.predict(loaded, dataset, "Justin Jefferson", "GB", season=SEASON, week=WEEK)
    assert a["projection"] == b["projection"] and a["explanation"] == b["explanation"] and a["grade"] == b["grade"]

    # A newer model saved by another process is picked up by the next load, without a restart.
    time.sleep(0.01)
    newer = ai.save(replace(small_model, model_id=None), models_dir)
    assert newer != model_id and ai.load_model(models_dir).model_id == newer
    assert [m["model_id"] for m in ai.list_models(models_dir)] == sorted([newer, model_id], reverse=True)


def test_a_model_trained_on_other_features_is_not_loaded(small_model: ai.TrainedModel, models_dir: Path) -> None:
    model_id = ai.save(replace(small_model, model_id=None), models_dir)
    path = models_dir / f"{model_id}.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "feature_names": manifest["feature_names"][:-1]}))
    assert not ai.list_models(models_dir)[0]["loadable"]
    with pytest.raises(NoDataError, match="another fgrid version; run `fgrid train` again"):
        ai.load_model(models_dir)


def test_no_model_is_an_error_a_person_can_act_on(tmp_path: Path) -> None:
    with pytest.raises(NoDataError, match=r"no trained model in .*; run `fgrid train`"):
        ai.load_model(tmp_path / "nothing-here")
    with pytest.raises(InputError, match="not a model id"):
        ai.load_model(tmp_path, "../../etc/passwd")


def test_a_killed_training_runs_leftovers_are_never_loaded(
    dataset: Dataset, small_model: ai.TrainedModel, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = ai.save(small_model, models_dir)
    assert ai.load_model(models_dir).model_id == good

    # Killed after the estimator file was written, before its manifest: an orphan estimator file.
    real_write = files.write_atomic

    def die_after_estimators(path: Path, data: bytes, **options: Any) -> None:
        real_write(path, data, **options)
        if path.suffix == registry.ESTIMATOR_SUFFIX:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(files, "write_atomic", die_after_estimators)
    with pytest.raises(KeyboardInterrupt):
        ai.save(replace(small_model, model_id=None), models_dir)
    monkeypatch.setattr(files, "write_atomic", real_write)
    orphans = [p for p in models_dir.glob("*" + registry.ESTIMATOR_SUFFIX) if not p.with_suffix(".json").exists()]
    assert len(orphans) == 1

    # Killed mid-write (SIGKILL leaves the temporary file), and a manifest cut short or never marked complete.
    (models_dir / f"{files.TMP_PREFIX}20991231T235959000Z-ppr-deadbeef.estimators.x1y2").write_bytes(b"\x80\x04partial")
    truncated = "20991231T235958000Z-ppr-0badf00d"
    (models_dir / f"{truncated}{registry.ESTIMATOR_SUFFIX}").write_bytes(b"junk")
    (models_dir / f"{truncated}.json").write_text('{"format": 1, "model_id": "2099')
    unfinished = "20991231T235957000Z-ppr-0badcafe"
    blob = (models_dir / f"{good}{registry.ESTIMATOR_SUFFIX}").read_bytes()
    (models_dir / f"{unfinished}{registry.ESTIMATOR_SUFFIX}").write_bytes(blob[: len(blob) // 2])
    manifest = json.loads((models_dir / f"{good}.json").read_text())
    (models_dir / f"{unfinished}.json").write_text(json.dumps({**manifest, "model_id": unfinished}))  # size differs

    assert [m["model_id"] for m in ai.list_models(models_dir)] == [good]
    assert ai.load_model(models_dir).model_id == good  # the previous model stays in use
    for bad in (truncated, unfinished):
        with pytest.raises(NoDataError, match="missing or incomplete"):
            ai.load_model(models_dir, bad)

    # Even a `latest` pointing at a half-written model falls back to the newest complete one.
    registry._LATEST_SEEN.clear()
    (models_dir / registry.LATEST_FILE).write_text(unfinished + "\n")
    assert ai.load_model(models_dir).model_id == good


def _with_changed_games(ds: Dataset, where: pl.Expr) -> Dataset:
    """A copy of ``ds`` whose games matching ``where`` have absurd stat lines (and a new version)."""
    stats = ds.stats.with_columns(
        [
            pl.when(where).then(pl.col(c) * 7 + 50).otherwise(pl.col(c)).alias(c)
            for c in ("receiving_yards", "rushing_yards", "passing_yards", "targets", "carries", "receptions")
        ]
        + [
            pl.when(where).then(pl.lit(4)).otherwise(pl.col(c)).cast(ds.stats.schema[c]).alias(c)
            for c in ("receiving_tds", "rushing_tds", "passing_tds")
        ]
    )
    return Dataset(
        stats=stats,
        schedules=ds.schedules,
        players=ds.players,
        meta=ds.meta,
        version=f"{ds.version}-changed",
        path=ds.path,
    )


def test_no_leakage_later_games_and_the_game_itself_do_not_change_a_prediction(
    dataset: Dataset, small_model: ai.TrainedModel
) -> None:
    # Change week 8 itself and every later 2023 game of Kansas City's players and of Denver's.
    changed = _with_changed_games(
        dataset, (pl.col("season") == SEASON) & (pl.col("week") >= WEEK) & pl.col("team").is_in(["KC", "DEN"])
    )
    before = ai.predict(small_model, dataset, "Travis Kelce", "DEN", season=SEASON, week=WEEK)
    after = ai.predict(small_model, changed, "Travis Kelce", "DEN", season=SEASON, week=WEEK)
    assert after["projection"] == before["projection"]
    assert after["explanation"] == before["explanation"]
    assert after["percentile"] == before["percentile"]
    # ... while a change before the game does move it (the test can see a difference).
    earlier = _with_changed_games(
        dataset, (pl.col("season") == SEASON) & (pl.col("week") == WEEK - 1) & (pl.col("team") == "KC")
    )
    moved = ai.predict(small_model, earlier, "Travis Kelce", "DEN", season=SEASON, week=WEEK)
    assert moved["projection"]["points"] > before["projection"]["points"]

    # Every training row's features: identical for games before the change.
    frame_a, x_a = feature_matrix.training_frame(dataset)
    frame_b, x_b = feature_matrix.training_frame(changed)

    def before_change(frame: pl.DataFrame) -> pl.DataFrame:
        rows = frame.select("player_id", "game_id", "season", "week").with_columns(row=pl.int_range(pl.len()))
        key = pl.col("season") * feature_store.KEY_SEASON + pl.col("week")
        return rows.filter(key < feature_store.game_key(SEASON, WEEK))

    a, b = before_change(frame_a), before_change(frame_b)
    joined = a.join(b, on=["player_id", "game_id"], suffix="_b")
    assert joined.height == a.height == b.height
    np.testing.assert_array_equal(x_a[joined["row"].to_numpy()], x_b[joined["row_b"].to_numpy()])


def test_warm_predictions_repeat_the_first(dataset: Dataset, small_model: ai.TrainedModel) -> None:
    # The first call caches the slate and indexes; later ones read them (bench/ measures how fast).
    first = ai.predict(small_model, dataset, "Justin Jefferson", "GB", season=SEASON, week=WEEK)
    for _ in range(2):
        assert ai.predict(small_model, dataset, "Justin Jefferson", "GB", season=SEASON, week=WEEK) == first


def test_future_and_hypothetical_games(dataset: Dataset, small_model: ai.TrainedModel) -> None:
    nxt = ai.predict(small_model, dataset, "Justin Jefferson", "GB")  # the next scheduled meeting, in 2024
    assert nxt["game"]["season"] == 2024 and nxt["game"]["game_id"]
    assert nxt["rank"]["of"] > 40  # ranked among the WRs with a game that week
    slate = ai.predict_slate(small_model, dataset, nxt["game"]["season"], nxt["game"]["week"], position="WR")
    mine = next(r for r in slate if r["name"] == "Justin Jefferson")
    assert mine["projection"] == nxt["projection"]
    # Minnesota does not play Buffalo in 2024: a hypothetical game in the first week after the data.
    with pytest.raises(InputError, match="MIN does not play BUF in 2024"):
        ai.predict(small_model, dataset, "Justin Jefferson", "BUF")
    far: dict[str, Any] = ai.predict(small_model, dataset, "Justin Jefferson", "BUF", what_if=True)
    assert far["hypothetical"] is True and far["game"]["hypothetical"] is True
    assert far["game"]["game_id"] is None and far["projection"]["points"] > 5 and 0 <= far["percentile"] <= 100
    # A week without scheduled games is graded against a typical week's projections (kept in the model).
    for position in feature_store.POSITIONS:
        ref = small_model.reference[position]
        assert len(ref) == 101 and ref == sorted(ref)


def test_half_ppr_projects_a_pass_catcher_below_full_ppr(
    dataset: Dataset, small_model: ai.TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SMALL.items():
        monkeypatch.setattr(training, name, value)
    half = ai.train(dataset, [2022], "half")
    a = ai.predict(small_model, dataset, "Travis Kelce", "DEN", season=SEASON, week=WEEK)
    b = ai.predict(half, dataset, "Travis Kelce", "DEN", season=SEASON, week=WEEK, scoring="half")
    assert b["scoring"] == "half"
    assert b["projection"]["points"] < a["projection"]["points"] - 1.5  # about half his ~6 catches a game


def test_every_feature_has_a_readable_factor() -> None:
    assert set(feature_matrix.FEATURE_NAMES) <= set(explain.FACTOR_OF)
    assert len(set(feature_matrix.FEATURE_NAMES)) == len(feature_matrix.FEATURE_NAMES)
    bounds = [b for b, _letter in prediction.GRADE_BANDS]
    assert bounds == sorted(bounds, reverse=True) and bounds[-1] == 0 and prediction.GRADE_BANDS[0][1] == "A+"
