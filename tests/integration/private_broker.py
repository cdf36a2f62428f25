"""A private RabbitMQ node for tests that restart the broker, so other tests (and other people's
tests on this machine) keep their broker. Started with the machine's own `rabbitmq-server`."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port, wait_sync


@dataclass
class PrivateBroker:
    node: str
    port: int
    home: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def start(self) -> None:
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env, check=True, capture_output=True, timeout=60)
        # `-detached` returns at once; until the node registers, await_startup says "not running".
        wait_sync(
            lambda: self._ctl("await_startup", "--timeout", "30", timeout=60).returncode == 0,
            timeout=90,
            interval=0.5,
            what=f"the private RabbitMQ node {self.node} to start",
        )

    def stop(self) -> None:
        self._ctl("stop", timeout=60)
        # `stop` returns when the node is down; wait until the port is free as well.
        wait_sync(self._port_free, timeout=30, interval=0.2, what=f"port {self.port} to be free")

    def _port_free(self) -> bool:
        listing = subprocess.run(["ss", "-ltn", f"sport = :{self.port}"], capture_output=True, text=True).stdout
        return "LISTEN" not in listing

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def available() -> bool:
    return shutil.which("rabbitmq-server") is not None and shutil.which("rabbitmqctl") is not None


def make_private_broker() -> PrivateBroker:
    home = Path(tempfile.mkdtemp(prefix="huiying-rmq-"))
    port, dist_port = free_port(), free_port()
    node = f"hyt{uuid.uuid4().hex[:6]}@localhost"
    (home / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{port}\nloopback_users = none\n")
    (home / "enabled_plugins").write_text("[].\n")
    try:  # rabbitmq-server drops to the rabbitmq user when started as root
        user = pwd.getpwnam("rabbitmq")
        for path in (home, home / "rabbitmq.conf", home / "enabled_plugins"):
            os.chown(path, user.pw_uid, user.pw_gid)
    except (KeyError, PermissionError):
        pass
    env = {
        **os.environ,
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
    }
    broker = PrivateBroker(node, port, home, env)
    try:
        broker.start()
    except BaseException:
        broker.destroy()
        raise
    return broker
