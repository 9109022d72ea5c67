"""``fgrid serve --workers N``: N uvicorn processes, each listening on a socket of its own.

uvicorn's own ``--workers`` hands one listening socket to every process, and whichever process wakes first accepts
every connection waiting (asyncio accepts them in a batch): clients that keep their connections open, as load
balancers and HTTP clients do, mostly end up on one process while the others idle. Here there is one socket per
process, each bound with ``SO_REUSEPORT``, and the kernel spreads new connections over them evenly.

The main process checks that the port is free, binds and listens on all the sockets itself, then starts the
processes, each handed its own. The processes finish starting at different times; had each bound its socket once
ready, the first one ready would have got every connection opened before the next one was. This way the kernel
spreads connections from the start, and those that come before a process is ready wait in its socket's queue. A
process that dies is replaced on the same socket, so the connections waiting there are served, not refused (one
that could not start at all ends the server: it would fail the same way again). On SIGINT or SIGTERM the main
process stops them all, each finishing its requests (uvicorn's graceful shutdown).

So the port answers TCP before the app does: a load balancer's readiness check should ask ``/api/health``.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import signal
import socket
import threading
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from fgrid.errors import FgridError

log = logging.getLogger("uvicorn.error")

#: The app each process serves: built there, from the environment (uvicorn's factory form).
APP_FACTORY = "fgrid.api:create_api"
#: Seconds a process gets to finish its requests when the server stops, before it is killed.
STOP_GRACE = 30.0
#: Connections a process's socket holds waiting to be accepted (uvicorn's default).
BACKLOG = 2048


def listening_socket(host: str, port: int, shared: bool) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (not yet listening); ``shared``: with ``SO_REUSEPORT``, so that every
    process of the server binds one of its own on the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left to the default: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # connections accepted from a socket that names it, and with it on, every small response waits for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def check_port(host: str, port: int) -> None:
    """FgridError if ``host``:``port`` cannot be bound: in use (by any socket, one bound with ``SO_REUSEPORT`` too,
    such as another fgrid server's: the kernel would otherwise let the two share the port), or not an address here."""
    try:
        listening_socket(host, port, shared=False).close()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise FgridError(
                f"port {port} on {host} is in use; stop what listens there or choose another port with --port"
            ) from None
        raise FgridError(f"cannot listen on {host}:{port} ({exc.strerror}); check --host") from None


def serve_processes(host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the HTTP API on ``workers`` processes until SIGINT or SIGTERM (see the module's docstring)."""
    check_port(host, port)
    uvicorn.Config(APP_FACTORY, factory=True, log_level=log_level)  # configures uvicorn's logging, here too
    spawn = multiprocessing.get_context("spawn")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    sockets = _listen_all(host, port, workers)

    def start(sock: socket.socket) -> Any:
        process = spawn.Process(target=_serve_one, args=(sock, log_level), name="fgrid-api")
        process.start()
        return process

    processes: list[Any] = []
    failed = False
    try:
        processes += [start(sock) for sock in sockets]
        log.info("fgrid api: %d processes on http://%s:%d (main process %d)", workers, host, port, os.getpid())
        while not stop.wait(0.5):
            for index, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:  # a bad app: it would fail again
                    failed = True
                    stop.set()
                    break
                log.warning("fgrid api: process %d ended (exit %s); starting another", process.pid, process.exitcode)
                processes[index] = start(sockets[index])
    finally:
        for sock in sockets:  # the processes' own copies listen on until each has stopped accepting
            sock.close()
        for process in processes:
            if process.is_alive():
                process.terminate()  # uvicorn finishes the requests under way, then exits
        for process in processes:
            process.join(STOP_GRACE)
            if process.is_alive():
                process.kill()
                process.join()
    if failed:
        raise FgridError("the API server could not start; its log above says why")


def _listen_all(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets listening on ``host``:``port`` with ``SO_REUSEPORT``, one per process."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(listening_socket(host, port, shared=True))
            sockets[-1].listen(BACKLOG)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise FgridError(f"cannot listen on {host}:{port} ({exc.strerror}); check --host and --port") from None
    return sockets


def _serve_one(sock: socket.socket, log_level: str) -> None:
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(APP_FACTORY, factory=True, host=host, port=port, log_level=log_level, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
