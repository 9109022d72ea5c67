"""Fixtures for tests that run fgrid for real: the shared NFL data, a private redis-server, worker processes, and the
markers of the tests that start them (``e2e``; everything under ``tests/faults`` is ``faults``).

The helpers themselves are in ``tests/support`` (the bench uses them too). Nothing here touches the machine's
shared Redis on 6379: each Redis a test uses is started on a free port.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.data import SharedDataMissing, shared_data_dir
from tests.support.processes import ApiServer, CeleryWorker, Worker, base_env, run_fgrid
from tests.support.servers import RedisServer

FAULTS_DIR = Path(__file__).parent / "faults"
#: Fixtures that start a broker, a worker or a server process: a test using one is an end-to-end test.
PROCESS_FIXTURES = frozenset({"redis_server", "start_worker", "serve", "server", "aof_redis", "workers"})
#: The xdist group of the tests that keep both cores busy for a while (the bench, a model's training, thousands of
#: tasks): with ``--dist loadgroup`` they run one after another on one pytest-xdist worker, beside the others.
HEAVY = "heavy"


def pytest_configure(config: pytest.Config) -> None:
    # LightGBM's OpenMP threads spin while they wait for work: a model's training beside other busy processes (tests
    # run in parallel on two cores) took 8 times as long, burning the CPU the other tests needed. Waiting passively
    # costs a training alone next to nothing. Set before any process (xdist's workers included) is started.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests and order them for a parallel run.

    - Every test under tests/faults is ``faults``, and every other test that starts a process ``e2e``, so that
      ``pytest -m "not e2e and not faults"`` is the fast lane however a new test is written.
    - Tests that share a module-scoped fixture are one xdist group (the fixture is built once, on one worker).
    - The heavy group first, then the other end-to-end and fault tests, the quick ones last: a long test started
      late would keep one worker busy while the others are done.
    """
    for item in items:
        if FAULTS_DIR in Path(item.path).parents:
            if not item.get_closest_marker("faults"):
                item.add_marker(pytest.mark.faults)
        elif PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.e2e)
        if not item.get_closest_marker("xdist_group") and _uses_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    items.sort(key=_start_order)  # stable: within a rank, the collection order


def _uses_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.values() if info is not None else ()
    return any(fixturedefs[-1].scope in ("package", "module", "class") for fixturedefs in defs if fixturedefs)


def _start_order(item: pytest.Item) -> int:
    groups = {mark.args[0] if mark.args else mark.kwargs.get("name") for mark in item.iter_markers("xdist_group")}
    if HEAVY in groups:
        return 0
    if item.get_closest_marker("slow"):
        return 1
    if item.get_closest_marker("faults") or item.get_closest_marker("e2e"):
        return 2
    return 3


@pytest.fixture(scope="session")
def shared_nfl() -> Path:
    """The shared (read-only) nflverse files; fail loudly if they are missing (CI has them)."""
    try:
        return shared_data_dir()
    except SharedDataMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def synced_template(tmp_path_factory: pytest.TempPathFactory, shared_nfl: Path) -> Path:
    """A data folder synced once per session from the shared files (copied for each test that needs one)."""
    folder = tmp_path_factory.mktemp("fgrid-data-template")
    result = run_fgrid(["data", "sync", "--from", str(shared_nfl)], env=base_env(folder))
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture
def data_dir(tmp_path: Path, synced_template: Path) -> Path:
    """A fresh data folder with the NFL data synced (symlinks kept, so the versioned layout stays intact)."""
    folder = tmp_path / "data"
    shutil.copytree(synced_template, folder, symlinks=True)
    return folder


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free loopback port, stopped at the end of the test."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator:
    """Start real workers: ``start_worker(env, *args, celery=False, name=None, wait_ready=True)``, ``fgrid worker``
    or with ``celery=True`` Celery's own ``celery -A fgrid worker``, named ``w1@``, ``w2@``... by default.

    Whatever is still running at the end of the test is killed, process group and all: a test that checks a warm
    shutdown does its own (at the end of a test it would only cost each worker about 2 s)."""
    started: list[Worker] = []

    def start(
        env: dict[str, str], *args: str, celery: bool = False, name: str | None = None, wait_ready: bool = True
    ) -> Worker:
        name = name or f"w{len(started) + 1}"
        cls = CeleryWorker if celery else Worker
        worker = cls(env, tmp_path / "logs" / f"{name}.log", ["-n", f"{name}@%h", *args])
        started.append(worker)
        return worker.start(wait_ready=wait_ready)

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    """Start real API server processes: ``serve(env, *args, use_uvicorn=False, ready=True)``, returned once they
    answer (``ready=False``: at once); all are stopped at the end."""
    started: list[ApiServer] = []

    def start(env: dict[str, str], *args: str, use_uvicorn: bool = False, ready: bool = True) -> ApiServer:
        server = ApiServer(env, tmp_path / "logs" / f"api{len(started) + 1}.log", list(args), use_uvicorn)
        started.append(server)
        if not ready:
            server.spawn()
            return server
        return server.start()

    yield start
    for server in started:
        server.stop()
