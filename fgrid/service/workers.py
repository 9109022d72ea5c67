"""``fgrid worker``: build the argv of Celery's own worker for fgrid's app and hand over; stop detached ones."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from fgrid import config
from fgrid.config import Settings
from fgrid.errors import FgridError, InputError

POOLS = ("prefork", "threads", "solo")
LOGLEVELS = ("debug", "info", "warning", "error", "critical")
#: Seconds `fgrid worker --stop` waits for a warm shutdown (running tasks finish) before it gives up.
STOP_TIMEOUT = 60


def worker_argv(settings: Settings, *, queues: str, concurrency: int | None, loglevel: str,
                max_tasks_per_child: int, max_memory_per_child: int | None, hostname: str | None,
                pool: str | None, detach: bool, events: bool = False) -> list[str]:
    """The argv for ``celery worker`` on fgrid's app; raise InputError on bad flags."""
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in names if q not in config.QUEUES]
    if not names or unknown:
        raise InputError(f"unknown queue {', '.join(unknown) or '(none)'}; queues are {', '.join(config.QUEUES)}")
    if loglevel.lower() not in LOGLEVELS:
        raise InputError(f"unknown log level {loglevel!r}; use one of {', '.join(LOGLEVELS)}")
    if pool is not None and pool not in POOLS:
        raise InputError(f"unknown pool {pool!r}; use one of {', '.join(POOLS)}")
    if concurrency is not None and not 1 <= concurrency <= 256:
        raise InputError("--concurrency must be between 1 and 256")
    if max_tasks_per_child < 1:
        raise InputError("--max-tasks-per-child must be at least 1")
    argv = ["worker", "-Q", ",".join(names), "--loglevel", loglevel.upper(),
            "--max-tasks-per-child", str(max_tasks_per_child),
            "-n", hostname or f"fgrid-{os.getpid()}@%h",
            # No start-up sync with the other workers ("mingle"): it waits a second on Redis for their replies, and
            # all it brings is their list of revoked ids, which a worker also receives as revokes are broadcast.
            "--without-mingle"]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    if max_memory_per_child is not None:
        argv += ["--max-memory-per-child", str(max_memory_per_child)]
    if pool is not None:
        argv += ["--pool", pool]
    if events:
        argv.append("--task-events")
    if detach:
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--pidfile", str(settings.run_dir / "worker-%n.pid"),
                 "--logfile", str(settings.run_dir / "worker-%n.log")]
    return argv


def run(settings: Settings, argv: list[str]) -> None:
    """Hand over to Celery's worker on fgrid's app (returns when the worker stops)."""
    from fgrid.app import get_app

    get_app(settings).worker_main(argv)


def start_detached(settings: Settings, argv: list[str], timeout: float = 15) -> tuple[int, Path]:
    """Start the worker of ``argv`` in the background, in its own session; return its pid and log file.

    Celery's own ``--detach`` re-executes ``python -m celery`` without the app, so fgrid starts itself instead,
    with the effective settings in the child's environment.
    """
    import subprocess
    import sys

    env = dict(os.environ, **{config.ENV_DATA_DIR: str(settings.data_dir), config.ENV_BROKER_URL: settings.broker_url,
                              config.ENV_RESULT_BACKEND: settings.result_backend})
    before = set(detached_pidfiles(settings))
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "fgrid", *argv], env=env, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [p for p in detached_pidfiles(settings) if p not in before]
        if new:
            return proc.pid, new[0].with_suffix(".log")
        if proc.poll() is not None:
            raise FgridError(f"the worker exited at start (code {proc.returncode}); "
                             f"see the logs in {settings.run_dir}")
        time.sleep(0.05)
    raise FgridError(f"the worker did not start within {timeout:g} s; see the logs in {settings.run_dir}")


def detached_pidfiles(settings: Settings) -> list[Path]:
    """Pid files of workers started with ``--detach``."""
    return sorted(settings.run_dir.glob("worker-*.pid")) if settings.run_dir.exists() else []


def stop_detached(settings: Settings, timeout: float = STOP_TIMEOUT) -> int:
    """Warm-stop every detached worker (SIGTERM: running tasks finish); return how many were running."""
    stopped = 0
    for pidfile in detached_pidfiles(settings):
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError, FileNotFoundError):
            pidfile.unlink(missing_ok=True)
            continue
        stopped += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        pidfile.unlink(missing_ok=True)
    return stopped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
