"""Operating fgrid: tasks, queues, workers, cancel, retry, purge, top, doctor.

Each command parses, calls one function of :mod:`fgrid.ops` and renders with :mod:`fgrid.render_ops`; the live
refresh loops of ``--watch`` and ``top`` live here. Only typer and the standard library are imported at module
level, so ``fgrid --help`` stays light.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from fgrid import config

DataDirOption = Annotated[
    Optional[Path], typer.Option("--data-dir", envvar=config.ENV_DATA_DIR, help="Data folder.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
WatchOption = Annotated[bool, typer.Option("--watch", help="Refresh a live table until Ctrl-C.")]
IntervalOption = Annotated[float, typer.Option("--interval", help="Seconds between refreshes.", min=0.2, max=60)]
InspectTimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the workers' answers.",
                                                     min=0.1, max=60)]
#: Seconds between refreshes of ``--watch`` and ``top``.
REFRESH_SECONDS = 1.0


def tasks(
    state: Annotated[Optional[str], typer.Option("--state", help="Only tasks in this state (e.g. FAILURE).")] = None,
    queue: Annotated[Optional[str], typer.Option("--queue", help="Only tasks of this queue.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most tasks to list.")] = 20,
    watch: WatchOption = False,
    interval: IntervalOption = REFRESH_SECONDS,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """List recent tasks: id, task, arguments, state, worker, runtime, age."""
    from fgrid.render import operations as render_ops
    from fgrid.service import operations

    settings = _settings(data_dir, watch, as_json)

    def fetch() -> list[dict[str, Any]]:
        return operations.list_tasks(settings, state=state, queue=queue, limit=limit)

    if watch:
        _watch(lambda: render_ops.tasks_table(fetch()), interval)
    elif as_json:
        _print_json({"tasks": fetch()})
    else:
        _console().print(render_ops.tasks_table(fetch()))


def queues(
    watch: WatchOption = False,
    interval: IntervalOption = REFRESH_SECONDS,
    timeout: InspectTimeoutOption = config.INSPECT_TIMEOUT,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show each queue's waiting and reserved messages and its consumers."""
    from fgrid.render import operations as render_ops
    from fgrid.service import monitor

    settings = _settings(data_dir, watch, as_json)
    if watch:
        _watch(lambda: render_ops.queues_table(monitor.list_queues(settings, timeout)), interval)
    elif as_json:
        _print_json({"queues": monitor.list_queues(settings, timeout)})
    else:
        _console().print(render_ops.queues_table(monitor.list_queues(settings, timeout)))


def workers(timeout: InspectTimeoutOption = config.INSPECT_TIMEOUT, as_json: JsonOption = False,
            data_dir: DataDirOption = None) -> None:
    """Show the running workers: queues, pool, concurrency, active and processed tasks, uptime, memory."""
    from fgrid.render import operations as render_ops
    from fgrid.service import monitor

    rows = monitor.inspect_workers(_settings(data_dir), timeout)
    if as_json:
        _print_json({"workers": rows})
    elif rows:
        _console().print(render_ops.workers_table(rows))
    else:
        _console(stderr=True).print(f"no worker answered within {timeout:g} s; start one with `fgrid worker` "
                                    "(or wait longer: --timeout)")


