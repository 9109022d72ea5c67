"""``fgrid worker``: build the argv of Celery's own worker for fgrid's app and hand over; stop detached ones."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from fgrid import config
from fgrid.config import Settings
from fgrid.errors import FgridError, InputError, RefusedError, UnavailableError

POOLS = ("prefork", "threads", "solo")
LOGLEVELS = ("debug", "info", "warning", "error", "critical")
#: Seconds `fgrid worker --stop` waits for a warm shutdown (running tasks finish) before it gives up.
STOP_TIMEOUT = 60


def worker_argv(
    settings: Settings,
    *,
    queues: str,
    concurrency: int | None,
    loglevel: str,
    max_tasks_per_child: int,
    max_memory_per_child: int | None,
    hostname: str | None,
    pool: str | None,
    detach: bool,
    events: bool = False,
) -> list[str]:
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
    argv = [
        "worker",
        "-Q",
        ",".join(names),
        "--loglevel",
        loglevel.upper(),
        "--max-tasks-per-child",
        str(max_tasks_per_child),
        "-n",
        hostname or f"fgrid-{os.getpid()}@%h",
        # No start-up sync with the other workers ("mingle"): it waits a second on Redis for their replies, and
        # all it brings is their list of revoked ids, which a worker also receives as revokes are broadcast.
        "--without-mingle",
    ]
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
        argv += [
            "--pidfile",
            str(settings.run_dir / "worker-%n.pid"),
            "--logfile",
            str(settings.run_dir / "worker-%n.log"),
        ]
    return argv


def run(settings: Settings, argv: list[str]) -> int:
    """Hand over to Celery's worker on fgrid's app; return its exit status once it stops (non-zero after an error it
    could not recover from). RefusedError (exit 3), before anything starts, when the broker refuses the credentials or
    the virtual host: a broker that is down is waited for (Celery retries, as under a process manager that starts
    both at once), a refusal would only end the worker once it has started.
    """
    from fgrid.app import get_app
    from fgrid.broker import connection

    app = get_app(settings)
    try:
        connection.check_broker(app)
        _declare_queues(settings, app, argv)
    except RefusedError:
        raise
    except UnavailableError:
        pass  # down: Celery's worker waits for it
    from celery.bin.celery import celery

    # What app.start does, keeping what it drops: the status `celery worker` would exit with.
    celery.params[0].default = app
    try:
        status = celery.main(args=argv, standalone_mode=False)
    finally:
        celery.params[0].default = None
    return status if isinstance(status, int) else 0 if status is None else 1


def _declare_queues(settings: Settings, app: Any, argv: list[str]) -> None:
    """On RabbitMQ, declare the queues of ``argv`` (``-Q``) before the worker does, so that a queue of that name
    declared otherwise is one line (FgridError), not a worker that stops with a traceback."""
    if settings.broker_kind is not config.Kind.AMQP:
        return
    from fgrid.broker import amqp, connection

    queues = argv[argv.index("-Q") + 1].split(",") if "-Q" in argv else list(config.QUEUES)
    with connection.reachable(settings, "broker"):
        amqp.declare(app, queues)


def node_name(argv: list[str]) -> str:
    """The node name of the worker of ``argv`` (``-n``), its ``%h`` expanded as Celery does."""
    import socket

    name = argv[argv.index("-n") + 1] if "-n" in argv else f"celery@{socket.gethostname()}"
    return name.replace("%h", socket.gethostname()).replace("%n", socket.gethostname().split(".")[0])


def start_detached(settings: Settings, argv: list[str], timeout: float = 30) -> tuple[int, Path, str]:
    """Start the worker of ``argv`` in the background, in its own session, and wait until it answers a ping; return
    its pid, its log file and its node name. UnavailableError (exit 3) when the broker cannot be reached (before
    anything starts) or the worker does not answer within ``timeout`` seconds (its log's last line says why).

    Celery's own ``--detach`` re-executes ``python -m celery`` without the app, so fgrid starts itself instead,
    with the effective settings in the child's environment.
    """
    import subprocess
    import sys

    from fgrid.app import get_app
    from fgrid.broker import connection

    app = get_app(settings)
    connection.check_broker(app)  # a worker that cannot reach its broker would only retry in the background
    _declare_queues(settings, app, argv)
    node = node_name(argv)

    env = dict(
        os.environ,
        **{
            config.ENV_DATA_DIR: str(settings.data_dir),
            config.ENV_BROKER_URL: settings.broker_url,
            config.ENV_RESULT_BACKEND: settings.result_backend,
        },
    )
    before = set(detached_pidfiles(settings))
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "fgrid", *argv],
        env=env,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    log: Path | None = None
    while time.monotonic() < deadline:
        new = [p for p in detached_pidfiles(settings) if p not in before]
        if new and log is None:
            log = new[0].with_suffix(".log")
        if log is not None and _answers(app, node):
            return proc.pid, log, node
        if proc.poll() is not None:
            raise FgridError(
                f"the worker exited at start (code {proc.returncode}): {_last_line(log)}; "
                f"see the logs in {settings.run_dir}"
            )
        time.sleep(0.2)
    raise UnavailableError(
        f"the worker {node} started (pid {proc.pid}) but did not answer within {timeout:g} s: "
        f"{_last_line(log)}; see {log or settings.run_dir}, stop it with "
        f"`fgrid worker --stop {node.partition('@')[0]}`"
    )


def _answers(app: Any, node: str) -> bool:
    from fgrid.broker import connection

    try:
        with connection.control(app, 0.5) as inspect:
            return node in (inspect.ping() or {})
    except FgridError:
        return False


def _last_line(log: Path | None) -> str:
    """The last line of a worker's log (where it says why it stopped), or that it logged nothing."""
    try:
        lines = [line for line in (log.read_text(errors="replace").splitlines() if log else []) if line.strip()]
    except OSError:
        lines = []
    return " ".join(lines[-1].split())[:200] if lines else "it logged nothing"


def detached_pidfiles(settings: Settings) -> list[Path]:
    """Pid files of workers started with ``--detach``."""
    return sorted(settings.run_dir.glob("worker-*.pid")) if settings.run_dir.exists() else []


def detached_names(settings: Settings) -> list[str]:
    """The names of the detached workers (``w1`` for ``w1@host``), from their pid files."""
    return [p.stem.removeprefix("worker-") for p in detached_pidfiles(settings)]


def stop_detached(settings: Settings, name: str | None = None, timeout: float = STOP_TIMEOUT) -> int:
    """Warm-stop the detached worker ``name`` (``w1`` or ``w1@host``), or every one (SIGTERM: running tasks finish);
    return how many were running. InputError when no detached worker has that name (naming those that do)."""
    pidfiles = detached_pidfiles(settings)
    if name:
        wanted = name.partition("@")[0]
        pidfiles = [p for p in pidfiles if p.stem.removeprefix("worker-") == wanted]
        if not pidfiles:
            running = ", ".join(detached_names(settings)) or "none"
            raise InputError(f"no detached worker named {wanted!r}; detached workers: {running}")
    stopped = 0
    for pidfile in pidfiles:
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
