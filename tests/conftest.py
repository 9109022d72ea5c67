"""Fixtures for tests that run fgrid for real: the shared NFL data, a private redis-server, worker processes.

Nothing here touches the machine's shared Redis on 6379: each Redis a test uses is started on a free port.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FGRID = [sys.executable, "-m", "fgrid"]


def shared_data_dir() -> Path:
    """The real nflverse files in ``../shared/data/nfl`` (or ``$FGRID_SHARED_DATA``)."""
    env = os.environ.get("FGRID_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data" / "nfl"
    if not (path / "raw").is_dir():
        pytest.fail(f"the shared NFL data is missing at {path}; set FGRID_SHARED_DATA")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server on a free loopback port, in its own folder."""

    def __init__(self, folder: Path, appendonly: bool = False, password: str | None = None):
        self.folder = folder
        self.port = free_port()
        self.appendonly = appendonly
        self.password = password
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is not installed (.ci/run installs it: apt-get install redis-server)")
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--logfile", str(self.folder / "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password)


@pytest.fixture(scope="session")
def shared_nfl() -> Path:
    return shared_data_dir()


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
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """An environment for fgrid subprocesses: this data folder, no inherited broker settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL", "FGRID_DEBUG")}
    env.update({"FGRID_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}, **extra)
    return env


def redis_env(data_dir: Path, server: RedisServer, **extra: str) -> dict[str, str]:
    return base_env(data_dir, CELERY_BROKER_URL=server.url, CELERY_RESULT_BACKEND=server.url, **extra)


def run_fgrid(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the fgrid CLI in a subprocess."""
    return subprocess.run(FGRID + args, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def run_json(args: list[str], env: dict[str, str], timeout: float = 120) -> dict:
    result = run_fgrid(args, env, timeout)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)


class Worker:
    """A real ``fgrid worker`` process in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log: Path, args: list[str]):
        self.env = env
        self.log = log
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self, wait_ready: bool = True, timeout: float = 60) -> Worker:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(FGRID + ["worker", *self.args], env=self.env, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO)
        if wait_ready:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if " ready." in self.log.read_text(errors="replace"):
                    return self
                if self.proc.poll() is not None:
                    raise RuntimeError(f"worker exited: {self.log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)
            raise RuntimeError(f"worker not ready: {self.log.read_text(errors='replace')[-2000:]}")
        return self

    def signal(self, sig: int) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 30) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator:
    """Start real ``fgrid worker`` processes; all are stopped at the end of the test."""
    started: list[Worker] = []

    def start(env: dict[str, str], *args: str, wait_ready: bool = True) -> Worker:
        name = f"w{len(started) + 1}"
        worker = Worker(env, tmp_path / "logs" / f"{name}.log", ["-n", f"{name}@%h", *args])
        started.append(worker)
        return worker.start(wait_ready=wait_ready)

    yield start
    for worker in started:
        worker.stop()
