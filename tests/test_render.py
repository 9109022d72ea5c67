"""The views, in-process: data in, a Rich renderable out, printed on an 80-column console and read back as text."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console, RenderableType

from fgrid.render import ai, analysis, data, lineup, monitor, results, tasks, text

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
        "factors": [
            {"name": "target share", "value": 0.281, "effect": 1.25},
            {"name": "pass defence", "value": 0.9, "effect": -0.5},
        ],
        "matchup_score": score,
        "scoring": "ppr",
        "data_through": "2023 week 4",
    }


# --- tasks ---------------------------------------------------------------------------------------------------------


def headers_whole(out: str, headers: tuple[str, ...]) -> bool:
    """Every header appears whole on one line of ``out`` (none cut to ``hea…``)."""
    return any(all(h in line for h in headers) for line in out.splitlines())


def test_task_table_shows_the_short_id_and_a_fan_outs_parts() -> None:
    row = {
        "task_id": TASK_ID,
        "name": "fgrid.backtest",
        "state": "PROGRESS",
        "progress": {"stage": None, "done": 3, "total": 14, "percent": 21.4},
        "worker": "w1@host",
        "elapsed": 2.04,
    }
    narrow = show(tasks.task_table([row]))
    assert headers_whole(narrow, ("id", "task", "state", "progress", "worker", "elapsed")), narrow
    assert TASK_ID[:8] in narrow and TASK_ID not in narrow and "3/14 parts" in narrow and "21%" in narrow
    assert "backtest" in narrow and "fgrid.backtest" not in narrow and "w1@host" in narrow and "2.0s" in narrow
    assert lines_fit(narrow)


def test_task_table_shows_a_trainings_stage_and_percent_not_zero_parts() -> None:
    # The defect: a training's {"stage": "fit", "percent": 77} showed as PROGRESS 0/0.
    row = {
        "task_id": TASK_ID,
        "name": "fgrid.ai.train",
        "state": "PROGRESS",
        "progress": {"stage": "fit", "done": None, "total": None, "percent": 77.0},
        "worker": "w1@host",
    }
    out = show(tasks.task_table([row]))
    assert "fit" in out and "77%" in out and "0/0" not in out and "train" in out


def test_task_table_without_progress_has_no_progress_column() -> None:
    out = show(tasks.task_table([{"task_id": TASK_ID, "name": "fgrid.analyze_player", "state": "PENDING"}]))
    assert "progress" not in out and "PENDING" in out and "-" in out


def task_row(**extra: Any) -> dict[str, Any]:
    return {
        "task_id": TASK_ID,
        "name": "fgrid.analyze_player",
        "summary": "CeeDee Lamb vs SF, 2023 w5",
        "state": "SUCCESS",
        "worker": "w1@host",
        "runtime": 0.004,
        "wait": 12.0,
        "latency": 12.004,
        "submitted_at": NOW - 400,
        **extra,
    }


def test_tasks_table_fits_80_columns_with_whole_headers_and_short_ids() -> None:
    rows = [
        task_row(
            summary="Davante Adams, Tyreek Hill, CeeDee Lamb, Justin Jefferson, 2023 w5 " * 2,
            name="fgrid.compare_players",
        ),
        task_row(),
    ]
    out = show(tasks.tasks_table(rows, now=NOW))
    assert headers_whole(out, ("id", "task", "arguments", "state", "worker", "wait", "run", "age")), out
    assert TASK_ID[:8] in out and TASK_ID not in out and "compare" in out and "…" in out
    # The defect: a 4 ms analysis that waited 12 s showed as ~12s; now the run and the wait apart.
    assert "4ms" in out and "12s" in out and "~12s" not in out and "7m" in out
    assert lines_fit(out)
    wide = show(tasks.tasks_table(rows, now=NOW), width=160)
    assert "Justin Jefferson" in wide and "w1" in wide


def test_tasks_table_without_a_start_marks_submission_to_finish() -> None:
    out = show(tasks.tasks_table([task_row(runtime=None, wait=None, latency=15.0)], now=NOW))
    assert "~15s" in out


def test_tasks_table_has_an_error_column_for_failures() -> None:
    rows = [task_row(state="FAILURE", error="InputError: unknown player 'Nobody'"), task_row()]
    out = show(tasks.tasks_table(rows, now=NOW))
    assert headers_whole(out, ("id", "task", "arguments", "state", "error")) and "unknown player" in out, out
    assert lines_fit(out)


def test_an_empty_task_index_says_so() -> None:
    assert "no tasks in the index" in show(tasks.tasks_table([]))


def test_status_table_compacts_json_and_shows_progress() -> None:
    doc = {
        "task_id": TASK_ID,
        "status": "PROGRESS",
        "ready": False,
        "successful": False,
        "result": None,
        "progress": {"stage": "fit", "percent": 77.0, "done": None, "total": None},
    }
    out = show(tasks.status_table(doc))
    assert "fit" in out and "77%" in out and "false" in out
    doc.update(status="SUCCESS", ready=True, successful=True, result={"numbers": list(range(500))}, progress=None)
    out = show(tasks.status_table(doc), width=500)
    assert '{"numbers": [0, 1, 2' in out and "..." in out


def test_status_view_shows_the_analysis_in_full_as_wait_does() -> None:
    # The defect: `fgrid status ID` printed one line for an analysis; only --json had the reasons and factors.
    info = {
        "task_id": TASK_ID,
        "state": "SUCCESS",
        "name": "fgrid.analyze_player",
        "summary": "CeeDee Lamb vs SF",
        "worker": "w1@host",
        "queue": "matchups",
        "submitted_at": None,
        "result": analysis_result(),
        "error": None,
        "progress": None,
    }
    out = show(tasks.status_view(info))
    assert TASK_ID[:8] in out and "analyze" in out
    for part in ("weak slot defence", "target share", "CeeDee Lamb"):
        assert part in out, out
    assert lines_fit(out)


def test_cancel_and_retry_summaries_say_what_happened() -> None:
    line = tasks.cancel_summary(
        {
            "task_id": TASK_ID,
            "terminated": True,
            "previous_state": "STARTED",
            "removed_from_queue": False,
            "revoked_by": ["w1@host"],
        }
    ).plain
    assert line == "task 3f1c9e5e terminated (was STARTED); acknowledged by w1@host"
    # The defect: retry printed a bare id.
    line = tasks.retry_summary(
        {"task_id": "aaaabbbb" + TASK_ID[8:], "retry_of": TASK_ID, "name": "fgrid.analyze_player"}
    ).plain
    assert line == ("task 3f1c9e5e queued again as aaaabbbb (analyze); follow it with `fgrid status aaaabbbb --watch`")


# --- results -------------------------------------------------------------------------------------------------------


def test_ranking_table_lists_players_in_rank_with_verdicts_and_starts() -> None:
    ranking = {
        "ranking": [
            {"rank": 1, "start": True, "analysis": analysis_result("CeeDee Lamb", "START", 64)},
            {"rank": 2, "start": False, "analysis": analysis_result("Tyreek Hill", "SIT", 38)},
        ]
    }
    out = show(analysis.ranking_table(ranking))
    assert out.index("CeeDee Lamb") < out.index("Tyreek Hill")
    assert "✔ start" in out and "SIT" in out and "9.1-27.8" in out
    assert lines_fit(out)
    assert results.result(ranking) is not None


def comparison(*rows: tuple[str, float, float, float]) -> dict[str, Any]:
    """A comparison result of (name, low, points, high) rows in rank order, the first one to start."""
    ranking = []
    for rank, (name, low, points, high) in enumerate(rows, start=1):
        a = analysis_result(name)
        a["projection"] = {"points": points, "low": low, "high": high}
        ranking.append({"rank": rank, "start": rank == 1, "analysis": a})
    return {
        "season": 2023,
        "week": 5,
        "ranking": ranking,
        "summary": "Start CeeDee Lamb (17.4) over Tyreek Hill (12.0): +5.4 projected points",
    }


def bar_of(out: str, name: str) -> str:
    """The range bar on ``name``'s line of a range chart (the run of bar characters)."""
    line = next(line for line in out.splitlines() if line.startswith(name) and "●" in line)
    return line[line.index(next(c for c in line if c in "·━●")) :].split(" ")[0]


