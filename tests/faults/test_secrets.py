"""A broker password, given in any of the seed's variables, never appears in fgrid's output, errors or worker logs:
with the right password, a wrong one, or the server down. TLS URLs (rediss://) are accepted and shown masked."""

from __future__ import annotations

import json
import time

import pytest

from tests.faults.conftest import LAMB
from tests.support.processes import base_env, run_fgrid
from tests.support.servers import RedisServer, free_port
from tests.support.waiting import HANG, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow]  # slow: started first in a parallel run

PASSWORD = "s3cret-Pa55word-4417"
WRONG = "wr0ng-Pa55word-9902"
ANALYZE = ["analyze-player", LAMB, "--opponent", "SF", "--season", "2023", "--week", "5"]
READ_COMMANDS = [
    ["config"],
    ["config", "--json"],
    ["tasks"],
    ["tasks", "--json"],
    ["queues"],
    ["workers"],
    ["doctor"],
    ["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"],
]


def url(port: int, password: str, scheme: str = "redis") -> str:
    return f"{scheme}://:{password}@127.0.0.1:{port}/0"


def variants(port: int, password: str) -> dict[str, dict[str, str]]:
    """The password in each of the seed's variables."""
    return {
        "REDIS_URL": {"REDIS_URL": url(port, password)},
        "CELERY_BROKER_URL": {"CELERY_BROKER_URL": url(port, password)},
        "both CELERY_*": {"CELERY_BROKER_URL": url(port, password), "CELERY_RESULT_BACKEND": url(port, password)},
    }


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"secret leaked: ...{text[max(0, text.find(secret) - 200) :][:400]}"


@pytest.fixture
def locked_redis(tmp_path):
    server = RedisServer(tmp_path / "redis-pw", password=PASSWORD).start()
    yield server
    server.stop()


def test_password_never_shown_with_the_right_password(data_dir, locked_redis, workers):
    for name, extra in variants(locked_redis.port, PASSWORD).items():
        env = base_env(data_dir, **extra)
        if name == "REDIS_URL":
            worker = workers(env, "-c", "1")
            done = run_fgrid([*ANALYZE, "--wait", "--json", "--timeout", "60"], env, timeout=90)
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["status"] == "SUCCESS"
            assert_clean(done.stdout + done.stderr, PASSWORD)
        for args in READ_COMMANDS if name == "REDIS_URL" else READ_COMMANDS[1:2] + READ_COMMANDS[-1:]:
            result = run_fgrid(args, env)
            assert_clean(result.stdout + result.stderr, PASSWORD)
        shown = json.loads(run_fgrid(["config", "--json"], env).stdout)
        assert shown["broker_url"]["value"] == f"redis://:****@127.0.0.1:{locked_redis.port}/0"
    worker.stop()
    assert_clean(worker.text(), PASSWORD)
    assert "ready." in worker.text()


def test_password_never_shown_with_a_wrong_password_or_the_server_down(data_dir, locked_redis, workers):
    closed = free_port()
    for port, password in ((locked_redis.port, WRONG), (closed, PASSWORD)):
        for name, extra in variants(port, password).items():
            env = base_env(data_dir, **extra)
            for args in (ANALYZE, ["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"]):
                started = time.monotonic()
                result = run_fgrid(args, env, timeout=60)
                assert result.returncode == 3, (name, args[0], result.stderr)
                assert time.monotonic() - started < HANG
                assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
                assert "****" in result.stderr
                assert_clean(result.stdout + result.stderr, PASSWORD, WRONG)
                if password == WRONG:  # what to fix, and where: not "is Redis running?"
                    said = result.stderr.strip()
                    assert any(
                        said.endswith(f"; the server refused the user or password: check them in {variable}")
                        for variable in extra
                    ), said
            for args in READ_COMMANDS[:-1] if name == "REDIS_URL" else []:
                result = run_fgrid(args, env, timeout=60)
                assert_clean(result.stdout + result.stderr, PASSWORD, WRONG)
    # `fgrid worker` given the wrong password stops at once, in one line, without the password; Celery's own worker
    # keeps trying, and says so without it.
    env = base_env(data_dir, REDIS_URL=url(locked_redis.port, WRONG))
    refused = run_fgrid(["worker", "-c", "1"], env, timeout=60)
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.strip().splitlines()[-1].endswith("check them in REDIS_URL"), refused.stderr
    assert_clean(refused.stdout + refused.stderr, PASSWORD, WRONG)
    worker = workers(env, "-c", "1", celery=True, wait_ready=False)
    wait_for(lambda: "invalid username-password" in worker.text(), 30, "the worker to report the refusal")
    worker.stop()
    assert_clean(worker.text(), PASSWORD, WRONG)


def test_tls_urls_are_accepted_and_masked(data_dir):
    from fgrid.app.conf import celery_config
    from fgrid.config import Settings

    tls = f"rediss://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    settings = Settings.from_env({"REDIS_URL": tls, "FGRID_DATA_DIR": str(data_dir)})
    conf = celery_config(settings)
    assert conf["broker_url"] == tls and conf["result_backend"] == f"fgrid.broker.backends:RedisResultStore+{tls}"
    assert conf["broker_use_ssl"]["ssl_cert_reqs"] and conf["redis_backend_use_ssl"]["ssl_cert_reqs"]
    env = base_env(data_dir, REDIS_URL=tls)
    result = run_fgrid(["config", "--json"], env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["broker_url"]["value"].startswith("rediss://:****@127.0.0.1:")
    assert shown["result_backend"]["value"].startswith("rediss://:****@127.0.0.1:")
    down = run_fgrid(["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"], env, timeout=60)
    assert down.returncode == 3 and "rediss://:****@127.0.0.1:" in down.stderr
    assert_clean(result.stdout + down.stdout + down.stderr, PASSWORD)


def test_a_password_with_a_space_is_masked_and_one_with_unencoded_specials_is_a_malformed_url(tmp_path):
    # With a space, the URL parses the same for every client: it works and is shown masked everywhere.
    spaced = f"redis://:pa ss-{PASSWORD}@127.0.0.1:{free_port()}/0"
    for args in (["config"], ["config", "--json"], ["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"]):
        result = run_fgrid(args, {**base_env(tmp_path), "REDIS_URL": spaced}, timeout=60)
        assert_clean(result.stdout + result.stderr, f"pa ss-{PASSWORD}", PASSWORD)
        assert "Traceback" not in result.stderr
    # Unencoded "@", "/" and "#": the clients would read another host and password. Exit 2, one line that says to
    # percent-encode, the password masked, nothing attempted.
    broken = f"redis://:p@ss/w#rd-{PASSWORD}@127.0.0.1:{free_port()}/0"
    for args in (["config"], ANALYZE, ["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"]):
        result = run_fgrid(args, {**base_env(tmp_path), "REDIS_URL": broken}, timeout=60)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "percent-encode" in result.stderr
        assert_clean(result.stdout + result.stderr, f"ss/w#rd-{PASSWORD}", PASSWORD)


def test_a_url_without_a_scheme_or_with_a_bad_port_is_malformed_exit_2(tmp_path):
    for bad, said in (
        ("redis//localhost", "has no scheme"),
        ("redis://localhost:port/0", "is not a number"),
        ("redis://localhost:²/0", "is not a number"),
    ):
        result = run_fgrid(
            ["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"],
            {**base_env(tmp_path), "CELERY_BROKER_URL": bad},
            timeout=60,
        )
        assert result.returncode == 2 and said in result.stderr and "CELERY_BROKER_URL" in result.stderr
