"""Property-based checks of the live API against its own OpenAPI schema: a real `fgrid serve` process on a private
redis-server with the real data, and schemathesis's own CLI (`schemathesis run`) against it: every operation's
documented examples, then schema-valid and schema-invalid requests; no 5xx, and every response as the schema
documents it.

schemathesis runs in its own process, out of pytest's reach: imported into a pytest process, its modules are
rewritten by pytest's assertion rewriting (it is a pytest plugin), and CPython 3.11.7's compile() can fail on them
with "AST constructor recursion depth mismatch" when that happens deep in a test's stack.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.processes import redis_env

pytestmark = pytest.mark.e2e

#: Requests per operation and generation mode: enough to vary every field, small enough to finish in seconds.
MAX_EXAMPLES = 30
#: The seed's operations (the schema may list more; every operation it lists is tested).
SEED_OPERATIONS = {
    "POST /api/tasks/analyze-player",
    "POST /api/tasks/compare-players",
    "POST /api/tasks/lineup",
    "POST /api/tasks/predict",
    "POST /api/tasks/grade",
    "GET /api/tasks/status/{task_id}",
    "GET /api/health",
}


def schemathesis_command() -> list[str]:
    beside = Path(sys.executable).with_name("schemathesis")  # the console script of this environment
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis is not installed (it is in fgrid's test extra)")
    return [found]


def scenarios(report: Path) -> list[dict]:
    """The finished scenarios (one per operation and phase) of schemathesis's NDJSON event stream."""
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    return [event["ScenarioFinished"] for event in events if "ScenarioFinished" in event]


def test_live_api_matches_its_schema(data_dir, redis_server, serve, tmp_path):
    server = serve(redis_env(data_dir, redis_server))
    schema = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    labels = {f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item}
    assert labels >= SEED_OPERATIONS, labels

    report = tmp_path / "schemathesis.ndjson"
    # Every check but one: whether a well-formed request names a real player is a question of the data, not of the
    # schema (a 400 for "Zzyzx" is right), so "every schema-valid request is accepted" does not apply here. All
    # others do: no 5xx, documented status codes, content types, headers and bodies, invalid data rejected.
    result = subprocess.run(
        [
            *schemathesis_command(),
            "--no-color",
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--phases",
            "examples,fuzzing",
            "--mode",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--generation-database",
            "none",
            "--request-timeout",
            "30",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]

    finished = scenarios(report)
    tested = {s["recorder"]["label"] for s in finished if s["phase"] == "fuzzing" and s["recorder"].get("cases")}
    assert tested == labels, tested
    examples = sum(len(s["recorder"].get("cases", {})) for s in finished if s["phase"] == "examples")
    assert examples >= 4  # the documented examples (the seed's requests) were sent too
    redis = redis_server.client()
    assert redis.llen("matchups") >= 1  # ...and queued: no worker runs here
    assert redis.llen("ai") == 0  # no trained model here: predict and grade are refused (409), nothing queued
    assert "Traceback" not in server.text(), server.text()[-3000:]
