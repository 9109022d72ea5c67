"""The embedded file broker: kombu's filesystem transport keeps each message as ``<ms>_<uuid>.<queue>.msg`` in one
folder and a consumer moves it out as it takes it; fgrid keeps worker heartbeats and the recovery lock beside it."""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from fgrid import config
from fgrid.broker import messages
from fgrid.broker.view import BrokerState
from fgrid.files import write_atomic

HEARTBEAT_FOLDER = "fgrid-workers"
LOCK_FILE = "fgrid-recovery.lock"
#: Where a consumer holds a message file while it reads it (see fgrid.broker.transports.FileChannel).
INFLIGHT_FOLDER = "inflight"
#: Seconds after which a file left in the in-flight folder is a leftover of a consumer killed while reading it (its
#: task is published again from the ledger by recovery) and is deleted.
INFLIGHT_LEFTOVER_AGE = 60


def queue_folder(broker_dir: Path) -> Path:
    """Where the messages wait."""
    return broker_dir / "queue"


def message_queue(name: str) -> str | None:
    """The queue of a message file's name, or None if the name is not a message's."""
    if not name.endswith(".msg") or name.startswith("."):
        return None
    return name.partition(".")[2].removesuffix(".msg")


def _messages(broker_dir: Path, queue: str | None = None) -> Iterator[Path]:
    try:
        entries = list(os.scandir(queue_folder(broker_dir)))
    except FileNotFoundError:
        return
    for entry in entries:
        found = message_queue(entry.name)
        if found in config.QUEUES and (queue is None or found == queue):
            yield Path(entry.path)


class FileQueues:
    """The embedded file broker's queue folder, with heartbeats and the pass lock as files beside it."""

    def __init__(self, broker_dir: Path, heartbeat_ttl: int):
        self.broker_dir = broker_dir
        self.beats = broker_dir / HEARTBEAT_FOLDER
        self.lock_path = broker_dir / LOCK_FILE
        self.heartbeat_ttl = heartbeat_ttl
        self._lock_fd: int | None = None

    def state(self) -> BrokerState:
        queued: set[str] = set()
        for path in _messages(self.broker_dir):
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # taken by a worker meanwhile
                continue
            if task_id := messages.task_id(raw):
                queued.add(task_id)
        self._clear_leftovers()
        # The file broker has no `unacked`: a worker holds what it took in memory only.
        return BrokerState(queued, {})

    def _clear_leftovers(self) -> None:
        folder = self.broker_dir / INFLIGHT_FOLDER
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return
        for entry in entries:
            try:
                if entry.stat().st_mtime < time.time() - INFLIGHT_LEFTOVER_AGE:
                    os.unlink(entry.path)
            except FileNotFoundError:
                continue

    def restore(self, tag: str) -> None:
        raise NotImplementedError("the file broker keeps no unacknowledged messages")

    drop = restore

    def _beat_path(self, hostname: str) -> Path:
        return self.beats / (re.sub(r"[^A-Za-z0-9@._-]", "_", hostname) + ".json")

    def heartbeat(self, hostname: str, ids: Iterable[str]) -> None:
        self.beats.mkdir(parents=True, exist_ok=True)
        doc = {"hostname": hostname, "pid": os.getpid(), "at": time.time(), "ids": sorted(ids)}
        write_atomic(self._beat_path(hostname), json.dumps(doc))

    def forget(self, hostname: str) -> None:
        self._beat_path(hostname).unlink(missing_ok=True)

    def live_workers(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        if not self.beats.exists():
            return out
        for path in self.beats.glob("*.json"):
            try:
                doc = json.loads(path.read_text())
            except (FileNotFoundError, ValueError):
                continue
            if doc.get("at", 0) < time.time() - self.heartbeat_ttl:
                path.unlink(missing_ok=True)
                continue
            out[doc["hostname"]] = set(doc.get("ids") or ())
        return out

    def lock(self) -> bool:
        self._lock_fd = try_lock(self.lock_path)
        return self._lock_fd is not None

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None


def try_lock(path: Path) -> int | None:
    """An exclusive ``flock`` on ``path`` (created owner-only) if no other process holds one: the descriptor to
    close to release it, or None. The kernel releases it when the holder's process ends."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def depths(broker_dir: Path) -> dict[str, dict[str, int | None]]:
    """Per queue: message files waiting. Reserved messages live only in their worker (remote control reports them)."""
    counts = dict.fromkeys(config.QUEUES, 0)
    for path in _messages(broker_dir):
        counts[message_queue(path.name) or ""] += 1
    return {q: {"waiting": n, "reserved": None} for q, n in counts.items()}


def take_all(broker_dir: Path, queue: str) -> list[bytes]:
    """Take every waiting message of ``queue``."""
    taken = []
    for path in _messages(broker_dir, queue):
        try:
            raw = path.read_bytes()
            path.unlink()  # whoever unlinks it owns it: a worker taking it meanwhile moves it first
        except FileNotFoundError:
            continue
        taken.append(raw)
    return taken


def remove(broker_dir: Path, task_ids: set[str]) -> int:
    """Delete the waiting messages of ``task_ids``; return how many were removed."""
    removed = 0
    for path in _messages(broker_dir):
        try:
            if messages.task_id(path.read_bytes()) in task_ids:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # taken by a worker meanwhile: the revoke covers it
            continue
    return removed
