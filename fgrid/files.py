"""Files written all-or-nothing: a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Prefix of the temporary names written beside their target (readers of a folder skip names starting with it).
TMP_PREFIX = ".tmp-"


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, durable: bool = False,
                 mode: int | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path``, then move it into place with ``os.replace``.

    ``durable`` also flushes the file and its folder to disk (a model or a dataset that must survive a crash);
    ``mode`` sets the file's permissions (``mkstemp`` creates it owner-only).
    """
    target = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f"{TMP_PREFIX}{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        sync_folder(target.parent)


def sync_folder(folder: str | os.PathLike[str]) -> None:
    """Flush a folder's entries to disk (after a rename in it), where the platform allows."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
