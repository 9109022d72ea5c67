"""The CLI's parsing, help, config and errors, with Typer's runner (no broker needed: all fail before queuing)."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from fgrid.cli import app, main
from fgrid.cli.options import parse_seasons, parse_weeks
from fgrid.errors import InputError
from tests.support.processes import base_env, run_fgrid

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("analyze-player", "compare", "status", "worker", "config", "data"):
        assert command in result.output


def test_config_shows_sources_and_masks_passwords(tmp_path):
    env = {"CELERY_BROKER_URL": "redis://:s3cret-pw@127.0.0.1:6390/0", "FGRID_DATA_DIR": str(tmp_path)}
    result = runner.invoke(app, ["config", "--json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["broker_url"] == {"value": "redis://:****@127.0.0.1:6390/0", "source": "env:CELERY_BROKER_URL"}
    assert doc["result_backend"]["source"] == "same as broker"
    assert doc["data_dir"] == {"value": str(tmp_path), "source": "env:FGRID_DATA_DIR"}
    assert "s3cret-pw" not in result.output


def test_config_embedded_default(tmp_path):
    result = runner.invoke(
        app,
        ["config", "--json"],
        env={"FGRID_DATA_DIR": str(tmp_path), "CELERY_BROKER_URL": "", "CELERY_RESULT_BACKEND": "", "REDIS_URL": ""},
    )
    doc = json.loads(result.stdout)
    assert doc["broker_url"]["value"] == "filesystem://"
    assert doc["result_backend"]["value"] == f"file://{tmp_path}/results"
    assert doc["embedded"]["value"] == "true"


def test_redis_url_serves_both_when_the_celery_variables_are_unset(tmp_path):
    env = {
        "REDIS_URL": "redis://127.0.0.1:6391/2",
        "FGRID_DATA_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "",
        "CELERY_RESULT_BACKEND": "",
    }
    doc = json.loads(runner.invoke(app, ["config", "--json"], env=env).stdout)
    assert doc["broker_url"] == {"value": "redis://127.0.0.1:6391/2", "source": "env:REDIS_URL"}
    assert doc["result_backend"] == {"value": "redis://127.0.0.1:6391/2", "source": "env:REDIS_URL"}


def test_flag_beats_environment(tmp_path):
    other = tmp_path / "other"
    result = runner.invoke(app, ["config", "--json", "--data-dir", str(other)], env={"FGRID_DATA_DIR": str(tmp_path)})
    assert json.loads(result.stdout)["data_dir"] == {"value": str(other), "source": "flag"}


@pytest.mark.parametrize(
    ("text", "expected"), [("2019-2021", [2019, 2020, 2021]), ("2023", [2023]), ("2022,2019", [2019, 2022])]
)
def test_parse_seasons(text, expected):
    assert parse_seasons(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1900", "2019-", "2030-2020,x"])
def test_parse_seasons_rejects(text):
    with pytest.raises(InputError):
        parse_seasons(text)


def test_parse_weeks():
    assert parse_weeks("5-18") == (5, 18)
    assert parse_weeks("7") == (7, 7)
    for bad in ("0-3", "18-5", "x", "5-30"):
        with pytest.raises(InputError):
            parse_weeks(bad)


def test_worker_rejects_an_unknown_queue(tmp_path):
    result = runner.invoke(app, ["worker", "-Q", "matchups,bogus"], env={"FGRID_DATA_DIR": str(tmp_path)})
    assert result.exit_code != 0


@pytest.mark.parametrize(("flags", "events"), [([], False), (["-E"], True), (["--task-events"], True)])
def test_worker_task_events_are_off_unless_asked(tmp_path, monkeypatch, flags, events):
    # Celery's default: off (they cost each task three publishes); Flower turns them on, or `fgrid worker -E`.
    from fgrid.app.conf import celery_config
    from fgrid.config import Settings
    from fgrid.service import workers

    seen: list[list[str]] = []
    monkeypatch.setattr(workers, "run", lambda settings, argv: seen.append(argv))
    result = runner.invoke(app, ["worker", *flags], env={"FGRID_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert ("--task-events" in seen[0]) is events
    assert celery_config(Settings.from_env({"FGRID_DATA_DIR": str(tmp_path)}))["worker_send_task_events"] is False


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """``fgrid ARGS`` through :func:`main`, the way the console script runs it: (exit code, stdout, stderr)."""
    monkeypatch.setattr("sys.argv", ["fgrid", *args])
    # Click names the program after `python -m`'s package when there is one: under pytest, that is pytest.
    monkeypatch.setattr(sys.modules["__main__"], "__package__", None, raising=False)
    with pytest.raises(SystemExit) as exit_:
        main()
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_a_mistyped_command_is_one_line_naming_the_fix(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "statsu")
    assert code == 2 and not out
    assert err == "error: No such command 'statsu'. Did you mean 'status'? (see `fgrid --help`)\n"


def test_a_bare_group_prints_its_help_on_stdout(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "model")
    assert code == 2 and not err
    assert "Usage: fgrid model" in out and "list" in out and "show" in out


def test_an_input_error_is_one_line_and_its_exit_code(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FGRID_DATA_DIR", str(tmp_path))
    code, out, err = run_main(monkeypatch, capsys, "purge", "bogus")
    assert (code, out) == (InputError.exit_code, "")
    assert err == "error: unknown queue 'bogus'; queues are matchups, analysis, ai\n"


def test_watch_and_json_cannot_be_combined(tmp_path):
    result = runner.invoke(app, ["tasks", "--watch", "--json"], env={"FGRID_DATA_DIR": str(tmp_path)})
    assert isinstance(result.exception, InputError) and "--watch and --json" in str(result.exception)


def test_the_default_compare_slots_are_the_same_in_the_help_the_api_schema_and_the_code(tmp_path):
    # Issue #14: the help and the API schema must say what rank() does when no slots are given.
    import typer

    from fgrid import config
    from fgrid.analysis import compare
    from fgrid.api import create_api

    def analysis(name: str, points: float) -> dict:
        return {
            "player": {"name": name},
            "opponent": {"code": "SF"},
            "projection": {"points": points, "low": 1.0, "high": 30.0},
        }

    ranked = compare.rank([analysis("A", 12.0), analysis("B", 15.0), analysis("C", 9.0)], slots=None)
    assert ranked["slots"] == len(ranked["start"]) == config.DEFAULT_COMPARE_SLOTS == 1
    said = f"(default: {config.DEFAULT_COMPARE_SLOTS})"
    slots = next(
        p
        for p in typer.main.get_command(app).commands["compare"].params  # type: ignore[attr-defined]
        if p.name == "slots"
    )
    assert slots.help.endswith(said + ".")
    shown = runner.invoke(app, ["compare", "--help"], env={"COLUMNS": "200", "FGRID_DATA_DIR": str(tmp_path)})
    assert shown.exit_code == 0 and f"Players to start, at most the number compared {said}" in shown.output
    schema = create_api(env={"FGRID_DATA_DIR": str(tmp_path)}).openapi()["components"]["schemas"]["CompareRequest"]
    assert schema["properties"]["slots"]["description"].endswith(said + ".")


def test_every_command_naming_opponents_takes_dash_o():
    runner = CliRunner()
    for command in (["analyze-player"], ["compare"], ["predict"], ["grade"]):
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0 and "-o" in result.output, (command, result.output)


def test_detach_with_an_unreachable_broker_exits_3_and_leaves_no_worker(tmp_path):
    env = base_env(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    result = run_fgrid(["worker", "--detach"], env, timeout=120)
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1 and "cannot reach the broker" in result.stderr
    assert "started" not in result.stdout + result.stderr
    assert not list((tmp_path / "run").glob("worker-*.pid"))
