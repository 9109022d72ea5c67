"""Issue #13 for real: every answer names its week, bad games are refused before anything is queued, and a lineup
fills its slots; a real worker on a private redis-server and on the embedded default, the HTTP API on Redis."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.processes import base_env, redis_env, run_fgrid, run_json

pytestmark = pytest.mark.e2e

ROSTER = [
    "Josh Allen",
    "Patrick Mahomes",
    "Christian McCaffrey",
    "Bijan Robinson",
    "Saquon Barkley",
    "Tony Pollard",
    "Derrick Henry",
    "CeeDee Lamb",
    "Tyreek Hill",
    "Justin Jefferson",
    "Amon-Ra St. Brown",
    "Mike Evans",
    "Puka Nacua",
    "Travis Kelce",
    "Sam LaPorta",
]
QUEUES = ("matchups", "analysis", "ai")


def depths(redis) -> dict[str, int]:
    return {q: redis.llen(q) for q in QUEUES}


def check_lineup(doc: dict, week: tuple[int, int]) -> None:
    assert doc["status"] == "SUCCESS", doc
    result = doc["result"]
    assert (result["season"], result["week"]) == week
    assert [s["slot"] for s in result["starters"]] == ["QB", "RB", "RB", "WR", "WR", "TE", "FLEX"]
    assert len(result["starters"]) + len(result["bench"]) + len(result["out"]) == len(ROSTER)
    assert all(b["gap"] is None or b["gap"] >= 0 for b in result["bench"])
    for s in result["starters"]:
        assert s["game"]["kickoff"] and s["game"]["home"] in (True, False)


def test_your_week_on_redis_cli_and_api(data_dir, redis_server, start_worker, serve):
    env = redis_env(data_dir, redis_server)
    redis = redis_server.client()
    start_worker(env)
    before = depths(redis)
    # Refused before anything is queued: a real player and team, but no such game.
    bad = [
        ["analyze-player", "Tyreek Hill", "-o", "NYG"],
        ["compare", "CeeDee Lamb", "Tyreek Hill", "Justin Jefferson", "--opponents", "SF,LAR,SEA"],
        ["analyze-player", "CeeDee Lamb", "-o", "SF", "--season", "2024", "--week", "1"],
        ["lineup", "CeeDee Lamb", "--season", "2023"],
    ]
    for args in bad:
        result = run_fgrid(args, env)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1, result.stderr
        assert "next games: week" in result.stderr or "give a week" in result.stderr, result.stderr
    assert "MIA does not play NYG in 2024" in run_fgrid(bad[0], env).stderr
    assert depths(redis) == before and not redis.keys("fgrid:task:*")

    # The opponent inferred from the schedule; one week for everyone, named in the result.
    compared = run_json(
        [
            "compare",
            "CeeDee Lamb",
            "Tyreek Hill",
            "--season",
            "2023",
            "--week",
            "5",
            "--wait",
            "--json",
            "--timeout",
            "60",
        ],
        env,
    )
    assert compared["status"] == "SUCCESS", compared
    assert (compared["result"]["season"], compared["result"]["week"]) == (2023, 5)
    assert {r["opponent"]["code"] for r in compared["result"]["ranking"]} == {"SF", "NYG"}
    # The default week is the one after the data, and the CLI says so.
    shown = run_fgrid(["analyze-player", "Tyreek Hill", "--wait", "--timeout", "60"], env)
    assert shown.returncode == 0, shown.stderr
    assert "2024 week 1, the first week after your data (through 2023 week 18)" in shown.stderr
    # What-if: a hypothetical game, marked so.
    what_if = run_json(
        ["analyze-player", "Tyreek Hill", "-o", "NYG", "--what-if", "--wait", "--json", "--timeout", "60"], env
    )
    assert what_if["result"]["hypothetical"] is True and what_if["result"]["game"]["week"] == 1

    lineup = run_json(
        ["lineup", *ROSTER, "--season", "2023", "--week", "5", "--wait", "--json", "--timeout", "90"], env
    )
    check_lineup(lineup, (2023, 5))
    assert [o["player"]["name"] for o in lineup["result"]["out"]] == ["Mike Evans"]  # TB's bye

    server = serve(env)
    with server.client() as http:
        before = depths(redis)
        for path, body in [
            ("/api/tasks/analyze-player", {"player_id": "Tyreek Hill", "opponent_id": "NYG"}),
            (
                "/api/tasks/compare-players",
                {"player_ids": ["CeeDee Lamb", "Tyreek Hill"], "opponent_ids": ["SF", "NYG"]},
            ),
            ("/api/tasks/lineup", {"player_ids": ["CeeDee Lamb"], "season": 2023}),
            ("/api/tasks/grade", {"player_ids": ["CeeDee Lamb", "Tyreek Hill"], "opponent_ids": ["SF", "NYG"]}),
            ("/api/tasks/predict", {"player_id": "Tyreek Hill", "opponent_id": "NYG"}),
        ]:
            response = http.post(path, json=body)
            # 409 for the ai endpoints: no trained model here (checked first); nothing is queued either way.
            assert response.status_code in (400, 409), (path, response.text)
        assert (
            http.post("/api/tasks/analyze-player", json={"player_id": "Tyreek Hill", "opponent_id": "NYG"})
            .json()["detail"]
            .startswith("MIA does not play NYG in 2024")
        )
        assert depths(redis) == before
        queued = http.post("/api/tasks/lineup", json={"player_ids": ROSTER, "season": 2023, "week": 5})
        assert queued.status_code == 202, queued.text
        deadline = time.monotonic() + 90
        while True:
            doc = http.get(f"/api/tasks/status/{queued.json()['task_id']}").json()
            if doc["ready"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check_lineup(doc, (2023, 5))
        assert doc["result"] == lineup["result"]


def test_lineup_on_the_embedded_default(data_dir, start_worker, tmp_path):
    env = base_env(data_dir)
    start_worker(env)
    roster = tmp_path / "roster.txt"
    roster.write_text("# my team\n" + "\n".join(ROSTER) + "\n", encoding="utf-8")
    result = run_fgrid(["lineup", "--file", str(roster), "--wait", "--timeout", "90"], {**env, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert "2024 week 1, the first week after your data" in result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    assert "lineup 2024 week 1" in result.stdout and "FLEX" in result.stdout and "bench" in result.stdout
    doc = run_json(["lineup", "--file", str(roster), "--wait", "--json", "--timeout", "90"], env)
    check_lineup(doc, (2024, 1))
    json.dumps(doc)