def test_the_comparison_shows_its_advice_and_every_range_on_one_scale() -> None:
    # The defects: the summary sentence ("Start ... over ...") was only in --json, and ranges were only numbers.
    result = comparison(("CeeDee Lamb", 9.1, 17.4, 27.8), ("Tyreek Hill", 2.0, 12.0, 41.0))
    out = show(results.result(result))  # type: ignore[arg-type]
    assert "Start CeeDee Lamb (17.4) over Tyreek Hill (12.0): +5.4 projected points" in out
    assert "80% range, points (● projection)" in out and "9.1-27.8" in out and "2.0-41.0" in out
    lamb, hill = bar_of(out, "CeeDee Lamb"), bar_of(out, "Tyreek Hill")
    assert len(lamb) == len(hill) >= text.RangeChart.MIN_BAR  # one scale: same width, 0 to 45 points
    assert lamb.index("●") > hill.index("●")  # the higher projection sits further right
    assert hill.index("━") < lamb.index("━") and hill.rindex("━") > lamb.rindex("━")  # the wider range is wider
    assert any(line.split() == ["0", "45"] for line in out.splitlines())
    assert lines_fit(out)


def test_the_lineup_shows_every_range_on_one_scale_starters_then_bench() -> None:
    def player(name: str, slot: str | None, low: float, points: float, high: float) -> dict[str, Any]:
        row = {
            "player": {"name": name, "position": "WR"},
            "opponent": {"code": "SF"},
            "game": {"home": True},
            "projection": {"points": points, "low": low, "high": high},
        }
        return {**row, "slot": slot} if slot else {**row, "gap": 2.0, "replaces": "CeeDee Lamb"}

    result = {
        "season": 2023,
        "week": 5,
        "scoring": "ppr",
        "model": "engine",
        "starters": [player("CeeDee Lamb", "SUPERFLEX", 9.1, 17.4, 27.8)],
        "bench": [player("Tyreek Hill", None, 2.0, 12.0, 41.0)],
        "summary": "Start CeeDee Lamb (17.4)",
    }
    out = show(lineup.lineup_table(result))
    chart = out[out.index("80% range, points") :].splitlines()
    assert chart[2].startswith("SUPERFLEX CeeDee Lamb") and chart[3].startswith("BN        Tyreek Hill")
    assert bar_of(out, "SUPERFLEX").index("●") > bar_of(out, "BN").index("●")
    assert "Start CeeDee Lamb (17.4)" in out and lines_fit(out)


