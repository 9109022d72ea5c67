"""The command line's behaviour around tasks, in-process on the embedded broker and file result store (no worker
needed): short ids and prefixes, progress in the status document, the task list, waits that ride out an outage and
say what they wait for, Ctrl-C, help and the small untruths of issue #14."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fgrid.cli import app, main
from fgrid.errors import InputError, UnavailableError, UnknownTaskError

runner = CliRunner()
ID_A = "3f1c9e5e-8d1b-8c1e-9a53-2b8f0c6d7e21"
ID_B = "3f1c9e5e-0000-8c1e-9a53-2b8f0c6d7e22"
ID_C = "3f1d0000-0000-8c1e-9a53-2b8f0c6d7e23"


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings of the embedded default in a fresh data folder (the environment's broker variables cleared)."""
    from fgrid.config import Settings

    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FGRID_DATA_DIR", str(tmp_path))
    return Settings.from_env({"FGRID_DATA_DIR": str(tmp_path)})


def record(settings: Any, task_id: str, name: str = "fgrid.analyze_player", **info: Any) -> None:
    from fgrid.app import get_app
    from fgrid.recovery import ledger

    summary = info.pop("summary", "x")
    ledger.TaskLedger(get_app(settings)).record(task_id, ledger.task_info(name, "matchups", summary, **info))


# --- short ids ---------------------------------------------------------------------------------------------------


def test_a_unique_prefix_names_a_task_and_an_ambiguous_one_lists_the_matches(embedded) -> None:
    from fgrid.service import lifecycle

    for task_id in (ID_A, ID_B, ID_C):
        record(embedded, task_id)
    assert lifecycle.resolve_id(embedded, "3f1d") == ID_C
    assert lifecycle.resolve_id(embedded, "3F1C9E5E-8") == ID_A
    assert lifecycle.resolve_id(embedded, ID_B) == ID_B
    with pytest.raises(InputError) as ambiguous:
        lifecycle.resolve_id(embedded, "3f1c9e5e")
    assert ID_A in str(ambiguous.value) and ID_B in str(ambiguous.value)
    with pytest.raises(UnknownTaskError):
        lifecycle.resolve_id(embedded, "abcdef12")
    result = runner.invoke(app, ["status", "3f1c"])
    assert isinstance(result.exception, InputError) and "ambiguous" in str(result.exception)
    assert result.exception.exit_code == 2
    assert runner.invoke(app, ["status", "3f1d", "--json"]).exit_code == 0


# --- progress ----------------------------------------------------------------------------------------------------


def test_the_status_document_carries_a_trainings_progress(embedded) -> None:
    # The defects: `status --json` said "result": null during PROGRESS; --watch showed PROGRESS 0/0.
    from fgrid.app import get_app

    record(embedded, ID_A, name="fgrid.ai.train")
    get_app(embedded).backend.store_result(ID_A, {"stage": "fit", "percent": 77}, "PROGRESS")
    result = runner.invoke(app, ["status", ID_A[:8], "--json"])
    doc = json.loads(result.stdout)
    assert doc["status"] == "PROGRESS" and doc["result"] is None
    assert doc["progress"] == {"stage": "fit", "done": None, "total": None, "percent": 77.0}
    human = runner.invoke(app, ["status", ID_A[:8]], env={"COLUMNS": "80"}).stdout
    assert "fit" in human and "77%" in human and "0/0" not in human and "train" in human


# --- the task list -----------------------------------------------------------------------------------------------


