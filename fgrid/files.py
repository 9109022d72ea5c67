"""Files written all-or-nothing: a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from fgrid.errors import StorageError

#: Prefix of the temporary names written beside their target (readers of a folder skip names starting with it).
TMP_PREFIX = ".tmp-"


def write_atomic(
    path: str | os.PathLike[str], data: bytes | str, *, durable: bool = False, mode: int | None = None
) -> None:
    """Write ``data`` to a temporary file beside ``path``, then move it into place with ``os.replace``.

    ``durable`` also flushes the file and its folder to disk (a model or a dataset that must survive a crash);
    ``mode`` sets the file's permissions (``mkstemp`` creates it owner-only). A full disk or a read-only folder
    raises StorageError naming ``path``.
    """
    target = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    try:
        _write_atomic(target, payload, durable, mode)
    except OSError as exc:
        if (storage := storage_error(exc, target)) is not None:
            raise storage from exc
        raise


def _write_atomic(target: Path, payload: bytes, durable: bool, mode: int | None) -> None:
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


#: What a full disk, a quota or the wrong permissions raise, and what to do about each.
_CAUSES = {
    errno.ENOSPC: "no space left on the device; free some space",
    errno.EDQUOT: "disk quota exceeded; free some space",
    errno.EROFS: "the file system is read-only; use a writable data folder (FGRID_DATA_DIR)",
    errno.EACCES: "permission denied; fix the folder's permissions or use another data folder (FGRID_DATA_DIR)",
    errno.EPERM: "operation not permitted; fix the folder's permissions or use another data folder (FGRID_DATA_DIR)",
}


def storage_problem(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` (itself, or what it was raised from) when it is the storage's refusal."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _CAUSES:
            return seen
        if "No space left on device" in str(seen):  # libraries that re-raise it as text (polars)
            return OSError(errno.ENOSPC, "No space left on device")
        seen = seen.__cause__ or seen.__context__
    return None


def storage_error(exc: BaseException, path: str | os.PathLike[str] | None = None) -> StorageError | None:
    """A one-line StorageError naming the path and the cause, if ``exc`` is the storage's refusal; else None."""
    found = storage_problem(exc)
    if found is None:
        return None
    where = path or found.filename or "the data folder"
    return StorageError(f"cannot write {where}: {_CAUSES[found.errno or errno.ENOSPC]}")
