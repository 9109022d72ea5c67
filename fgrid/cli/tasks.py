"""The commands on tasks once queued: status, tasks, cancel, retry, purge."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fgrid import config
from fgrid.cli.live import follow_or_leave, watch
from fgrid.cli.options import (
    REFRESH_SECONDS,
    STATES,
    DataDirOption,
    IntervalOption,
    JsonOption,
    QueueOption,
    TaskIdArgument,
    WatchOption,
    settings_from,
)
from fgrid.cli.output import console, print_json
from fgrid.errors import InputError


def status(
    task_id: TaskIdArgument,
    watch_task: Annotated[
        bool, typer.Option("--watch", "-w", help="Follow the task's progress until it is ready.")
    ] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show a task's state and, once it is ready, its result in full.

    Example: fgrid status 3f1c9e5e --watch
    """
    from fgrid.render.tasks import status_view
    from fgrid.service import lifecycle

    settings = settings_from(data_dir)
    if watch_task:
        info = follow_or_leave(settings, lifecycle.resolve_id(settings, task_id), None, show=not as_json)
    else:
        info = lifecycle.task_state(settings, task_id)
    if as_json:
        print_json(lifecycle.status_document(info))
    else:
        console().print(status_view(info))


def list_tasks(
    state: Annotated[
        str | None,
        typer.Option("--state", "-s", metavar="STATE", help="Only tasks in this state: " + ", ".join(STATES) + "."),
    ] = None,
    queue: QueueOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Tasks to list (the newest).")] = 20,
    watch_table: WatchOption = False,
    interval: IntervalOption = REFRESH_SECONDS,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """List recent tasks: id, task, arguments, state, worker, wait, run time, age (and errors).

    Example: fgrid tasks --state FAILURE
    """
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
    task_id: TaskIdArgument,
    terminate: Annotated[bool, typer.Option("--terminate", help="Also stop it if it is already running.")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Cancel a task: revoke it (with --terminate, stop it if running).

    Example: fgrid cancel 3f1c9e5e
    """
    from fgrid.render.tasks import cancel_summary
    from fgrid.service import operations

    doc = operations.cancel(settings_from(data_dir), task_id, terminate=terminate)
    if as_json:
        print_json(doc)
    else:
        console().print(cancel_summary(doc))


def retry(
    task_id: TaskIdArgument,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue a failed or cancelled task again with the same arguments.

    Example: fgrid retry 3f1c9e5e
    """
    from fgrid.render.tasks import retry_summary
    from fgrid.service import operations

    doc = operations.retry(settings_from(data_dir), task_id)
    if as_json:
        print_json(doc)
    else:
        console().print(retry_summary(doc), soft_wrap=True)


def purge(
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help=f"The queue to empty: {', '.join(config.QUEUES)}.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: delete every waiting task of the queue.")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Delete every waiting task of one queue (needs --yes).

    Example: fgrid purge matchups --yes
    """
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
