"""Which process holds which TCP socket, read from /proc (Linux): the listening sockets and the accepted
connections of a server's processes on one port."""

from __future__ import annotations

import os
from pathlib import Path

LISTEN = "0A"
ESTABLISHED = "01"


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (all its threads'), empty once it has gone."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except (FileNotFoundError, ProcessLookupError):
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _sockets(port: int, state: str, peer_port: int | None = None) -> set[str]:
    """Inodes of the TCP sockets (IPv4 and IPv6) whose local port is ``port``, in ``state`` (and whose peer's port
    is ``peer_port``, if given)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            if local == port and fields[3] == state and peer_port in (None, remote):
                found.add(fields[9])
    return found


def per_process(port: int, pids: list[int], state: str) -> dict[int, int]:
    """How many TCP sockets on local port ``port`` in ``state`` (LISTEN, ESTABLISHED) each of ``pids`` holds."""
    wanted = _sockets(port, state)
    return {pid: len(_inodes(pid) & wanted) for pid in pids}


def holder(port: int, peer_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the accepted connection on local port ``port`` whose peer is ``peer_port`` (the
    client's end of it); None if none does."""
    wanted = _sockets(port, ESTABLISHED, peer_port)
    return next((pid for pid in pids if _inodes(pid) & wanted), None)
