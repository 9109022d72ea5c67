"""The commands on tasks once queued: status, tasks, cancel, retry, purge."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fgrid import config
from fgrid.cli.live import follow, watch
from fgrid.cli.options import (
    REFRESH_SECONDS,
    DataDirOption,
    IntervalOption,
    JsonOption,
    WatchOption,
    settings_from,
)
from fgrid.cli.output import console, print_json
from fgrid.errors import InputError


def status(
    task_id: Annotated[str, typer.Argument(help="The task id printed when the task was queued.")],
    watch_task: Annotated[bool, typer.Option("--watch", help="Refresh until the task is ready.")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show a task's state and, once it is ready, its result."""
    from fgrid.render.tasks import status_table
    from fgrid.service import lifecycle

    settings = settings_from(data_dir)
    if watch_task:
        follow(settings, task_id, None, show=not as_json)
    doc = lifecycle.status(settings, task_id)
    if as_json:
        print_json(doc)
    else:
        console().print(status_table(doc))


def list_tasks(
    state: Annotated[str | None, typer.Option("--state", help="Only tasks in this state (e.g. FAILURE).")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Only tasks of this queue.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most tasks to list.")] = 20,
    watch_table: WatchOption = False,
    interval: IntervalOption = REFRESH_SECONDS,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """List recent tasks: id, task, arguments, state, worker, runtime, age."""
    from fgrid.render.tasks import tasks_table
    from fgrid.service import operations

    settings = settings_from(data_dir, watch_table, as_json)

    def fetch() -> list[dict[str, Any]]:
        return operations.list_tasks(settings, state=state, queue=queue, limit=limit)

    if watch_table:
        watch(lambda: tasks_table(fetch()), interval)
    elif as_json:
        print_json({"tasks": fetch()})
    else:
        console().print(tasks_table(fetch()))


def cancel(
    task_id: Annotated[str, typer.Argument(help="The task to cancel.")],
    terminate: Annotated[bool, typer.Option("--terminate", help="Also stop it if it is already running.")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Cancel a task: revoke it (with --terminate, stop it if running)."""
    from fgrid.render.tasks import cancel_summary
    from fgrid.service import operations

    doc = operations.cancel(settings_from(data_dir), task_id, terminate=terminate)
    if as_json:
        print_json(doc)
    else:
        console().print(cancel_summary(doc))


def retry(
    task_id: Annotated[str, typer.Argument(help="A failed task to run again.")],
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue a failed task again with the same arguments and print the new id."""
    from fgrid.service import operations

    doc = operations.retry(settings_from(data_dir), task_id)
    if as_json:
        print_json(doc)
    else:
        console().print(doc["task_id"])


def purge(
    queue: Annotated[str, typer.Argument(help=f"The queue to empty: {', '.join(config.QUEUES)}.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: delete every waiting task of the queue.")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Delete every waiting task of one queue (needs --yes)."""
    from fgrid.service import operations

    if queue not in config.QUEUES:
        raise InputError(f"unknown queue {queue!r}; queues are {', '.join(config.QUEUES)}")
    if not yes:
        raise InputError(f"purge deletes every waiting task of {queue!r}; add --yes to confirm")
    count = operations.purge(settings_from(data_dir), queue)
    if as_json:
        print_json({"queue": queue, "purged": count})
    else:
        console().print(f"purged {count} waiting task(s) from {queue}")
