"""Subprocesses run for real: ``fgrid worker`` (or Celery's own worker) and any other long-running program, each in
its own process group and logging to a file, stopped or killed group and all; and one-shot fgrid CLI commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import REPO

FGRID = [sys.executable, "-m", "fgrid"]
CELERY = [sys.executable, "-m", "celery"]
#: Variables that would point a subprocess at another broker or result store.
BROKER_VARIABLES = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL")


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """An environment for fgrid subprocesses: this data folder, no inherited broker settings, no debug tracebacks."""
    env = {k: v for k, v in os.environ.items() if k not in (*BROKER_VARIABLES, "FGRID_DEBUG", "FGRID_DATA_DIR")}
    env.update({"FGRID_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}, **extra)
    return env


def redis_env(data_dir: Path, server, **extra: str) -> dict[str, str]:
    """:func:`base_env` with ``server`` (a :class:`tests.support.servers.RedisServer`) as broker and result store."""
    return base_env(data_dir, CELERY_BROKER_URL=server.url, CELERY_RESULT_BACKEND=server.url, **extra)


def run_fgrid(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the fgrid CLI in a subprocess; its output as text."""
    return subprocess.run(FGRID + args, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def run_json(args: list[str], env: dict[str, str], timeout: float = 120) -> dict:
    """Run the fgrid CLI, expect exit 0, and parse its stdout as JSON."""
    result = run_fgrid(args, env, timeout)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)


class Process:
    """A long-running subprocess in its own process group (its children with it), stdout and stderr to ``log``."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, cwd: Path = REPO):
        self.argv = argv
        self.env = env
        self.log = log
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.started = 0.0  # time.perf_counter() at the start
        self.started_wall = 0.0  # time.time() at the start

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def spawn(self) -> Process:
        """Start the process and return at once."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.started, self.started_wall = time.perf_counter(), time.time()
        # The child writes to its own copy of the descriptor: this process keeps no file open.
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd, start_new_session=True
            )
        return self

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, needle: str, timeout: float = 60, interval: float = 0.01) -> float:
        """Wait until ``needle`` is in the log; return the seconds since the start. Raise RuntimeError if the
        process exits first or ``timeout`` passes."""
        assert self.proc is not None, "not started"
        deadline = time.monotonic() + timeout
        while True:
            if needle in self.text():
                return time.perf_counter() - self.started
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.describe()} exited ({self.proc.returncode}): {self.text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.describe()}: no {needle!r} after {timeout:g} s: {self.text()[-2000:]}")
            time.sleep(interval)

    def describe(self) -> str:
        return " ".join(os.path.basename(a) for a in self.argv[:6])

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the whole process group (if the process still runs)."""
        if self.proc and self.proc.poll() is None:
            _killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and children) and reap the main process."""
        if self.proc:
            _killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the process group and wait; SIGKILL it after ``timeout``. Children left behind are killed."""
        if not self.proc:
            return
        if self.proc.poll() is None:
            _killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()  # whatever is left of the group: a child that outlived the main process, or a hung main process


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):  # the group is gone (PermissionError: macOS, a zombie leader)
        pass


class Worker(Process):
    """A real ``fgrid worker`` (``fgrid worker ARGS``), ready once it logs `` ready.``."""

    READY = " ready."

    def __init__(self, env: dict[str, str], log: Path, args: list[str]):
        super().__init__(self.command(args), env, log)
        self.args = args

    @staticmethod
    def command(args: list[str]) -> list[str]:
        return [*FGRID, "worker", *args]

    def start(self, wait_ready: bool = True, timeout: float = 60) -> Worker:
        self.spawn()
        if wait_ready:
            self.wait_for_log(self.READY, timeout)
        return self


class CeleryWorker(Worker):
    """Celery's own worker on fgrid's app (``celery -A fgrid worker ARGS``), for flags ``fgrid worker`` lacks."""

    @staticmethod
    def command(args: list[str]) -> list[str]:
        return [*CELERY, "-A", "fgrid", "worker", *args]


class ApiServer(Process):
    """A real API server process (``fgrid serve`` or ``uvicorn fgrid.api:app``) on a free loopback port, up once
    it serves its OpenAPI schema."""

    def __init__(self, env: dict[str, str], log: Path, args: list[str], use_uvicorn: bool = False):
        from tests.support.servers import free_port

        self.port = free_port()
        if use_uvicorn:
            argv = [
                sys.executable,
                "-m",
                "uvicorn",
                "fgrid.api:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *args,
            ]
        else:
            argv = [*FGRID, "serve", "--host", "127.0.0.1", "--port", str(self.port), *args]
        super().__init__(argv, env, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ApiServer:
        import httpx

        self.spawn()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"API server exited: {self.text()[-2000:]}")
            try:
                httpx.get(self.url + "/openapi.json", timeout=1)
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"API server not up after {timeout:g} s: {self.text()[-2000:]}") from None
                time.sleep(0.05)

    def client(self, **kwargs):
        """An httpx client with this server as its base URL."""
        import httpx

        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def stop(self, timeout: float = 15) -> None:
        super().stop(timeout)
