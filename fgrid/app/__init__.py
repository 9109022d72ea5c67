"""The one Celery app, ``Celery("fgrid")``, configured from :class:`fgrid.config.Settings`, and its tasks.

Building the app connects to nothing; Celery connects on first use. ``celery -A fgrid ...`` finds it as
``fgrid.celery`` (see ``fgrid/__init__.py``), built from the environment on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fgrid import files
from fgrid.config import Settings

if TYPE_CHECKING:
    from celery import Celery

_app: Celery | None = None


def create_app(settings: Settings | None = None) -> Celery:
    """Build the fgrid Celery app for ``settings`` (read from the environment when None)."""
    # Imported here, not at the top: importing fgrid.app (as the service layer and the HTTP API do) must not import
    # Celery; building the app does.
    from celery import Celery

    from fgrid.app import pool, preload, shutdown, tasks  # noqa: F401  # tasks: registers fgrid's tasks (shared tasks bind to every app)
    from fgrid.app.conf import celery_config
    from fgrid.recovery import bootstep, ledger

    settings = settings or Settings.from_env()
    if settings.embedded:
        # Owner-only: messages and results hold the tasks' arguments and results.
        folders = [
            settings.broker_dir,
            *(settings.broker_dir / sub for sub in ("queue", "control", "inflight")),
            settings.data_dir / "results",
        ]
        for folder in folders:
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise files.storage_error(exc, folder) or exc from exc
    app = Celery("fgrid", set_as_current=True)
    conf = celery_config(settings)
    app.config_from_object(conf)
    # Celery reads CELERY_RESULT_BACKEND from the environment before its configuration (the seed's variable, so
    # always set where the store is not the default): name fgrid's store class where Celery looks first.
    app.backend_cls = conf["result_backend"]
    app.fgrid_settings = settings  # read by fgrid's tasks, broker views and steps
    ledger.connect(app)  # tasks published by other clients are recorded too
    preload.connect(app)  # each worker loads the data before its first task
    shutdown.connect()  # a SIGTERM to the worker's whole process group is a warm shutdown
    pool.install(app)  # a pool process that leaves is replaced at once
    bootstep.install(app)  # each worker re-queues tasks that killed workers took with them
    return app


def get_app(settings: Settings | None = None) -> Celery:
    """Return the process's app, building it on first use (from ``settings`` or the environment)."""
    global _app
    if _app is None or (settings is not None and settings != _app.fgrid_settings):
        _app = create_app(settings)
    return _app
