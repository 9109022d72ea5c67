"""fgrid's result stores: Celery's, with each stored state saying when its task started running, so that
``fgrid tasks`` shows the real run time beside the wait, at no extra write (the start rides on the state the task
stores anyway). The embedded one also writes atomically and tells a full or read-only folder from a missing one.

Celery's own ``FilesystemBackend`` writes a result file in place, so a reader polling it can see half a JSON
document; here each write goes to a temporary file that then replaces the old one. Celery also refuses to open the
store unless it can write a test file there, so on a full disk even ``fgrid status`` failed; here a folder that
exists and can be read is opened, and a write that fails later says why (fgrid.files.storage_error).
"""

from __future__ import annotations

import os
from typing import Any

from celery.backends.filesystem import FilesystemBackend
from celery.backends.redis import RedisBackend
from celery.exceptions import ImproperlyConfigured
from kombu.utils.encoding import ensure_bytes

from fgrid.files import write_atomic

#: The attribute of a task's request that holds when it started running (epoch seconds; set by fgrid's base task).
STARTED_ATTRIBUTE = "fgrid_started"


class RecordsStart:
    """Result-store mixin: every stored state of a task carries ``date_started`` once the task runs."""

    def _get_result_meta(
        self, result: Any, state: str, traceback: Any, request: Any, format_date: bool = True, encode: bool = False
    ) -> dict[str, Any]:
        meta: dict[str, Any] = super()._get_result_meta(  # type: ignore[misc]  # Celery's backend, next in the MRO
            result, state, traceback, request, format_date=format_date, encode=encode
        )
        started = getattr(request, STARTED_ATTRIBUTE, None)
        if started is not None:
            meta["date_started"] = started
        return meta


class RedisResultStore(RecordsStart, RedisBackend):
    """Celery's Redis result store, recording starts, and no subscription per submit.

    Celery's store subscribes its client to every task it sends (and unsubscribes when the result object goes): two
    commands per submit that only a client calling ``AsyncResult.get`` at once uses. fgrid's waits subscribe
    themselves (fgrid.broker.results.StateChanges), and ``AsyncResult.get`` still works: it subscribes when
    called, then reads the stored state, so a task that finished in between is not missed.
    """

    def on_task_call(self, producer: Any, task_id: str) -> dict[str, Any]:
        return {}


class AtomicFilesystemBackend(RecordsStart, FilesystemBackend):
    """File result store whose writes are all-or-nothing."""

    def _do_directory_test(self, key: bytes) -> None:
        path = os.fsdecode(self.path)
        if not os.path.isdir(path) or not os.access(path, os.R_OK | os.X_OK):
            raise ImproperlyConfigured(
                f"the result store folder {path} does not exist or cannot be read; create it "
                f"or set CELERY_RESULT_BACKEND"
            )

    def set(self, key: Any, value: Any) -> None:
        write_atomic(os.fsdecode(self._filename(key)), ensure_bytes(value))
