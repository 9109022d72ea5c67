"""Property-based checks of the live API against its own OpenAPI schema (schemathesis): a real `fgrid serve`
process on a private redis-server with the real data; no 5xx, and every response as the schema documents it.

The schema is loaded from the running server inside the test (schemathesis's lazy ``from_fixture`` loader does not
work with pytest 9), and each operation's Hypothesis strategies are run directly: its documented examples, then
schema-valid and schema-invalid requests.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import schemathesis
import schemathesis.generation.jsonschema.builder  # noqa: F401 - imported here, see below
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

# schemathesis imports its JSON-schema strategies lazily, deep inside the first test's call stack, where pytest
# rewrites them (schemathesis is a pytest plugin) and CPython 3.11.7's compile() can fail with "AST constructor
# recursion depth mismatch" (a bug of its recursion tracking): importing them at collection, near the stack's base,
# avoids that.

from tests.conftest import redis_env
from tests.test_api import serve  # noqa: F401 - the fixture that runs a real server process

pytestmark = pytest.mark.e2e

#: Requests per operation and generation mode: enough to vary every field, small enough to finish in seconds.
MAX_EXAMPLES = 30
OPERATIONS = {
    "POST /api/tasks/analyze-player", "POST /api/tasks/compare-players", "POST /api/tasks/predict",
    "POST /api/tasks/grade", "GET /api/tasks/status/{task_id}", "GET /api/health",
}


def check(case) -> None:
    # Whether a well-formed request names a real player is a question of the data, not of the schema: a 400 for
    # "Zzyzx" is right, so the check that every schema-valid request is accepted does not apply here. All other
    # checks do: no 5xx, documented status codes, content types, headers and bodies, invalid data rejected.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


def run(strategy, max_examples: int = MAX_EXAMPLES) -> None:
    @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def requests(case) -> None:
        check(case)

    requests()


def test_live_api_matches_its_schema(data_dir, redis_server, serve):  # noqa: F811
    server = serve(redis_env(data_dir, redis_server))
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} == OPERATIONS

    accepted = 0
    for operation in operations:
        for example in operation.get_strategies_from_examples():
            run(example, max_examples=1)
            accepted += 1
        run(operation.as_strategy(GenerationMode.POSITIVE))
        if operation.body or operation.path_parameters:  # the task id is documented as a UUID
            run(operation.as_strategy(GenerationMode.NEGATIVE))
    assert accepted >= 4  # the documented examples (the seed's requests) were sent too
    redis = redis_server.client()
    assert redis.llen("matchups") >= 1 and redis.llen("ai") >= 1  # ...and queued: no worker runs here
    assert "Traceback" not in server.text(), server.text()[-3000:]
