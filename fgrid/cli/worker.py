"""``fgrid worker``: build the argv of Celery's own worker on fgrid's app, and hand over (or detach, or stop)."""

from __future__ import annotations

from typing import Annotated

import typer

from fgrid import config
from fgrid.cli.options import DataDirOption, settings_from
from fgrid.cli.output import console
from fgrid.errors import InputError


def worker(
    queues: Annotated[str, typer.Option("--queues", "-Q", help="Queues to consume, comma-separated.")] = ",".join(
        config.QUEUES
    ),
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-c", help="Worker processes.")] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l", help="debug, info, warning or error.")] = (
        config.DEFAULT_LOGLEVEL
    ),
    max_tasks_per_child: Annotated[
        int, typer.Option("--max-tasks-per-child", help="Recycle a process after N tasks.")
    ] = config.DEFAULT_MAX_TASKS_PER_CHILD,
    max_memory_per_child: Annotated[
        int | None, typer.Option("--max-memory-per-child", help="Recycle a process above this resident memory (KiB).")
    ] = None,
    hostname: Annotated[str | None, typer.Option("--hostname", "-n", help="Node name, e.g. w1@%h.")] = None,
    pool: Annotated[str | None, typer.Option("--pool", "-P", help="prefork, threads or solo.")] = None,
    events: Annotated[
        bool,
        typer.Option(
            "--task-events",
            "-E",
            help="Send task events (for Flower and `celery events`; Flower also turns them on by itself).",
        ),
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Run in the background (pid and log in the data folder).")
    ] = False,
    stop: Annotated[
        bool,
        typer.Option("--stop", help="Stop the worker NAME started with --detach (w1 for w1@host), or all of them."),
    ] = False,
    name: Annotated[
        str | None, typer.Argument(metavar="[NAME]", help="With --stop: the worker to stop.", show_default=False)
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run a worker that executes fgrid's tasks (Celery's own worker, on fgrid's app).

    Example: fgrid worker --detach -n w1@%h    (stop it: fgrid worker --stop w1)
    """
    from fgrid.service import workers

    settings = settings_from(data_dir)
    if name is not None and not stop:
        raise InputError(f"a worker NAME ({name!r}) is only taken with --stop; name a new worker with -n {name}@%h")
    if stop:
        stopped = workers.stop_detached(settings, name)
        console(stderr=True).print(f"stopped {stopped} worker(s)" if stopped else "no detached worker running")
        return
    argv = workers.worker_argv(
        settings,
        queues=queues,
        concurrency=concurrency,
        loglevel=loglevel,
        max_tasks_per_child=max_tasks_per_child,
        max_memory_per_child=max_memory_per_child,
        hostname=hostname,
        pool=pool,
        detach=detach,
        events=events,
    )
    if detach:
        pid, log, node = workers.start_detached(settings, argv)
        console(stderr=True).print(
            f"worker {node} is up and answering (pid {pid}); log: {log}; "
            f"stop it with `fgrid worker --stop {node.partition('@')[0]}`",
            soft_wrap=True,
        )
        return
    status = workers.run(settings, argv)
    if status:
        raise typer.Exit(status)