def test_the_task_list_is_exact_names_the_comparison_and_leaves_its_parts_out(embedded) -> None:
    from fgrid.recovery import ledger
    from fgrid.service import operations

    for n in range(24):
        record(embedded, ledger.new_task_id(), summary=f"task {n}")
        record(embedded, ledger.new_task_id(), name="celery.chord_unlock")  # recovery's, never listed
    compare_id = ledger.new_task_id()
    record(embedded, compare_id, name="fgrid.compare_players", summary="Tyreek Hill, Davante Adams, 2023 w5")
    record(embedded, ledger.new_task_id(), root_id=compare_id)  # one of its parts
    rows = operations.list_tasks(embedded, limit=20)
    assert len(rows) == 20  # the defect: --limit 20 showed 18 rows
    assert rows[0]["task_id"] == compare_id and rows[0]["name"] == "fgrid.compare_players"
    row = operations.task_row(
        {"id": compare_id, "name": "fgrid.compare_players", "submitted_at": 100.0},
        {"status": "SUCCESS", "name": "fgrid.rank_comparison", "date_done": "1970-01-01T00:01:50+00:00"},
        now=200.0,
    )
    assert row["name"] == "fgrid.compare_players"  # the defect: listed as fgrid.rank_comparison
    assert operations.list_tasks(embedded, state="revoked", limit=5) == []


def test_arguments_are_summarised_the_same_way_for_every_task_with_names() -> None:
    from fgrid.service.lifecycle import summarize

    names = {"00-0033040": "Tyreek Hill", "00-0031408": "Davante Adams"}
    assert (
        summarize(
            {"player": "00-0033040", "opponent": "SF", "location": None, "season": 2023, "week": 5, "scoring": "ppr"},
            names,
        )
        == "Tyreek Hill vs SF, 2023 w5"
    )
    requests = [
        {"player": "00-0033040", "opponent": "SF", "season": 2023, "week": 5, "scoring": "half"},
        {"player": "00-0031408", "opponent": "KC", "season": 2023, "week": 5, "scoring": "half"},
    ]
    expected = "Tyreek Hill, Davante Adams, 2023 w5, scoring=half, slots=1"
    assert summarize({"requests": requests, "slots": 1}, names) == expected
    assert summarize({"seasons": [2019, 2020, 2021], "scoring": "ppr"}) == "2019-2021"
    # A location is stored as its stadium's schedules id, and shown by the stadium's name.
    located = {"player": "00-0033040", "opponent": "SF", "location": "SFO01", "season": 2023, "week": 5}
    assert summarize(located, names) == "Tyreek Hill vs SF, 2023 w5, at Levi's Stadium"
    assert summarize({**located, "location": "XXX99"}, names) == "Tyreek Hill vs SF, 2023 w5, at XXX99"


# --- waiting -----------------------------------------------------------------------------------------------------


def test_a_wait_rides_out_a_short_outage_and_says_so(embedded, monkeypatch) -> None:
    from fgrid.service import lifecycle

    answers: list[Any] = [
        UnavailableError("cannot reach the result store"),
        UnavailableError("still down"),
        {"task_id": ID_A, "state": "SUCCESS", "result": 1},
    ]

    def task_state(settings: Any, task_id: str, meta: Any = None) -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    monkeypatch.setattr(lifecycle, "task_state", task_state)
    monkeypatch.setattr(lifecycle.time, "sleep", lambda s: None)
    notices: list[str] = []
    info = lifecycle.wait(embedded, ID_A, on_notice=notices.append)
    assert info["state"] == "SUCCESS"
    assert notices[0].startswith("cannot reach the result store; retrying for up to 30 s")
    assert notices[1] == "reconnected; still following the task"

    def down(settings: Any, task_id: str, meta: Any = None) -> dict[str, Any]:
        raise UnavailableError("down")

    monkeypatch.setattr(lifecycle, "task_state", down)
    with pytest.raises(UnavailableError):
        lifecycle.wait(embedded, ID_A, outage_grace=0.05)


def test_a_wait_says_once_that_no_worker_consumes_the_queue(embedded, monkeypatch) -> None:
    from fgrid.cli.live import Watchman
    from fgrid.service import monitor

    monkeypatch.setattr(monitor, "consumers", lambda settings, queue: [])
    said: list[str] = []
    watchman = Watchman(embedded, said.append)
    for elapsed in (0.5, 3.5, 4.5, 9.0):
        watchman.update({"state": "PENDING", "queue": "ai", "elapsed": elapsed})
    assert said == [
        ("no worker consumes the 'ai' queue: the task waits until one does; start one with `fgrid worker -Q ai`")
    ]