def test_the_analysis_shows_his_recent_weeks_as_a_sparkline_beside_the_projection() -> None:
    result = {**analysis_result(), "recent_points": [21.0, 16.2, 16.8, 22.3, 11.7, 25.3, 10.2, 14.8]}
    out = show(analysis.analysis_panel(result))
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "projection" in line and "17.4 PPR points" in line)
    assert "last 8 games" in lines[at + 1] and "▇▅▆▇▄█▄▅  10.2-25.3, mean 17.3" in lines[at + 1], out
    assert "last 8 games" not in show(analysis.analysis_panel(analysis_result()))  # an older result: no line
    assert lines_fit(out)


def backtest_report() -> dict[str, Any]:
    def group(rows: int, below: float, above: float) -> dict[str, Any]:
        return {
            "rows": rows,
            "mae": 5.0,
            "baseline_mae": 5.5,
            "ratio": 0.909,
            "coverage": 1 - below - above,
            "below": below,
            "above": above,
            "pairs": 10,
            "pair_accuracy": 0.7,
            "baseline_pair_accuracy": 0.68,
        }

    return {
        "season": 2023,
        "weeks": [5, 18],
        "scoring": "ppr",
        "predictor": "engine",
        "summary": {
            "by_position": {
                "QB": group(448, 0.164, 0.045),
                "WR": group(1106, 0.1, 0.1),
                "ALL": group(1554, 0.118, 0.084),
            }
        },
    }


def test_the_backtest_shows_the_calibration_of_the_80_percent_interval() -> None:
    out = show(results.result(backtest_report()))  # type: ignore[arg-type]
    assert "calibration: actual points against the 80% interval" in out
    qb = next(line for line in out.splitlines() if line.startswith("QB") and "▒" in line)
    assert qb.split()[:4] == ["QB", "16.4%", "79.1%", "4.5%"]
    bar = qb.split()[4]
    assert len(bar) == analysis.CALIBRATION_BAR_WIDTH and bar.startswith("▒" * 5 + "█") and bar.endswith("█▒")
    wr = next(line for line in out.splitlines() if line.startswith("WR") and "▒" in line).split()[4]
    assert wr == "▒" * 3 + "█" * 24 + "▒" * 3
    assert "10% below, 80% inside, 10% above" in out and lines_fit(out)
    # A summary without the shares (an older result): the accuracy table alone.
    old = backtest_report()
    for row in old["summary"]["by_position"].values():
        del row["below"], row["above"]
    assert "calibration" not in show(results.result(old))  # type: ignore[arg-type]


