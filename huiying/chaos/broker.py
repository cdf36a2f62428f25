"""A private RabbitMQ node started with this machine's own `rabbitmq-server`: its own node name, ports,
data and log directories. Tests and `huiying chaos` stop, kill and restart it without touching the
machine's shared broker; `huiying.cluster` joins three of them into a cluster.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class BrokerError(RuntimeError):
    pass


def available() -> bool:
    return shutil.which("rabbitmq-server") is not None and shutil.which("rabbitmqctl") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(probe: Callable[[], object], *, timeout: float, what: str, interval: float = 0.3) -> None:
    end = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > end:
            raise BrokerError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class PrivateNode:
    node: str  # e.g. hyc1a2b3c@localhost
    port: int
    dist_port: int
    home: Path

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
        }

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["rabbitmqctl", "-q", "-n", self.node, *args],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, 124, "", "timed out")

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (self.home / "enabled_plugins").write_text("[].\n")
        try:  # rabbitmq-server drops to the rabbitmq user when started as root
            user = pwd.getpwnam("rabbitmq")
            for path in (self.home, self.home / "rabbitmq.conf", self.home / "enabled_plugins"):
                os.chown(path, user.pw_uid, user.pw_gid)
        except (KeyError, PermissionError):
            pass

    def launch(self) -> None:
        """Start the node and return at once (`wait_started` waits for it)."""
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env, check=True, capture_output=True, timeout=60)

    def wait_started(self, timeout: float = 90) -> None:
        # `-detached` returns at once; until the node registers, await_startup says "not running".
        wait_until(
            lambda: self.ctl("await_startup", "--timeout", "30", timeout=60).returncode == 0,
            timeout=timeout,
            what=f"the private RabbitMQ node {self.node} to start",
        )

    def start(self) -> None:
        self.launch()
        self.wait_started()

    def port_free(self) -> bool:
        listing = subprocess.run(["ss", "-ltn", f"sport = :{self.port}"], capture_output=True, text=True).stdout
        return "LISTEN" not in listing

    def stop(self) -> None:
        self.ctl("stop", timeout=60)
        # `stop` returns when the node is down; wait until the port is free as well.
        wait_until(self.port_free, timeout=30, interval=0.2, what=f"port {self.port} to be free")

    def restart(self) -> None:
        self.stop()
        self.start()

    def pid(self) -> int | None:
        """The OS process id of the node's Erlang VM (None when it is down)."""
        result = self.ctl("eval", "list_to_integer(os:getpid()).", timeout=30)
        try:
            return int(result.stdout.strip()) if result.returncode == 0 else None
        except ValueError:
            return None

    def kill(self) -> None:
        """SIGKILL the node (a crash, not a stop) and wait until its port is free."""
        pid = self.pid()
        if pid is None:
            raise BrokerError(f"{self.node} is not running")
        os.kill(pid, signal.SIGKILL)
        wait_until(self.port_free, timeout=30, interval=0.2, what=f"port {self.port} to be free")

    def connections(self) -> list[tuple[str, str]]:
        """(pid, client properties) of every client connection; the pid as `close_connection` takes it."""
        result = self.ctl("list_connections", "pid", "client_properties")
        rows = [line.split("\t", 1) for line in result.stdout.splitlines()[1:] if "\t" in line]
        return [(pid, properties) for pid, properties in rows]

    def close_connections(self, name_contains: str, reason: str = "chaos: network cut") -> int:
        """Close every client connection whose properties (connection_name) contain `name_contains`."""
        closed = 0
        for pid, properties in self.connections():
            if f'"{name_contains}"' in properties and self.ctl("close_connection", pid, reason).returncode == 0:
                closed += 1
        return closed

    def destroy(self) -> None:
        if self.pid() is not None:
            self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def new_node(base: Path | None = None, name: str | None = None, port: int | None = None) -> PrivateNode:
    """A node with its own name, ports and directory (under `base`, or a new temporary directory)."""
    import tempfile

    tag = uuid.uuid4().hex[:6]
    home = (base / (name or tag)) if base else Path(tempfile.mkdtemp(prefix="huiying-rmq-"))
    node = PrivateNode(f"{name or 'hyt' + tag}@localhost", port or free_port(), free_port(), home)
    node.prepare()
    return node


def make_private_broker() -> PrivateNode:
    """A started private node in a temporary directory; `destroy()` it afterwards."""
    node = new_node()
    try:
        node.start()
    except BaseException:
        node.destroy()
        raise
    return node
