"""A TCP relay on a free loopback port that forwards every connection to one server and counts them: how many
connections a client opens to a broker, seen from outside the client; and a broker that goes away and comes back
(``down``, ``up``) without touching the server behind it."""

from __future__ import annotations

import socket
import threading
from typing import Any


class Relay:
    """Forwards each connection made to ``127.0.0.1:port`` to ``target``; ``accepted`` counts them."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.accepted = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]

    def __enter__(self) -> Relay:
        self._serve()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.down()

    def down(self) -> None:
        """Stop listening and cut every relayed connection: to its clients, the server has gone."""
        _close(self._listener)
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def up(self) -> None:
        """Listen again on the same port."""
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._serve()

    def _serve(self) -> None:
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by down()
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self.accepted += 1
                self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    """Shut down (which wakes a thread blocked in accept or recv on it), then close."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
