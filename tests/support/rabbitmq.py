"""RabbitMQ for the tests: a private ``rabbitmq-server`` node on free loopback ports in its own folder (for tests that
stop or restart the broker), or a private virtual host on the machine's shared RabbitMQ (for tests that do not),
created and deleted around the test. Neither ever stops or floods the shared node.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from tests.support.servers import free_port

#: The shared node's AMQP port (guest/guest on loopback), as this machine and CI's run it.
SHARED_PORT = 5672
#: RabbitMQ's consumer timeout, as fgrid's deployment examples set it: longer than the longest task (training),
#: so a running task's unacknowledged message is never taken back from its worker.
CONSUMER_TIMEOUT_MS = 3_900_000


def _server_scripts() -> Path | None:
    """The folder of RabbitMQ's own scripts (not Debian's /usr/sbin wrappers, which switch to the rabbitmq user)."""
    found = sorted(glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin"))
    if found:
        return Path(found[-1])
    exe = shutil.which("rabbitmq-server")
    return Path(exe).resolve().parent if exe else None


def installed() -> str | None:
    """None when rabbitmq-server can be run here, else why not (a test skips with that reason)."""
    scripts = _server_scripts()
    if scripts is None or not (scripts / "rabbitmq-server").exists():
        return "rabbitmq-server is not installed (.ci/run installs it: apt-get install rabbitmq-server)"
    return None


def _answers(port: int) -> bool:
    """Whether an AMQP server answers the protocol header on ``port`` (it replies with its Connection.Start)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"AMQP\x00\x00\x09\x01")
            return len(conn.recv(8)) > 0
    except OSError:
        return False


def shared_available() -> bool:
    """Whether the shared RabbitMQ answers on loopback and ``rabbitmqctl`` can manage it."""
    return _answers(SHARED_PORT) and shutil.which("rabbitmqctl") is not None


class RabbitServer:
    """A private RabbitMQ node (its own name, AMQP and distribution ports, folders and Erlang cookie), foreground in
    its own session. ``start()`` after ``stop()`` or ``kill()`` starts it again with the same ports and data, so
    durable queues and persistent messages survive, as on a real restart."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.node = f"fgrid-test-{uuid.uuid4().hex[:10]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.proc: subprocess.Popen | None = None
        scripts = _server_scripts()
        assert scripts is not None, installed()
        self.scripts = scripts

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def env(self) -> dict[str, str]:
        f = self.folder
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))},
            "HOME": str(f),  # the node's own Erlang cookie, $HOME/.erlang.cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(f / "mnesia"),
            "RABBITMQ_LOG_BASE": str(f / "log"),
            "RABBITMQ_CONFIG_FILE": str(f / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(f / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(f / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(f / "plugins"),
            "RABBITMQ_PID_FILE": str(f / "rabbit.pid"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(f / "plugins-expand"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def _prepare(self) -> None:
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        (f / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            f"consumer_timeout = {CONSUMER_TIMEOUT_MS}\n"
            "log.file.level = info\n"
            # A 2-core test machine with other brokers on it: never block publishers for lack of free disk or memory.
            "disk_free_limit.absolute = 1MB\nvm_memory_high_watermark.relative = 0.9\n"
        )
        (f / "advanced.config").write_text("[].\n")
        (f / "rabbitmq-env.conf").write_text("")
        (f / "plugins").write_text("[].\n")  # no management plugin: nothing listens but AMQP
        cookie = f / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(uuid.uuid4().hex.upper())
            cookie.chmod(0o400)

    def start(self, timeout: float = 60) -> RabbitServer:
        """Start the node and return once it serves AMQP (`rabbitmqctl await_startup`)."""
        self._prepare()
        log = open(self.folder / "server.out", "ab")  # noqa: SIM115 - the child keeps its own descriptor
        try:
            self.proc = subprocess.Popen(
                [str(self.scripts / "rabbitmq-server")],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.folder,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while not _answers(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"rabbitmq-server did not start on port {self.port}: {self.log_tail()}")
            time.sleep(0.2)
        self.ctl("await_startup", timeout=max(5.0, deadline - time.monotonic()))
        return self

    def ctl(self, *args: str, timeout: float = 30) -> str:
        """Run ``rabbitmqctl -n NODE ARGS`` against this node; its output."""
        result = subprocess.run(
            [str(self.scripts / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr or result.stdout}")
        return result.stdout

    def stop(self, timeout: float = 30) -> None:
        """Shut the node down cleanly (SIGTERM: RabbitMQ stops as `rabbitmqctl stop` does); kill it after
        ``timeout``."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        """SIGKILL the node's whole process group (the Erlang VM and its helpers) and reap it."""
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()

    def running(self) -> bool:
        return bool(self.proc and self.proc.poll() is None)

    def log_tail(self, chars: int = 2000) -> str:
        parts = []
        for path in [self.folder / "server.out", *sorted((self.folder / "log").glob("*.log"))]:
            try:
                parts.append(path.read_text(errors="replace")[-chars:])
            except OSError:
                pass
        return "\n".join(parts)


class SharedVhost:
    """A private virtual host on the machine's shared RabbitMQ, for guest: its queues and messages are the test's
    alone, and deleting it deletes them. The shared node itself is never stopped."""

    def __init__(self) -> None:
        self.name = f"fgrid-test-{uuid.uuid4().hex[:12]}"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{SHARED_PORT}/{self.name}"

    @staticmethod
    def ctl(*args: str, timeout: float = 30) -> str:
        result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr or result.stdout}")
        return result.stdout

    def create(self) -> SharedVhost:
        self.ctl("add_vhost", self.name)
        self.ctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return self

    def delete(self) -> None:
        try:
            self.ctl("delete_vhost", self.name)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
