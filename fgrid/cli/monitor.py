"""The commands that watch the running system: queues, workers, top, doctor."""

from __future__ import annotations

import sys
import threading
import time
from typing import Annotated, Any

import typer

from fgrid import config
from fgrid.cli.live import key_reader, watch
from fgrid.cli.options import (
    REFRESH_SECONDS,
    DataDirOption,
    InspectTimeoutOption,
    IntervalOption,
    JsonOption,
    WatchOption,
    settings_from,
)
from fgrid.cli.output import console, print_json
from fgrid.errors import FgridError, UnavailableError

#: Checks whose failure means the broker or result store cannot be reached (doctor exits as unavailable).
REACHABILITY_CHECKS = ("broker reachable", "result store reachable")


def queues(
    watch_table: WatchOption = False,
    interval: IntervalOption = REFRESH_SECONDS,
    timeout: InspectTimeoutOption = config.INSPECT_TIMEOUT,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show each queue's waiting and reserved messages and its consumers.

    Example: fgrid queues --watch
    """
    from fgrid.render.monitor import queues_table
    from fgrid.service import monitor

    settings = settings_from(data_dir, watch_table, as_json)
    if watch_table:
        watch(lambda: queues_table(monitor.list_queues(settings, timeout)), interval)
    elif as_json:
        print_json({"queues": monitor.list_queues(settings, timeout)})
    else:
        console().print(queues_table(monitor.list_queues(settings, timeout)))


def workers(
    timeout: InspectTimeoutOption = config.INSPECT_TIMEOUT, as_json: JsonOption = False, data_dir: DataDirOption = None
) -> None:
    """Show the running workers: queues, pool, concurrency, active and processed tasks, uptime, memory.

    Example: fgrid workers
    """
    from fgrid.render.monitor import workers_table
    from fgrid.service import monitor

    rows = monitor.inspect_workers(settings_from(data_dir), timeout)
    if as_json:
        print_json({"workers": rows})
    elif rows:
        console().print(workers_table(rows))
    else:
        console(stderr=True).print(
            f"no worker answered within {timeout:g} s; start one with `fgrid worker` (or wait longer: --timeout)"
        )


def doctor(
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on warnings too (no trained model, no worker on the ai queue).")
    ] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Check the setup: broker, result store, workers per queue, registered tasks, data, ai model.

    Failures exit non-zero; warnings (what only the ai commands need) exit 0 unless --strict.

    Example: fgrid doctor
    """
    from fgrid.render.monitor import doctor_lines
    from fgrid.service import health

    checks = health.doctor(settings_from(data_dir))
    failed = [c for c in checks if not c["ok"] and (strict or c.get("level") != "warning")]
    warned = [c for c in checks if not c["ok"] and c.get("level") == "warning"]
    if as_json:
        print_json({"ok": not failed, "warnings": len(warned), "checks": checks})
    else:
        console().print(doctor_lines(checks), soft_wrap=True)
    if failed:
        unreachable = any(c["check"] in REACHABILITY_CHECKS for c in failed)
        message = f"doctor: {len(failed)} of {len(checks)} checks failed; first fix: {failed[0]['fix']}"
        raise (UnavailableError if unreachable else FgridError)(message)


def top(interval: IntervalOption = REFRESH_SECONDS, data_dir: DataDirOption = None) -> None:
    """Show a full-screen live dashboard of queues, workers, rates and failures (q quits).

    Example: fgrid top --interval 2
    """
    from rich.live import Live

    from fgrid.app import get_app
    from fgrid.broker import connection
    from fgrid.render.monitor import dashboard
    from fgrid.service import monitor

    settings = settings_from(data_dir)
    connection.check_broker(get_app(settings))  # an unreachable broker is one line and exit 3, not a blank screen
    state: dict[str, Any] = {"snap": None, "rate": None, "error": None}
    stop = threading.Event()

    def collect() -> None:
        # Reads in the background, so a slow broker never freezes the screen or the q key.
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
        with (
            key_reader(sys.stdin) as read_key,
            Live(dashboard(None), console=console(), screen=True, refresh_per_second=4, redirect_stderr=False) as live,
        ):
            while True:
                key = read_key(0.25)
                if key and key.lower() == "q":
                    break
                live.update(dashboard(state["snap"], state["rate"], state["error"]))
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
