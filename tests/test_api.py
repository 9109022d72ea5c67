"""The HTTP API for real: `fgrid serve` (or uvicorn) as a subprocess on loopback, a private redis-server, a real
`fgrid worker`, the real NFL data; httpx as the client."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from tests.support import REPO
from tests.support.processes import base_env, redis_env, run_fgrid
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

LAMB = "CeeDee Lamb"
ANALYZE = "/api/tasks/analyze-player"
COMPARE = "/api/tasks/compare-players"
PREDICT = "/api/tasks/predict"
GRADE = "/api/tasks/grade"
STATUS = "/api/tasks/status/"
HEALTH = "/api/health"
LAMB_AT_SF = {"player_id": LAMB, "opponent_id": "SF", "location": "Santa Clara, CA", "season": 2023, "week": 5}
NEVER_SUBMITTED = "00000000-0000-4000-8000-000000000000"


def poll(http: httpx.Client, task_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(STATUS + task_id)
        assert response.status_code == 200, response.text
        doc = response.json()
        if doc["ready"] or time.monotonic() > deadline:
            return doc
        time.sleep(0.1)


def field_names(response: httpx.Response) -> set[str]:
    """The fields a 422 names (the last part of each error's location)."""
    assert response.status_code == 422, response.text
    return {str(error["loc"][-1]) for error in response.json()["detail"]}


def queued_anything(redis) -> bool:
    return any(redis.llen(q) for q in ("matchups", "analysis", "ai")) or bool(redis.keys("fgrid:task:*"))


def test_seed_endpoints_and_every_error_code(data_dir, redis_server, start_worker, serve):
    env = redis_env(data_dir, redis_server)
    server = serve(env)
    redis = redis_server.client()
    with server.client() as http:
        # A malformed body: 422 naming the field.
        assert field_names(http.post(ANALYZE, json={"opponent_id": "SF"})) == {"player_id"}
        assert field_names(http.post(ANALYZE, json={**LAMB_AT_SF, "season": "twenty"})) == {"season"}
        assert field_names(http.post(ANALYZE, json={**LAMB_AT_SF, "seasn": 2023})) == {"seasn"}
        assert field_names(http.post(COMPARE, json={"player_ids": LAMB, "opponent_ids": ["SF"]})) == {"player_ids"}
        assert http.post(ANALYZE, content=b"{not json", headers={"content-type": "application/json"}).status_code == 422

        # Unknown player, team or location, a value out of range: 400 with the CLI's message, nothing queued.
        unknown = http.post(ANALYZE, json={**LAMB_AT_SF, "player_id": "Zzyzx Quorble"})
        assert unknown.status_code == 400
        cli = run_fgrid(
            [
                "analyze-player",
                "Zzyzx Quorble",
                "--opponent",
                "SF",
                "--location",
                "Santa Clara, CA",
                "--season",
                "2023",
                "--week",
                "5",
            ],
            env,
        )
        assert cli.returncode == 2
        assert cli.stderr.strip() == f"error: {unknown.json()['detail']}"
        team = http.post(ANALYZE, json={**LAMB_AT_SF, "opponent_id": "XYZ"})
        assert team.status_code == 400 and "unknown team 'XYZ'" in team.json()["detail"]
        place = http.post(ANALYZE, json={**LAMB_AT_SF, "location": "Atlantis, ZZ"})
        assert place.status_code == 400 and "Atlantis, ZZ" in place.json()["detail"]
        week = http.post(ANALYZE, json={**LAMB_AT_SF, "week": 30})
        assert week.status_code == 400 and "week 30 is out of range" in week.json()["detail"]
        mixed = http.post(
            COMPARE, json={"player_ids": [LAMB, "Zzyzx Quorble"], "opponent_ids": ["SF"], "season": 2023, "week": 5}
        )
        assert mixed.status_code == 400 and "Zzyzx Quorble" in mixed.json()["detail"]
        # No trained model: predict and grade are refused with the CLI's sentence (409: the server's state, not the
        # request, is wrong), before anything is queued.
        no_model = run_fgrid(["predict", LAMB, "--opponent", "SF", "--season", "2023", "--week", "5"], env)
        assert no_model.returncode == 2 and "run `fgrid train` first" in no_model.stderr
        for path, body in (
            (PREDICT, LAMB_AT_SF),
            (PREDICT, {**LAMB_AT_SF, "opponent_id": "XYZ"}),
            (GRADE, {"player_ids": [LAMB], "opponent_ids": ["SF"]}),
        ):
            refused = http.post(path, json=body)
            assert refused.status_code == 409, refused.text
            assert no_model.stderr.strip() == f"error: {refused.json()['detail']}"
        assert not queued_anything(redis)

        # Task ids: never submitted -> 404, malformed -> 400.
        missing = http.get(STATUS + NEVER_SUBMITTED)
        assert missing.status_code == 404 and "unknown task id" in missing.json()["detail"]
        malformed = http.get(STATUS + "not-a-task-id")
        assert malformed.status_code == 400 and "malformed task id" in malformed.json()["detail"]

        # Bodies over 64 KiB: 413, whether the Content-Length says so or a chunked body runs over.
        big = http.post(ANALYZE, json={**LAMB_AT_SF, "player_id": "x" * 70_000})
        assert big.status_code == 413 and "too large" in big.json()["detail"]
        chunks = (b'{"player_id": "' + b"y" * 10_000 for _ in range(7))
        streamed = http.post(ANALYZE, content=chunks, headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert not queued_anything(redis)

        # The seed's flow: 202 with a task id, the task waits on `matchups` until a worker takes it.
        queued = http.post(ANALYZE, json=LAMB_AT_SF)
        assert queued.status_code == 202, queued.text
        doc = queued.json()
        assert set(doc) == {"task_id", "status"} and doc["status"] == "queued"
        assert redis.llen("matchups") == 1
        assert http.get(STATUS + doc["task_id"]).json() == {
            "task_id": doc["task_id"],
            "status": "PENDING",
            "ready": False,
            "successful": False,
            "result": None,
            "progress": None,
        }

        start_worker(env, "-Q", "matchups,analysis", "-c", "2")
        done = poll(http, doc["task_id"])
        assert set(done) == {"task_id", "status", "ready", "successful", "result", "progress"}
        assert done["status"] == "SUCCESS" and done["ready"] and done["successful"], done["result"]
        result = done["result"]
        assert result["player"]["name"] == LAMB
        assert 0 <= result["matchup_score"] <= 100
        assert result["recommendation"]["verdict"] in ("START", "FLEX", "SIT")
        assert result["game"]["home"] is False  # DAL played at SF in 2023 week 5

        compared = http.post(
            COMPARE,
            json={
                "player_ids": [LAMB, "Tyreek Hill", "Justin Jefferson"],
                "opponent_ids": ["SF", "NYG", "KC"],
                "season": 2023,
                "week": 5,
            },
        )
        assert compared.status_code == 202, compared.text
        ranked = poll(http, compared.json()["task_id"])
        assert ranked["status"] == "SUCCESS", ranked["result"]
        ranking = ranked["result"]["ranking"]
        assert {row["analysis"]["player"]["name"] for row in ranking} == {LAMB, "Tyreek Hill", "Justin Jefferson"}
        points = [row["analysis"]["projection"]["points"] for row in ranking]
        assert points == sorted(points, reverse=True)

        health = http.get(HEALTH)
        assert health.status_code == 200, health.text
        report = health.json()
        assert report["status"] == "ok" and report["broker"]["ok"] and report["result_store"]["ok"]
        assert report["workers"]["count"] == 1 and report["workers"]["names"][0].startswith("w1@")

        # CORS is off unless configured.
        assert "access-control-allow-origin" not in http.get(HEALTH, headers={"origin": "http://a.test"}).headers
    assert redis.llen("ai") == 0  # predict and grade were refused: no model
    assert "Traceback" not in server.text()


def test_bearer_token_and_cors_on_uvicorn_module_app(data_dir, redis_server, serve):
    token = "s3cret-t0ken"
    env = redis_env(data_dir, redis_server, FGRID_API_TOKEN=token, FGRID_API_CORS_ORIGINS="http://app.test")
    server = serve(env, use_uvicorn=True)  # `uvicorn fgrid.api:app`, as gunicorn's worker would load it
    redis = redis_server.client()
    with server.client() as http:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {token}"}):
            refused = http.get(STATUS + NEVER_SUBMITTED, headers=headers)
            assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        # Refused before the body is read: a malformed or oversized body is still a 401.
        assert http.post(ANALYZE, content=b"{not json", headers={"content-type": "application/json"}).status_code == 401
        assert http.post(ANALYZE, json={"player_id": "x" * 70_000}).status_code == 401
        assert http.post(ANALYZE, json=LAMB_AT_SF).status_code == 401
        assert not queued_anything(redis)
        health = http.get(HEALTH)
        assert health.status_code == 200 and health.json()["workers"]["count"] == 0
        schema = http.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"

        auth = {"authorization": f"Bearer {token}"}
        assert http.get(STATUS + NEVER_SUBMITTED, headers=auth).status_code == 404
        assert http.post(ANALYZE, json={**LAMB_AT_SF, "opponent_id": "XYZ"}, headers=auth).status_code == 400
        queued = http.post(ANALYZE, json=LAMB_AT_SF, headers=auth)
        assert queued.status_code == 202 and redis.llen("matchups") == 1
        assert http.get(STATUS + queued.json()["task_id"], headers=auth).json()["status"] == "PENDING"

        # CORS for the configured origin only; a preflight carries no token and is answered anyway.
        preflight = {
            "origin": "http://app.test",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        }
        allowed = http.options(ANALYZE, headers=preflight)
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://app.test"
        foreign = http.options(ANALYZE, headers={**preflight, "origin": "http://evil.test"})
        assert "access-control-allow-origin" not in foreign.headers
        simple = http.get(STATUS + NEVER_SUBMITTED, headers={**auth, "origin": "http://app.test"})
        assert simple.headers["access-control-allow-origin"] == "http://app.test"
    assert token not in server.text()


def test_broker_down_is_503_within_seconds_with_the_password_masked(data_dir, serve):
    closed = free_port()  # nothing listens here
    url = f"redis://:hunter2pass@127.0.0.1:{closed}/0"
    env = base_env(data_dir, CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND=url)
    server = serve(env, "--workers", "2")
    with server.client() as http:
        for method, path, body in (
            ("POST", ANALYZE, LAMB_AT_SF),
            ("POST", COMPARE, {"player_ids": [LAMB], "opponent_ids": ["SF"], "season": 2023, "week": 5}),
            ("GET", STATUS + NEVER_SUBMITTED, None),
        ):
            started = time.monotonic()
            response = http.request(method, path, json=body)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert elapsed < 5, f"{path} took {elapsed:.1f} s"
            detail = response.json()["detail"]
            assert f"redis://:****@127.0.0.1:{closed}/0" in detail and "redis-cli ping" in detail
            assert "hunter2pass" not in response.text

        # Bad input is still refused first, with no broker needed.
        assert http.post(ANALYZE, json={**LAMB_AT_SF, "player_id": "Zzyzx Quorble"}).status_code == 400

        started = time.monotonic()
        health = http.get(HEALTH)
        assert time.monotonic() - started < 5
        assert health.status_code == 503
        report = health.json()
        assert report["status"] == "unavailable"
        assert not report["broker"]["ok"] and not report["result_store"]["ok"]
        assert report["broker"]["url"] == f"redis://:****@127.0.0.1:{closed}/0"
        assert "cannot reach the broker" in report["broker"]["error"]
        assert "hunter2pass" not in health.text
    assert "hunter2pass" not in server.text()


def test_embedded_default_health_and_no_data_is_503(tmp_path, serve):
    # No broker configured and no data synced: the embedded file broker is healthy, an analysis cannot run.
    server = serve(base_env(tmp_path / "empty"))
    with server.client() as http:
        health = http.get(HEALTH)
        assert health.status_code == 200, health.text
        assert health.json()["broker"]["url"] == "filesystem://"
        response = http.post(ANALYZE, json=LAMB_AT_SF)
        assert response.status_code == 503 and "fgrid data sync" in response.json()["detail"]


def test_serve_help_and_the_module_app_are_light():
    code = (
        "import os, sys\n"
        "os.environ['CELERY_BROKER_URL'] = 'redis://127.0.0.1:9/0'\n"
        "from typer.testing import CliRunner\n"
        "from fgrid.cli import app\n"
        "r = CliRunner().invoke(app, ['serve', '--help'])\n"
        "assert r.exit_code == 0 and '--workers' in r.output, r.output\n"
        "heavy = [m for m in ('celery', 'kombu', 'fastapi', 'uvicorn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import fgrid.api\n"
        "assert fgrid.api.app is fgrid.api.app\n"  # built once, on first access, connecting to nothing
        "assert 'celery' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_warm_up_keeps_the_collector_off_the_data(data_dir):
    # In a child process: freezing is process-wide. A full collection of the loaded data stops a server for tens of
    # milliseconds; frozen, the data is never scanned again.
    code = (
        "import gc, os\n"
        "from fgrid.api import _warm\n"
        "from fgrid.config import Settings\n"
        "_warm(Settings.from_env(os.environ))\n"
        "assert gc.get_freeze_count() > 50_000, gc.get_freeze_count()\n"
    )
    env = base_env(data_dir, CELERY_BROKER_URL="redis://127.0.0.1:9/0")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