def colour_codes(out: str) -> list[str]:
    """The SGR parameters of ``out`` that set a colour (30-49 and 90-107: foreground, background; 38/48 extended)."""
    import re

    params = [p for seq in re.findall(r"\x1b\[([0-9;]*)m", out) for p in seq.split(";") if p]
    return [p for p in params if 30 <= int(p) <= 49 or 90 <= int(p) <= 107]


@pytest.mark.parametrize("view", ["comparison", "lineup", "analysis", "backtest"])
def test_the_charts_fit_80_columns_without_colour_or_a_terminal(view: str) -> None:
    import io

    value = {
        "comparison": comparison(("CeeDee Lamb", 9.1, 17.4, 27.8), ("Tyreek Hill", 2.0, 12.0, 41.0)),
        "analysis": {**analysis_result(), "recent_points": [3.0, 30.0]},
        "backtest": backtest_report(),
        "lineup": {
            "starters": [
                {
                    "slot": "WR",
                    "player": {"name": "CeeDee Lamb", "position": "WR"},
                    "projection": {"points": 17.4, "low": 9.1, "high": 27.8},
                }
            ],
            "bench": [],
        },
    }[view]
    shown = results.result(value)
    assert shown is not None
    chart = {"comparison": "●", "lineup": "●", "analysis": "▂█", "backtest": "▒"}[view]
    coloured = Console(width=80, force_terminal=True, color_system="standard", file=io.StringIO())
    no_color = Console(width=80, force_terminal=True, color_system="standard", no_color=True, file=io.StringIO())
    piped = Console(width=80, force_terminal=False, file=io.StringIO())  # not a terminal: plain text
    for console in (coloured, no_color, piped):
        console.print(shown)
    outs = [c.file.getvalue() for c in (coloured, no_color, piped)]  # type: ignore[attr-defined]
    assert colour_codes(outs[0])  # the charts are coloured on a colour terminal...
    assert not colour_codes(outs[1])  # ... but not with NO_COLOR
    assert "\x1b[" not in outs[2] and chart in outs[2] and lines_fit(outs[2]), outs[2]


def test_a_long_reason_wraps_under_its_own_text() -> None:
    result = analysis_result()
    long = "He has drawn 24% of DAL's targets recently (8.2 expected) and averages 17.7 PPR points (weighted)"
    result["recommendation"]["reasons"] = [long, "[red]not markup[/red]"]
    lines = show(analysis.analysis_panel(result)).splitlines()
    first = next(i for i, line in enumerate(lines) if "• He has drawn" in line)
    indent = lines[first].index("He has drawn")
    follow = lines[first + 1]
    assert follow[:indent].strip(" │") == "" and follow[indent] != " ", lines[first : first + 2]
    assert any("• [red]not markup[/red]" in line for line in lines)
    assert lines_fit("\n".join(lines))


def test_a_name_that_looks_like_markup_is_printed_as_is() -> None:
    out = show(analysis.analysis_panel(analysis_result(name="[bold]Lamb[/bold] [IR]")))
    assert "[bold]Lamb[/bold] [IR]" in out
    assert "64 / 100" in out and "away, Levi's Stadium" in out and "+1.25" in out and "• targets up" in out


@pytest.mark.parametrize(
    ("value", "view"),
    [
        ({"ranking": []}, "comparison"),
        (analysis_result(), "matchup analysis"),
        ({"grades": []}, "matchup grades"),
        ({"season": 2023, "week": 5, "slate": []}, "2023 week 5 slate"),
        (
            {
                "season": 2023,
                "weeks": [5, 6],
                "scoring": "ppr",
                "predictor": "engine",
                "summary": {
                    "by_position": {
                        "ALL": {"rows": 10, "mae": 5.0, "baseline_mae": 5.5, "ratio": 0.909, "coverage": None}
                    }
                },
            },
            "backtest 2023 weeks 5-6, PPR",
        ),
        ({"model_id": "m1", "seasons": [2019, 2021], "scoring": "ppr", "metrics": {}}, "trained model"),
    ],
)
def test_a_result_is_shown_by_its_shape(value: dict[str, Any], view: str) -> None:
    shown = results.result(value)
    assert shown is not None and view in show(shown)


