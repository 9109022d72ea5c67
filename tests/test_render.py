"""The views, in-process: data in, a Rich renderable out, printed on an 80-column console and read back as text."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console, RenderableType

from fgrid.render import ai, analysis, data, monitor, results, tasks, text

TASK_ID = "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"
NOW = 1_700_000_000.0


def show(view: RenderableType, width: int = 80) -> str:
    console = Console(record=True, width=width, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(view)
    return console.export_text()


def lines_fit(out: str, width: int = 80) -> bool:
    return all(len(line) <= width for line in out.splitlines())


def analysis_result(name: str = "CeeDee Lamb", verdict: str = "START", score: float = 64.0) -> dict[str, Any]:
    return {
        "player": {"name": name, "position": "WR", "team": "DAL"},
        "opponent": {"code": "SF", "name": "San Francisco 49ers"},
        "game": {"season": 2023, "week": 5, "home": False, "venue": {"name": "Levi's Stadium"}},
        "projection": {"points": 17.43, "low": 9.1, "high": 27.8},
        "recommendation": {"verdict": verdict, "confidence": 0.71, "reasons": ["targets up", "weak slot defence"]},
        "factors": [{"name": "target share", "value": 0.281, "effect": 1.25},
                    {"name": "pass defence", "value": 0.9, "effect": -0.5}],
        "matchup_score": score,
        "scoring": "ppr",
        "data_through": "2023 week 4",
    }


# --- tasks ---------------------------------------------------------------------------------------------------------


def test_task_table_keeps_the_whole_id_and_the_state_and_shows_progress() -> None:
    row = {"task_id": TASK_ID, "name": "fgrid.backtest", "state": "PROGRESS", "progress": {"done": 3, "total": 14},
           "worker": "w1@host", "elapsed": 2.04}
    narrow = show(tasks.task_table([row]))
    # Whole at 80 columns: the id is what status, cancel and retry take. (The columns after the state are cropped
    # there today: the table does not fit 80 columns with a progress column.)
    assert TASK_ID in narrow and "PROGRESS" in narrow and "3/14" in narrow
    wide = show(tasks.task_table([row]), width=120)
    assert "backtest" in wide and "fgrid.backtest" not in wide and "w1@host" in wide and "2.0s" in wide


def test_task_table_without_progress_has_no_progress_column() -> None:
    out = show(tasks.task_table([{"task_id": TASK_ID, "name": "fgrid.analyze_player", "state": "PENDING"}]))
    assert "progress" not in out and "PENDING" in out and "-" in out


def test_tasks_table_cuts_the_arguments_not_the_id() -> None:
    row = {"task_id": TASK_ID, "name": "fgrid.analyze_player", "summary": "CeeDee Lamb vs SF, 2023 week 5 " * 4,
           "state": "FAILURE", "worker": "w1@host", "runtime": None, "latency": 15.0, "submitted_at": NOW - 400}
    out = show(tasks.tasks_table([row], now=NOW))
    assert TASK_ID in out and "FAILURE" in out
    assert "~15s" in out  # no start time known: submission to finish, marked
    assert "7m" in out  # 400 s ago
    assert "…" in out
    assert lines_fit(out)


def test_an_empty_task_index_says_so() -> None:
    assert "no tasks in the index" in show(tasks.tasks_table([]))


def test_status_table_summarizes_an_analysis_and_compacts_other_json() -> None:
    doc = {"task_id": TASK_ID, "status": "SUCCESS", "ready": True, "successful": True, "result": analysis_result()}
    out = show(tasks.status_table(doc))
    assert "CeeDee Lamb (WR, DAL) vs SF: matchup 64/100, 17.4 pts (9.1-27.8)," in out and "START" in out
    assert lines_fit(out)
    assert "true" in out
    doc["result"] = {"numbers": list(range(500))}
    out = show(tasks.status_table(doc), width=500)
    assert '{"numbers": [0, 1, 2' in out and "..." in out


def test_cancel_summary_says_what_happened() -> None:
    line = tasks.cancel_summary({"task_id": "abc", "terminated": True, "previous_state": "STARTED",
                                 "removed_from_queue": False, "revoked_by": ["w1@host"]}).plain
    assert line == "abc terminated (was STARTED); acknowledged by w1@host"


# --- results -------------------------------------------------------------------------------------------------------


def test_ranking_table_lists_players_in_rank_with_verdicts_and_starts() -> None:
    ranking = {"ranking": [
        {"rank": 1, "start": True, "analysis": analysis_result("CeeDee Lamb", "START", 64)},
        {"rank": 2, "start": False, "analysis": analysis_result("Tyreek Hill", "SIT", 38)},
    ]}
    out = show(analysis.ranking_table(ranking))
    assert out.index("CeeDee Lamb") < out.index("Tyreek Hill")
    assert "✔ start" in out and "SIT" in out and "9.1-27.8" in out
    assert lines_fit(out)
    assert results.result(ranking) is not None


def test_a_name_that_looks_like_markup_is_printed_as_is() -> None:
    out = show(analysis.analysis_panel(analysis_result(name="[bold]Lamb[/bold] [IR]")))
    assert "[bold]Lamb[/bold] [IR]" in out
    assert "64 / 100" in out and "away, Levi's Stadium" in out and "+1.25" in out and "• targets up" in out


@pytest.mark.parametrize(("value", "view"), [
    ({"ranking": []}, "comparison"),
    (analysis_result(), "matchup analysis"),
    ({"grades": []}, "matchup grades"),
    ({"season": 2023, "week": 5, "slate": []}, "2023 week 5 slate"),
    ({"season": 2023, "weeks": [5, 6], "scoring": "ppr", "predictor": "engine",
      "summary": {"by_position": {"ALL": {"rows": 10, "mae": 5.0, "baseline_mae": 5.5, "ratio": 0.909,
                                          "coverage": None}}}}, "backtest 2023 weeks 5-6, PPR"),
    ({"model_id": "m1", "seasons": [2019, 2021], "scoring": "ppr", "metrics": {}}, "trained model"),
])
def test_a_result_is_shown_by_its_shape(value: dict[str, Any], view: str) -> None:
    shown = results.result(value)
    assert shown is not None and view in show(shown)


@pytest.mark.parametrize("value", [None, "text", 3, {"unknown": 1}])
def test_a_result_of_no_known_shape_has_no_view(value: Any) -> None:
    assert results.result(value) is None


def test_model_table_shows_the_validation_by_position() -> None:
    groups = {"WR": {"rows": 1121, "mae": 5.4575, "baseline_mae": 5.7745, "ratio": 0.9451, "coverage": 0.7939},
              "ALL": {"rows": 2724, "mae": 5.4429, "baseline_mae": 5.7484, "ratio": 0.9468, "coverage": None}}
    model = {"model_id": "m1", "scoring": "ppr", "seasons": [2021, 2019, 2020],
             "metrics": {"validation": {"by_position": groups}}}
    out = show(ai.model_table([model], metrics=True))
    assert "2019-2021" in out and "0.947" in out and "validation by position" in out and "5.774" in out
    assert "-" in out  # no coverage


# --- monitor -------------------------------------------------------------------------------------------------------


def test_doctor_lines_mark_each_check_and_name_the_fix() -> None:
    checks = [{"check": "broker reachable", "ok": True, "detail": "redis://127.0.0.1:6390/0", "fix": None},
              {"check": "worker consuming 'ai'", "ok": False, "detail": "no worker consumes this queue",
               "fix": "start one: `fgrid worker -Q ai`"}]
    out = show(monitor.doctor_lines(checks))
    assert out.splitlines() == [
        "✔ broker reachable: redis://127.0.0.1:6390/0",
        "✘ worker consuming 'ai': no worker consumes this queue",
        "    fix: start one: `fgrid worker -Q ai`",
        "1 of 2 checks failed",
    ]
    assert show(monitor.doctor_lines(checks[:1])).splitlines()[-1] == "all 1 checks passed"


def test_queues_table_shows_depths_and_a_queue_nobody_consumes() -> None:
    out = show(monitor.queues_table([{"queue": "matchups", "waiting": 12, "reserved": 2, "consumers": 1},
                                     {"queue": "ai", "waiting": 0, "reserved": None, "consumers": 0}]))
    assert "matchups" in out and "12" in out and "█" * 24 in out and "·" * 24 in out
    assert lines_fit(out)


def test_the_dashboard_fits_80_columns() -> None:
    snap = {"time": NOW, "queues": [{"queue": "matchups", "waiting": 1, "reserved": 0, "consumers": 1}],
            "workers": [{"hostname": "w1@host", "queues": ["matchups"], "pool": "prefork", "concurrency": 2,
                         "active": 1, "processed": 42, "uptime": 3700.0, "max_rss_kib": 204800}],
            "recent": [], "failures": [], "states": {"SUCCESS": 3}}
    console = Console(record=True, width=80, height=40, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(monitor.dashboard(snap, rate=1.5))
    out = console.export_text()
    assert "processed 42" in out and "rate 1.50/s" in out and "1.0h" in out and "200 MiB" in out
    assert lines_fit(out)


# --- data ----------------------------------------------------------------------------------------------------------


def test_settings_and_data_views() -> None:
    out = show(data.settings_table([{"name": "broker_url", "value": "redis://:****@h:6379/0", "source": "flag"}]))
    assert "redis://:****@h:6379/0" in out and "flag" in out
    out = show(data.data_info_table({"weeks": [{"season": 2023, "min_week": 1, "max_week": 18, "rows": 5405}],
                                     "rows": 5405, "players": 600, "games": 272, "skipped": {"bad": 2}}))
    assert "1-18" in out and "5,405 rows, 600 players, 272 games" in out and "2 rows skipped" in out
    lines = data.sync_summary({"rows": 27422, "seasons": [{"season": 2019}, {"season": 2023}], "skipped": {"x": 1}},
                              "/data/nfl")  # type: ignore[arg-type]
    assert [line.plain for line in lines] == ["synced 27,422 rows, seasons 2019-2023 into /data/nfl",
                                              "skipped rows: x: 1"]
    assert data.sync_summary({}, "/d")[0].plain == "synced 0 rows, seasons none into /d"  # type: ignore[arg-type]


# --- text ----------------------------------------------------------------------------------------------------------


def test_text_helpers() -> None:
    assert [text.seconds(v) for v in (None, 0.4242, 12.4, 180, 7200)] == ["-", "0.42s", "12s", "3.0m", "2.0h"]
    assert [text.ago(t, now=NOW) for t in (None, NOW - 3, NOW - 240, NOW - 7200)] == ["-", "3s", "4m", "2h"]
    assert text.memory(204800) == "200 MiB" and text.memory(None) == "-"
    assert text.number(0.94678) == "0.947" and text.number(None) == "-" and text.number(2, 1) == "2.0"
    assert text.span([2021, 2019]) == "2019-2021" and text.span([]) == "-"
    assert text.points_range({"low": 9.14, "high": 27.8}) == "9.1-27.8"
    assert text.compact_json({"a": 1}) == '{"a": 1}' and len(text.compact_json(list(range(999)))) == 400
    assert text.plain("[red]x").plain == "[red]x" and text.plain(None).plain == ""
    assert text.state_text("FAILURE").style == "red" and text.verdict_text("SIT").style == "bold red"
