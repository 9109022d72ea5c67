"""The embedded result store: Celery's file backend, with writes made atomic and a full or read-only folder told
apart from a missing one.

Celery's own ``FilesystemBackend`` writes a result file in place, so a reader polling it can see half a JSON
document; here each write goes to a temporary file that then replaces the old one. Celery also refuses to open the
store unless it can write a test file there, so on a full disk even ``fgrid status`` failed; here a folder that
exists and can be read is opened, and a write that fails later says why (fgrid.files.storage_error).
"""

from __future__ import annotations

import os
from typing import Any

from celery.backends.filesystem import FilesystemBackend
from celery.exceptions import ImproperlyConfigured
from kombu.utils.encoding import ensure_bytes

from fgrid.files import write_atomic


class AtomicFilesystemBackend(FilesystemBackend):
    """File result store whose writes are all-or-nothing."""

    def _do_directory_test(self, key: bytes) -> None:
        path = os.fsdecode(self.path)
        if not os.path.isdir(path) or not os.access(path, os.R_OK | os.X_OK):
            raise ImproperlyConfigured(f"the result store folder {path} does not exist or cannot be read; create it "
                                       f"or set CELERY_RESULT_BACKEND")

    def set(self, key: Any, value: Any) -> None:
        write_atomic(os.fsdecode(self._filename(key)), ensure_bytes(value))
