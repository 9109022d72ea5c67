"""Leases in the result store: at most one holder of a name at a time, across processes and hosts.

On Redis a lease is a key set only if absent, with a short expiry that its holder renews while it lives, so a lease
whose holder died frees itself within :data:`LEASE_TTL` seconds. On the embedded file store it is an exclusive
``flock`` on a file under the result folder, which the kernel releases when its holder's process ends.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fgrid.broker import files, results

if TYPE_CHECKING:
    from celery import Celery

#: Seconds a Redis lease outlives its holder's last renewal.
LEASE_TTL = 30
#: Seconds between two renewals.
RENEW_EVERY = LEASE_TTL / 3
LEASE_KEY = "fgrid:lease:"
LEASE_FOLDER = "fgrid-leases"

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class Lease(Protocol):
    def acquire(self) -> bool: ...
    def release(self) -> None: ...


class RedisLease:
    """A lease as a Redis key holding its holder's token, renewed by a thread while held."""

    def __init__(self, client: Any, name: str, holder: str):
        self.client, self.key = client, LEASE_KEY + name
        self.token = f"{holder}:{uuid.uuid4().hex}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        if not self.client.set(self.key, self.token, nx=True, ex=LEASE_TTL):
            return False
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, name="fgrid-lease", daemon=True)
        self._thread.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_EVERY):
            with contextlib.suppress(Exception):  # an outage: the next renewal tries again (the key may expire)
                self.client.eval(_RENEW, 1, self.key, self.token, LEASE_TTL)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.client.eval(_RELEASE, 1, self.key, self.token)


class FileLease:
    """A lease as an exclusive flock on a file (released by the kernel when the holder's process ends)."""

    def __init__(self, folder: Path, name: str):
        self.path = folder / f"{name}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._fd = files.try_lock(self.path)
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def lease(app: Celery, name: str, holder: str) -> Lease:
    """A lease on ``name`` in ``app``'s result store, held by ``holder`` (a worker's name, for inspection)."""
    client = results.redis_client(app)
    if client is not None:
        return RedisLease(client, name, holder)
    folder = app.fgrid_settings.result_dir or app.fgrid_settings.data_dir / "results"
    return FileLease(Path(folder) / LEASE_FOLDER, name)