def test_ctrl_c_during_a_wait_leaves_the_task_running_and_says_how_to_find_it(embedded, capsys) -> None:
    from fgrid.cli.live import follow_or_leave

    def interrupted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as exit_:
        follow_or_leave(embedded, ID_A, None, follow_with=interrupted)
    assert exit_.value.exit_code == 130
    assert "task 3f1c9e5e continues: fgrid status 3f1c9e5e" in capsys.readouterr().err


# --- help and habits ---------------------------------------------------------------------------------------------


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["fgrid", *args])
    monkeypatch.setattr(sys.modules["__main__"], "__package__", None, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0  # type: ignore[assignment]
    out, err = capsys.readouterr()
    return int(code), out, err


def test_bare_fgrid_shows_first_steps_and_exits_0(monkeypatch, capsys) -> None:
    code, out, err = run_main(monkeypatch, capsys)
    assert code == 0 and "First steps" in out and "fgrid data sync" in out and not err


def test_help_is_grouped_has_h_and_version_and_plain_placeholders(monkeypatch, capsys) -> None:
    code, out, _ = run_main(monkeypatch, capsys, "-h")
    assert code == 0
    for panel in ("Your week", "AI", "Tasks", "Operations", "Data", "Server", "--install-completion"):
        assert panel in out
    code, out, _ = run_main(monkeypatch, capsys, "--version")
    assert code == 0 and out.startswith("fgrid ")
    for command in ("compare", "tasks", "status", "worker", "doctor", "purge"):
        code, out, _ = run_main(monkeypatch, capsys, command, "-h")
        assert code == 0 and "<list" not in out and "<bool>" not in out and "<str>" not in out, out
        assert all(len(line) <= 80 for line in out.splitlines())
    code, out, _ = run_main(monkeypatch, capsys, "analyze-player", "-h")
    assert "[ppr|half|standard]" in out  # the choices, not <str>
    code, out, _ = run_main(monkeypatch, capsys, "status", "-h")
    assert "Example: fgrid status" in out


def test_serve_without_the_api_extra_names_it(monkeypatch, capsys, embedded) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    code, _, err = run_main(monkeypatch, capsys, "serve")
    assert code == 1 and "pip install '.[api]'" in err and "unexpected" not in err


def test_data_sync_from_a_folder_without_data_is_a_usage_error(tmp_path, monkeypatch, capsys, embedded) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run_main(monkeypatch, capsys, "data", "sync", "--from", str(tmp_path / "empty"))
    assert code == 2 and "no nflverse data files" in err


def test_worker_stop_names_one_worker(monkeypatch, capsys, embedded) -> None:
    code, _, err = run_main(monkeypatch, capsys, "worker", "--stop", "w9")
    assert code == 2 and "no detached worker named 'w9'" in err
    code, _, err = run_main(monkeypatch, capsys, "worker", "--stop")
    assert code == 0 and "no detached worker running" in err


def test_doctor_warns_without_failing_unless_strict(monkeypatch, capsys, embedded) -> None:
    from fgrid.service import health

    checks = [
        {"check": "broker reachable", "ok": True, "detail": "x", "fix": None, "level": None},
        {"check": "ai model present", "ok": False, "detail": "no model", "fix": "fgrid train", "level": "warning"},
    ]
    monkeypatch.setattr(health, "doctor", lambda settings: [dict(c) for c in checks])
    code, out, _ = run_main(monkeypatch, capsys, "doctor")
    assert code == 0 and "1 warning" in out
    code, _, err = run_main(monkeypatch, capsys, "doctor", "--strict")
    assert code == 1 and "fgrid train" in err
    code, out, _ = run_main(monkeypatch, capsys, "doctor", "--json")
    assert code == 0 and json.loads(out)["ok"] is True and json.loads(out)["warnings"] == 1


def test_a_fresh_setups_doctor_levels(embedded) -> None:
    # No model and no worker on `ai`: warnings; no worker on matchups: a failure.
    from fgrid.service import health

    levels = {c["check"]: c["level"] for c in health.doctor(embedded, timeout=0.2)}
    assert levels["ai model present"] == "warning" and levels["worker consuming 'ai'"] == "warning"
    assert levels["worker consuming 'matchups'"] == "failure"