@pytest.mark.parametrize("value", [None, "text", 3, {"unknown": 1}])
def test_a_result_of_no_known_shape_has_no_view(value: Any) -> None:
    assert results.result(value) is None


def test_model_table_shows_the_validation_by_position() -> None:
    groups = {
        "WR": {"rows": 1121, "mae": 5.4575, "baseline_mae": 5.7745, "ratio": 0.9451, "coverage": 0.7939},
        "ALL": {"rows": 2724, "mae": 5.4429, "baseline_mae": 5.7484, "ratio": 0.9468, "coverage": None},
    }
    model = {
        "model_id": "m1",
        "scoring": "ppr",
        "seasons": [2021, 2019, 2020],
        "metrics": {"validation": {"by_position": groups}},
    }
    out = show(ai.model_table([model], metrics=True))
    assert "2019-2021" in out and "0.947" in out and "validation by position" in out and "5.774" in out
    assert "-" in out  # no coverage


# --- monitor -------------------------------------------------------------------------------------------------------


def test_doctor_lines_mark_each_check_and_name_the_fix() -> None:
    checks = [
        {"check": "broker reachable", "ok": True, "detail": "redis://127.0.0.1:6390/0", "fix": None},
        {
            "check": "worker consuming 'matchups'",
            "ok": False,
            "detail": "no worker consumes this queue",
            "fix": "start one: `fgrid worker -Q matchups`",
            "level": "failure",
        },
    ]
    out = show(monitor.doctor_lines(checks))
    assert out.splitlines() == [
        "✔ broker reachable: redis://127.0.0.1:6390/0",
        "✘ worker consuming 'matchups': no worker consumes this queue",
        "    fix: start one: `fgrid worker -Q matchups`",
        "1 of 2 checks failed",
    ]
    assert show(monitor.doctor_lines(checks[:1])).splitlines()[-1] == "all 1 checks passed"
    warning = {"check": "ai model present", "ok": False, "detail": "no model", "fix": "train one", "level": "warning"}
    out = show(monitor.doctor_lines([checks[0], warning]))
    assert "! ai model present: no model" in out and out.splitlines()[-1] == "1 of 2 checks passed, 1 warning(s)"


def test_queues_table_shows_depths_and_a_queue_nobody_consumes() -> None:
    out = show(
        monitor.queues_table(
            [
                {"queue": "matchups", "waiting": 12, "reserved": 2, "consumers": 1},
                {"queue": "ai", "waiting": 0, "reserved": None, "consumers": 0},
            ]
        )
    )
    assert "matchups" in out and "12" in out and "█" * 24 in out and "·" * 24 in out
    assert headers_whole(out, ("queue", "waiting", "reserved", "consumers", "depth"))
    assert lines_fit(out)


def test_workers_table_fits_80_columns_with_whole_headers() -> None:
    # The defect: `work… queu… cele…`.
    row = {
        "hostname": "celery@fgrid-build-host-with-a-long-name",
        "queues": ["ai", "analysis", "matchups"],
        "all_queues": True,
        "pool": "prefork",
        "concurrency": 8,
        "active": 1,
        "processed": 12345,
        "uptime": 3700.0,
        "max_rss_kib": 204800,
    }
    out = show(monitor.workers_table([row]))
    assert headers_whole(out, ("worker", "queues", "pool", "active", "processed", "uptime", "memory")), out
    assert "celery@fgrid" in out and "all" in out and "prefork 8" in out and "200 MiB" in out
    assert lines_fit(out)


