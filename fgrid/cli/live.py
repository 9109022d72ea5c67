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


#: Seconds a ``--wait`` waits on a PENDING task before it checks, once, that a worker consumes its queue.
NO_WORKER_AFTER = 3.0


class Follow(Protocol):
    """Wait for a task to end and return its last state document; ``show``: draw a live view on stderr."""

    def __call__(
        self, settings: Settings, task_id: str, timeout: float | None, show: bool = True
    ) -> dict[str, Any]: ...


class Watchman:
    """What a wait says on stderr besides its live view: a broker outage and its end, and, once, that no worker
    consumes the queue of a task that has waited :data:`NO_WORKER_AFTER` seconds (naming the command to start one)."""

    def __init__(self, settings: Settings, say: Callable[[str], None]):
        self.settings = settings
        self.say = say
        self.checked = False

    def notice(self, message: str) -> None:
        self.say(message)

    def update(self, info: dict[str, Any]) -> None:
        if self.checked or info["state"] != "PENDING" or (info.get("elapsed") or 0) < NO_WORKER_AFTER:
            return
        self.checked = True
        from fgrid.service import monitor

        queue = info.get("queue")
        try:
            consumers = monitor.consumers(self.settings, queue) if queue else None
        except FgridError:
            return  # an outage is the wait's to report
        if consumers == []:
            self.say(
                f"no worker consumes the {queue!r} queue: the task waits until one does; start one with "
                f"`fgrid worker -Q {queue}`"
            )


def follow(settings: Settings, task_id: str, timeout: float | None, show: bool = True) -> dict[str, Any]:
    """Wait for a task, refreshing a live table on stderr (so stdout keeps only data); a fan-out's parts and a
    training's stage and percentage show as they move."""
    from fgrid.render.tasks import task_table
    from fgrid.service import lifecycle

    err = console(stderr=True)
    if not show or not err.is_terminal:
        # No live view where nothing redraws (a pipe, a log file): the notices only, each on a line of its own.
        watchman = Watchman(settings, lambda line: err.print(line, soft_wrap=True))
        info = lifecycle.wait(settings, task_id, timeout, on_update=watchman.update, on_notice=watchman.notice)
        if show:
            err.print(task_table([info]))  # where it ended, once
        return info
    from rich.live import Live

    with Live(task_table([]), console=err, refresh_per_second=10, transient=False) as live:
        watchman = Watchman(settings, lambda line: live.console.print(line, soft_wrap=True))

        def update(info: dict[str, Any]) -> None:
            watchman.update(info)
            live.update(task_table([info]))

        return lifecycle.wait(settings, task_id, timeout, on_update=update, on_notice=watchman.notice)


def follow_progress(settings: Settings, task_id: str, timeout: float | None, show: bool = True) -> dict[str, Any]:
    """Wait for a task that reports a stage and a percentage, with a progress bar on stderr."""
    from fgrid.service import lifecycle

    err = console(stderr=True)
    if not show or not err.is_terminal:
        return follow(settings, task_id, timeout, show)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as bar:
        job = bar.add_task("queued", total=100)
        watchman = Watchman(settings, lambda line: bar.console.print(line, soft_wrap=True))

        def update(info: dict[str, Any]) -> None:
            watchman.update(info)
            progress = info.get("progress") or {}
            percent = progress.get("percent")
            bar.update(
                job,
                description=str(progress.get("stage") or info["state"].lower()),
                completed=float(percent if percent is not None else 100 if info["state"] == "SUCCESS" else 0),
            )

        return lifecycle.wait(settings, task_id, timeout, on_update=update, on_notice=watchman.notice)


def follow_or_leave(
    settings: Settings, task_id: str, timeout: float | None, show: bool = True, follow_with: Follow = follow
) -> dict[str, Any]:
    """``follow_with`` the task; on Ctrl-C say that it continues and how to look at it again, and exit 130."""
    import typer

    from fgrid.service.lifecycle import short_id

    try:
        return follow_with(settings, task_id, timeout, show)
    except KeyboardInterrupt:
        short = short_id(task_id)
        console(stderr=True).print(f"task {short} continues: fgrid status {short}", soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


#: Exit code of a command interrupted with Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


def submit_and_report(
    settings: Settings,
    task_name: str,
    kwargs: dict[str, Any],
    wait: bool,
    timeout: float | None,
    as_json: bool,
    follow_with: Follow = follow,
) -> None:
    """Queue a task; print its id and `queued`, or with ``wait`` follow it (``follow_with``: the live view) and show
    its result. A task that ends in anything but success is an error."""
    from fgrid.render.results import result
    from fgrid.render.tasks import status_table
    from fgrid.service import lifecycle

    task_id = lifecycle.submit(settings, task_name, kwargs)
    short = lifecycle.short_id(task_id)
    err = console(stderr=True)
    if not wait:
        if as_json:
            print_json({"task_id": task_id, "status": "queued"})
        else:
            out = console()
            out.print(task_id)
            out.print("queued")
            err.print(f"follow it with `fgrid status {short} --watch`", soft_wrap=True)
        return
    if not as_json:
        err.print(f"task {short} queued", soft_wrap=True)  # first, so an interrupted wait still names the task
    info = follow_or_leave(settings, task_id, timeout, show=not as_json, follow_with=follow_with)
    doc = lifecycle.status_document(info)
    if as_json:
        print_json(doc)
    elif info["state"] == "SUCCESS":
        console().print(result(info["result"]) or status_table(doc))
    if info["state"] != "SUCCESS":
        raise FgridError(f"task {short} {info['state']}: {info.get('error') or 'no result'}")


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