def cancel(
    task_id: Annotated[str, typer.Argument(help="The task to cancel.")],
    terminate: Annotated[bool, typer.Option("--terminate", help="Also stop it if it is already running.")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Cancel a task: revoke it (with --terminate, stop it if running)."""
    from fgrid.render import operations as render_ops
    from fgrid.service import operations

    doc = operations.cancel(_settings(data_dir), task_id, terminate=terminate)
    if as_json:
        _print_json(doc)
    else:
        _console().print(render_ops.cancel_summary(doc))


def retry(
    task_id: Annotated[str, typer.Argument(help="A failed task to run again.")],
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue a failed task again with the same arguments and print the new id."""
    from fgrid.service import operations

    doc = operations.retry(_settings(data_dir), task_id)
    if as_json:
        _print_json(doc)
    else:
        _console().print(doc["task_id"])


def purge(
    queue: Annotated[str, typer.Argument(help=f"The queue to empty: {', '.join(config.QUEUES)}.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: delete every waiting task of the queue.")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Delete every waiting task of one queue (needs --yes)."""
    from fgrid.errors import InputError
    from fgrid.service import operations

    if queue not in config.QUEUES:
        raise InputError(f"unknown queue {queue!r}; queues are {', '.join(config.QUEUES)}")
    if not yes:
        raise InputError(f"purge deletes every waiting task of {queue!r}; add --yes to confirm")
    count = operations.purge(_settings(data_dir), queue)
    if as_json:
        _print_json({"queue": queue, "purged": count})
    else:
        _console().print(f"purged {count} waiting task(s) from {queue}")


def doctor(as_json: JsonOption = False, data_dir: DataDirOption = None) -> None:
    """Check the setup: broker, result store, workers per queue, registered tasks, data, ai model."""
    from fgrid.render import operations as render_ops
    from fgrid.service import health

    checks = health.doctor(_settings(data_dir))
    if as_json:
        _print_json({"ok": all(c["ok"] for c in checks), "checks": checks})
    else:
        _console().print(render_ops.doctor_lines(checks), soft_wrap=True)
    failed = [c for c in checks if not c["ok"]]
    if failed:
        from fgrid.errors import FgridError, UnavailableError

        unreachable = any(c["check"] in ("broker reachable", "result store reachable") for c in failed)
        message = f"doctor: {len(failed)} of {len(checks)} checks failed; first fix: {failed[0]['fix']}"
        raise (UnavailableError if unreachable else FgridError)(message)


def top(interval: IntervalOption = REFRESH_SECONDS, data_dir: DataDirOption = None) -> None:
    """Show a full-screen live dashboard of queues, workers, rates and failures (q quits)."""
    from rich.live import Live

    from fgrid.app import get_app
    from fgrid.broker import connection
    from fgrid.errors import FgridError
    from fgrid.render import operations as render_ops
    from fgrid.service import monitor

    settings = _settings(data_dir)
    connection.check_broker(get_app(settings))  # an unreachable broker is one line and exit 3, not a blank screen
    state: dict[str, Any] = {"snap": None, "rate": None, "error": None}
    stop = threading.Event()

    def collect() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                snap = monitor.dashboard(settings)
                state.update(rate=monitor.rate(state["snap"], snap), snap=snap, error=None)
            except FgridError as exc:
                state["error"] = str(exc)
            except Exception as exc:  # noqa: BLE001 - keep the dashboard up and show what went wrong, masked
                state["error"] = config.mask_secrets(f"{type(exc).__name__}: {exc}", *settings.secrets)
            stop.wait(max(0.0, interval - (time.monotonic() - started)))

    collector = threading.Thread(target=collect, name="fgrid-top", daemon=True)
    collector.start()
    try:
        with _cbreak(sys.stdin) as keys, Live(render_ops.dashboard(None), console=_console(), screen=True,
                                              refresh_per_second=4, redirect_stderr=False) as live:
            while True:
                key = keys(0.25)
                if key and key.lower() == "q":
                    break
                live.update(render_ops.dashboard(state["snap"], state["rate"], state["error"]))
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    for name, func in (("tasks", tasks), ("queues", queues), ("workers", workers), ("cancel", cancel),
                       ("retry", retry), ("purge", purge), ("top", top), ("doctor", doctor)):
        app.command(name)(func)


def _settings(data_dir: Path | None, watch: bool = False, as_json: bool = False):
    from fgrid.cli import _settings as settings_from
    from fgrid.errors import InputError

    if watch and as_json:
        raise InputError("--watch and --json cannot be combined: --json prints one document")
    return settings_from(data_dir)


def _console(stderr: bool = False):
    from fgrid.cli import _console as console

    return console(stderr=stderr)


def _print_json(doc: Any) -> None:
    from fgrid.cli import _print_json as print_json

    print_json(doc)


def _watch(make: Callable[[], Any], interval: float) -> None:
    """Refresh ``make()`` in place every ``interval`` seconds until Ctrl-C."""
    from rich.live import Live

    with contextlib.suppress(KeyboardInterrupt), Live(make(), console=_console(), refresh_per_second=4) as live:
        while True:
            time.sleep(interval)
            live.update(make())


@contextlib.contextmanager
def _cbreak(stream: Any) -> Iterator[Callable[[float], str | None]]:
    """Read single keys from ``stream`` without blocking (cbreak mode, restored on exit); Ctrl-C still works."""
    try:
        fd = stream.fileno()
        interactive = os.isatty(fd)
    except (AttributeError, ValueError, OSError):
        interactive = False
    if not interactive:
        def wait_only(timeout: float) -> str | None:
            time.sleep(timeout)
            return None

        yield wait_only
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def read_key(timeout: float) -> str | None:
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 1).decode(errors="ignore") if ready else None

    try:
        yield read_key
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
