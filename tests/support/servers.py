"""A private redis-server on a free loopback port, in its own folder: never the machine's shared Redis on 6379.

It can be stopped (SIGTERM) or crashed (SIGKILL) and started again on the same port, as the fault tests do.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

#: Ports come from below Linux's ephemeral range (read from the kernel, usually 32768-60999), so the kernel never
#: gives one of them to another socket (a bind to port 0, an outgoing connection), even while a test has stopped the
#: Redis that owns it. Each pytest-xdist worker draws from its own slice, so parallel workers never collide.
_LOWEST = 20000
_SLICE = 500
_given: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nothing listens on, never handed out before by this process."""
    slices = (_ephemeral_low() - _LOWEST) // _SLICE
    if slices < 2:  # an unusual kernel setting: let the kernel choose
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw3" in pytest-xdist's fourth worker
    index = int(worker[2:]) + 1 if worker[:2] == "gw" and worker[2:].isdigit() else 0
    first = _LOWEST + (index % slices) * _SLICE
    offset = random.randrange(_SLICE)
    for i in range(_SLICE):
        port = first + (offset + i) % _SLICE
        if port not in _given and _bindable(port):
            _given.add(port)
            return port
    raise RuntimeError(f"no free port in {first}-{first + _SLICE - 1}")


class RedisServer:
    """A private redis-server on a free loopback port, in its own folder and its own session.

    ``start()`` after ``stop()`` or ``kill()`` restarts it on the same port (with ``appendonly`` its data survives).
    """

    def __init__(self, folder: Path, appendonly: bool = False, password: str | None = None):
        self.folder = folder
        self.port = free_port()
        self.appendonly = appendonly
        self.password = password
        self.proc: subprocess.Popen | None = None
        self._started_once = False

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> RedisServer:
        """Start it and return once it answers PING (loaded, when it replays an append-only file)."""
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (.ci/run installs it: apt-get install redis-server)")
        self.folder.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):
            if self._spawn(exe, timeout):
                self._started_once = True
                return self
            if self._started_once:  # a restart must keep its port
                break
            self.port = free_port()  # taken between the check and the start: try another
        raise RuntimeError(f"redis-server did not start on port {self.port}: {self.log_tail()}")

    def _spawn(self, exe: str, timeout: float) -> bool:
        args = [
            exe,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--logfile",
            str(self.folder / "redis.log"),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._answers():
                return True
            time.sleep(0.02)
        self.kill()
        return False

    def _answers(self) -> bool:
        """Whether the server replies PONG (not -LOADING while it replays its append-only file)."""
        request = (f"AUTH {self.password}\r\n" if self.password else "") + "PING\r\n"
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(request.encode())
                reply = b""
                while b"PONG" not in reply and b"-" not in reply and len(reply) < 4096:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                return b"+PONG" in reply
        except OSError:
            return False

    def stop(self, timeout: float = 10) -> None:
        """Shut it down (SIGTERM), or kill it if it does not exit in ``timeout`` seconds."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """Crash it (SIGKILL) and reap it."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def running(self) -> bool:
        return bool(self.proc and self.proc.poll() is None)

    def client(self):
        """A redis-py client of this server (redis is imported here: importing this module stays light)."""
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password)

    def flush(self) -> None:
        """Remove every key."""
        client = self.client()
        try:
            client.flushall()
        finally:
            client.close()

    def log_tail(self, chars: int = 1000) -> str:
        try:
            return (self.folder / "redis.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""
