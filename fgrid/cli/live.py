"""The live loops commands run: follow a task (a table or a progress bar on stderr), refresh a view in place, read
single keys. The views themselves are pure functions of :mod:`fgrid.render`."""

from __future__ import annotations

import contextlib
import os
import select
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from fgrid.cli.output import console, print_json
from fgrid.errors import FgridError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from fgrid.config import Settings


class Follow(Protocol):
    """Wait for a task to end and return its last state document; ``show``: draw a live view on stderr."""

    def __call__(self, settings: Settings, task_id: str, timeout: float | None, show: bool = True) -> dict[str, Any]:
        ...


def follow(settings: Settings, task_id: str, timeout: float | None, show: bool = True) -> dict[str, Any]:
    """Wait for a task, refreshing a live table on stderr (so stdout keeps only data)."""
    from fgrid.render.tasks import task_table
    from fgrid.service import lifecycle

    if not show:
        return lifecycle.wait(settings, task_id, timeout)
    from rich.live import Live

    with Live(task_table([]), console=console(stderr=True), refresh_per_second=10, transient=False) as live:
        return lifecycle.wait(settings, task_id, timeout, on_update=lambda info: live.update(task_table([info])))


def follow_progress(settings: Settings, task_id: str, timeout: float | None, show: bool = True) -> dict[str, Any]:
    """Wait for a task that reports a stage and a percentage, with a progress bar on stderr."""
    from fgrid.service import lifecycle

    if not show:
        return lifecycle.wait(settings, task_id, timeout)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())
    with Progress(*columns, console=console(stderr=True)) as bar:
        job = bar.add_task("queued", total=100)

        def update(info: dict[str, Any]) -> None:
            progress = info.get("progress") or {}
            bar.update(job, description=str(progress.get("stage") or info["state"].lower()),
                       completed=float(progress.get("percent") or (100 if info["state"] == "SUCCESS" else 0)))

        return lifecycle.wait(settings, task_id, timeout, on_update=update)


def submit_and_report(settings: Settings, task_name: str, kwargs: dict[str, Any], wait: bool, timeout: float | None,
                      as_json: bool, follow_with: Follow = follow) -> None:
    """Queue a task; print its id and `queued`, or with ``wait`` follow it (``follow_with``: the live view) and show
    its result. A task that ends in anything but success is an error."""
    from fgrid.render.results import result
    from fgrid.render.tasks import status_table
    from fgrid.service import lifecycle

    task_id = lifecycle.submit(settings, task_name, kwargs)
    if not wait:
        if as_json:
            print_json({"task_id": task_id, "status": "queued"})
        else:
            out = console()
            out.print(task_id)
            out.print("queued")
        return
    info = follow_with(settings, task_id, timeout, show=not as_json)
    doc = lifecycle.status(settings, task_id)
    if as_json:
        print_json(doc)
    elif info["state"] == "SUCCESS":
        console().print(result(info["result"]) or status_table(doc))
    if info["state"] != "SUCCESS":
        raise FgridError(f"task {task_id} {info['state']}: {info.get('error') or 'no result'}")


def watch(make: Callable[[], RenderableType], interval: float) -> None:
    """Refresh ``make()`` in place on stdout every ``interval`` seconds until Ctrl-C."""
    from rich.live import Live

    with contextlib.suppress(KeyboardInterrupt), Live(make(), console=console(), refresh_per_second=4) as live:
        while True:
            time.sleep(interval)
            live.update(make())


@contextlib.contextmanager
def key_reader(stream: Any) -> Iterator[Callable[[float], str | None]]:
    """Read single keys from ``stream`` without blocking (cbreak mode, restored on exit); Ctrl-C still works.

    Yields ``read(timeout)``: the key pressed within ``timeout`` seconds, or None. On a stream that is not a
    terminal it only waits.
    """
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
