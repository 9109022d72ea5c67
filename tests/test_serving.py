"""``fgrid serve --workers N`` for real: each process listens on a socket of its own, so kept connections spread
over them; a process that dies is replaced; a port in use is one line; SIGTERM to the main process ends them all."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from tests.support.processes import base_env, run_fgrid
from tests.support.servers import free_port
from tests.support.sockets import ESTABLISHED, LISTEN, children, holder, per_process
from tests.support.waiting import HANG

pytestmark = pytest.mark.e2e

CONNECTIONS = 40


def listening(server, count: int, gone: tuple[int, ...] = (), timeout: float = 60) -> list[int]:
    """The server's processes once ``count`` of them, none of ``gone``, listen on its port (each on a socket of
    its own)."""
    deadline = time.monotonic() + timeout
    while True:
        held = per_process(server.port, children(server.pid), LISTEN)
        pids = [pid for pid, n in held.items() if n]
        if len(pids) == count and not set(pids) & set(gone):
            return pids
        assert time.monotonic() < deadline, f"not {count} listening processes: {server.text()[-1500:]}"
        time.sleep(0.05)


def get_over(conn: socket.socket, path: str = "/openapi.json") -> None:
    """One GET on a kept connection, its response read whole."""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        assert chunk, f"the server closed the connection after {head!r}"
        head += chunk
    header, _, body = head.partition(b"\r\n\r\n")
    assert header.startswith(b"HTTP/1.1 200"), header
    lines = header.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk, "the server closed the connection mid-response"
        body += chunk


def test_kept_connections_spread_over_the_processes(data_dir, serve):
    # One listening socket shared by all the processes (uvicorn's --workers) left nearly all of them on one process.
    server = serve(base_env(data_dir), "--workers", "2")
    pids = listening(server, 2)
    conns = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(CONNECTIONS)]
    try:
        for conn in conns:
            get_over(conn)
        held = per_process(server.port, pids, ESTABLISHED)
        assert sum(held.values()) == CONNECTIONS, held
        assert min(held.values()) >= CONNECTIONS // 5, held  # an even split gives 20 each; under 8 is 1 in 20,000
    finally:
        for conn in conns:
            conn.close()


def test_connections_opened_while_the_processes_start_spread_too(data_dir, serve):
    # The processes finish starting at different times. When each bound its socket once it was ready, the first
    # one ready got every connection opened before the second was: all 40, in 3 runs of 3.
    server = serve(base_env(data_dir), "--workers", "2", ready=False)
    conns: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while not conns:
            try:
                conns.append(socket.create_connection(("127.0.0.1", server.port)))
            except ConnectionRefusedError:
                assert server.proc.poll() is None and time.monotonic() < deadline, server.text()[-1500:]
                time.sleep(0.01)
        while len(conns) < CONNECTIONS:
            conns.append(socket.create_connection(("127.0.0.1", server.port)))
        served: dict[int | None, int] = {}
        for conn in conns:
            get_over(conn)
            # Who holds it, asked while it is surely open (a process closes a kept connection idle for 5 s).
            who = holder(server.port, conn.getsockname()[1], children(server.pid))
            served[who] = served.get(who, 0) + 1
        assert None not in served and len(served) == 2, served
        assert min(served.values()) >= CONNECTIONS // 5, served
    finally:
        for conn in conns:
            conn.close()


def test_a_process_that_dies_is_replaced_and_sigterm_ends_them_all(data_dir, serve):
    server = serve(base_env(data_dir), "--workers", "2")
    first = listening(server, 2)
    os.kill(first[0], signal.SIGKILL)
    now = listening(server, 2, gone=(first[0],))
    assert first[1] in now
    assert f"process {first[0]} ended (exit -9); starting another" in server.text()
    # The new process serves: of 20 connections, those the kernel gives its socket are answered by it.
    (new,) = set(now) - {first[1]}
    conns = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    try:
        served = []
        for conn in conns:
            get_over(conn, "/api/health")
            served.append(holder(server.port, conn.getsockname()[1], now))
        assert new in served and first[1] in served, served  # each 1 in 2**20 by chance
    finally:
        for conn in conns:
            conn.close()

    os.kill(server.pid, signal.SIGTERM)  # the main process alone, as a process manager stops it
    server.proc.wait(HANG)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in now)


def test_a_port_in_use_is_one_line_before_anything_starts(data_dir):
    port = free_port()
    with socket.create_server(("127.0.0.1", port)):
        for workers in ("1", "2"):
            started = time.monotonic()
            result = run_fgrid(["serve", "--port", str(port), "--workers", workers], base_env(data_dir), timeout=60)
            assert time.monotonic() - started < HANG
            assert result.returncode != 0
            assert result.stderr.strip().splitlines() == [
                f"error: port {port} on 127.0.0.1 is in use; stop what listens there or choose another port with --port"
            ], result.stderr