def test_the_dashboard_fits_80x24() -> None:
    recent = [
        {
            "task_id": TASK_ID,
            "name": "fgrid.ai.train",
            "summary": "2019-2023",
            "state": "PROGRESS",
            "progress": {"stage": "fit", "percent": 77.0},
            "worker": "w1@host",
            "submitted_at": NOW - 5,
        }
    ]
    recent += [dict(recent[0], task_id=f"{n:08x}" + TASK_ID[8:], state="SUCCESS", progress=None) for n in range(30)]
    snap = {
        "time": NOW,
        "queues": [{"queue": q, "waiting": 1, "reserved": 0, "consumers": 1} for q in ("matchups", "analysis", "ai")],
        "workers": [
            {
                "hostname": "w1@host",
                "queues": ["matchups"],
                "pool": "prefork",
                "concurrency": 2,
                "active": 1,
                "processed": 42,
                "uptime": 3700.0,
                "max_rss_kib": 204800,
            }
        ],
        "recent": recent,
        "failures": [dict(recent[0], state="FAILURE", error="boom")],
        "states": {"SUCCESS": 3},
    }
    console = Console(record=True, width=80, height=24, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(monitor.dashboard(snap, rate=1.5))
    out = console.export_text()
    assert len(out.splitlines()) == 24
    assert "processed 42" in out and "rate 1.50/s" in out and "1.0h" in out and "200 MiB" in out
    for headers in (
        ("queue", "waiting", "reserved", "consumers"),
        ("worker", "queues", "pool", "processed"),
        ("id", "task", "arguments", "state", "age"),
    ):
        assert headers_whole(out, headers), out
    assert "PROGRESS 77%" in out and TASK_ID[:8] in out and "q quit" in out
    assert lines_fit(out)


# --- data ----------------------------------------------------------------------------------------------------------


def test_settings_and_data_views() -> None:
    out = show(data.settings_table([{"name": "broker_url", "value": "redis://:****@h:6379/0", "source": "flag"}]))
    assert "redis://:****@h:6379/0" in out and "flag" in out
    out = show(
        data.data_info_table(
            {
                "weeks": [{"season": 2023, "min_week": 1, "max_week": 18, "rows": 5405}],
                "rows": 5405,
                "players": 600,
                "games": 272,
                "skipped": {"bad": 2},
            }
        )
    )
    assert "1-18" in out and "5,405 rows, 600 players, 272 games" in out and "2 rows skipped" in out
    lines = data.sync_summary(
        {"rows": 27422, "seasons": [{"season": 2019}, {"season": 2023}], "skipped": {"x": 1}}, "/data/nfl"
    )  # type: ignore[arg-type]
    assert [line.plain for line in lines] == [
        "synced 27,422 rows, seasons 2019-2023 into /data/nfl",
        "skipped rows: x: 1",
    ]
    assert data.sync_summary({}, "/d")[0].plain == "synced 0 rows, seasons none into /d"  # type: ignore[arg-type]


# --- text ----------------------------------------------------------------------------------------------------------


def test_text_helpers() -> None:
    assert [text.seconds(v) for v in (None, 0.004, 0.4242, 12.4, 180, 7200)] == [
        "-",
        "4ms",
        "0.42s",
        "12s",
        "3.0m",
        "2.0h",
    ]
    assert text.short_id(TASK_ID) == "3f1c9e5e" and text.task_label("fgrid.rank_comparison") == "compare"
    assert text.task_label("fgrid.ai.train") == "train" and text.task_label(None) == "-"
    assert text.progress_text({"stage": "fit", "percent": 50}, bar_width=4).plain == "fit ██░░ 50%"
    assert text.progress_text({"done": 3, "total": 8, "percent": None}).plain == "3/8 parts"
    assert text.sparkline([0, 5, 10, None]).plain == "▁▅█ "
    assert text.range_bar(10, 15, 20, (0, 20), width=5).plain == "··━●━"
    assert text.RangeChart([(text.plain("x"), {"points": 5, "low": 1, "high": 41.2})]).scale() == (0.0, 45.0)
    assert [text.ago(t, now=NOW) for t in (None, NOW - 3, NOW - 240, NOW - 7200)] == ["-", "3s", "4m", "2h"]
    assert text.memory(204800) == "200 MiB" and text.memory(None) == "-"
    assert text.number(0.94678) == "0.947" and text.number(None) == "-" and text.number(2, 1) == "2.0"
    assert text.span([2021, 2019]) == "2019-2021" and text.span([]) == "-"
    assert text.points_range({"low": 9.14, "high": 27.8}) == "9.1-27.8"
    assert text.compact_json({"a": 1}) == '{"a": 1}' and len(text.compact_json(list(range(999)))) == 400
    assert text.plain("[red]x").plain == "[red]x" and text.plain(None).plain == ""
    assert text.state_text("FAILURE").style == "red" and text.verdict_text("SIT").style == "bold red"
