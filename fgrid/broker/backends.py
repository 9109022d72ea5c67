"""The embedded result store: Celery's file backend, with writes made atomic.

Celery's own ``FilesystemBackend`` writes a result file in place, so a reader polling it can see half a JSON
document; here each write goes to a temporary file that then replaces the old one.
"""

from __future__ import annotations

import os
import tempfile

from celery.backends.filesystem import FilesystemBackend
from kombu.utils.encoding import ensure_bytes


class AtomicFilesystemBackend(FilesystemBackend):
    """File result store whose writes are all-or-nothing."""

    def set(self, key, value):
        path = os.fsdecode(self._filename(key))
        fd, tmp = tempfile.mkstemp(dir=os.fsdecode(self.path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(ensure_bytes(value))
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
