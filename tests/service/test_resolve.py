"""Requests checked before anything is queued (fgrid/service/resolve.py), shared by the CLI and the HTTP API: the
same player twice in a comparison, grades or a lineup is refused with one sentence naming him."""

from __future__ import annotations

from pathlib import Path

import pytest

from fgrid.config import Settings
from fgrid.errors import InputError
from fgrid.service import resolve
from tests.support.processes import base_env, run_fgrid

LAMB, LAMB_ID = "CeeDee Lamb", "00-0036358"
WEEK = ["--season", "2023", "--week", "5"]


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings.from_env({}, data_dir=data_dir)


def queued_files(settings: Settings) -> list[Path]:
    """Every message file of the embedded broker (none: nothing was queued)."""
    return [p for p in settings.broker_dir.rglob("*") if p.is_file()] if settings.broker_dir.exists() else []


@pytest.mark.parametrize(
    "players",
    [
        [LAMB, "Tyreek Hill", LAMB],  # the same name twice
        [LAMB, "Tyreek Hill", LAMB_ID],  # a name and his gsis id
        ["ceedee lamb ", LAMB],  # the same name, spelled differently
    ],
)
def test_a_comparison_or_grades_of_the_same_player_twice_are_refused(settings: Settings, players: list[str]) -> None:
    # Grades (CLI and API) resolve through compare_request too.
    with pytest.raises(InputError) as refused:
        resolve.compare_request(settings, players, None, 2023, 5)
    message = str(refused.value)
    assert message.startswith("CeeDee Lamb is named twice") and message.endswith("give each player once")
    assert message.count(".") == 0 and "\n" not in message  # one sentence
    if players[-1] == LAMB_ID:
        assert f"(as 'CeeDee Lamb' and '{LAMB_ID}')" in message
    assert not queued_files(settings)


def test_a_lineup_with_the_same_player_twice_is_refused(settings: Settings) -> None:
    with pytest.raises(InputError, match=f"^CeeDee Lamb is on the roster twice \\(as 'CeeDee Lamb' and '{LAMB_ID}'\\)"):
        resolve.lineup_request(settings, ["Josh Allen", LAMB, "Tyreek Hill", LAMB_ID], season=2023, week=5)


def test_different_players_still_pass(settings: Settings) -> None:
    kwargs = resolve.compare_request(settings, [LAMB, "Tyreek Hill"], None, 2023, 5)
    assert [r["player"] for r in kwargs["requests"]] == [LAMB_ID, "00-0033040"]


def test_the_cli_refuses_a_duplicate_with_exit_2_and_queues_nothing(data_dir: Path, settings: Settings) -> None:
    env = base_env(data_dir)
    for args in (["compare", LAMB, LAMB_ID, *WEEK], ["lineup", "Josh Allen", LAMB, LAMB, *WEEK]):
        result = run_fgrid(args, env)
        assert result.returncode == 2 and not result.stdout, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: CeeDee Lamb is ") and "twice" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not queued_files(settings)


def test_the_api_refuses_a_duplicate_with_400_and_queues_nothing(data_dir: Path, settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from fgrid.api import create_api

    http = TestClient(create_api(env=base_env(data_dir)))  # no lifespan: nothing warmed, nothing started
    refused = http.post("/api/tasks/compare-players", json={"player_ids": [LAMB, LAMB_ID], "season": 2023, "week": 5})
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"].startswith("CeeDee Lamb is named twice")
    refused = http.post("/api/tasks/lineup", json={"player_ids": ["Josh Allen", LAMB, LAMB], "season": 2023, "week": 5})
    assert refused.status_code == 400 and "CeeDee Lamb is on the roster twice" in refused.json()["detail"]
    assert not queued_files(settings)
