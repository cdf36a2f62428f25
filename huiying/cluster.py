"""Private RabbitMQ nodes, one or a cluster, started with this machine's own `rabbitmq-server`: each with
its own node name, ports, data and log directories. Tests and `huiying chaos` stop, kill and restart
them without touching the machine's shared broker.

A local three-node RabbitMQ cluster: private nodes on this machine, each with its own name, ports and
data directory under `var/cluster/`, joined into one cluster (quorum queues declared afterwards get a
replica on every node).

    huiying cluster start [--nodes 3]      start and join the nodes; prints HUIYING_AMQP_URL (the list)
    huiying cluster status                 nodes up or down, quorum queue leaders
    huiying cluster kill NODE|--leader     SIGKILL one node (1, 2, 3) or the leader of the busiest queue
    huiying cluster revive NODE            start a killed node again (it rejoins)
    huiying cluster stop                   stop every node and delete var/cluster/

The services connect to every node: HUIYING_AMQP_URL is a comma-separated list of the nodes' URLs.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
    # The node's own management HTTP API (services put their queue policies in place through it). Never
    # the machine's shared broker on 15672: a stack on a private node must not touch the shared one.
    management_port: int = 0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}/"

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
        conf = f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        plugins = "[]"
        if self.management_port:
            conf += f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n"
            plugins = "[rabbitmq_management]"
        (self.home / "rabbitmq.conf").write_text(conf)
        (self.home / "enabled_plugins").write_text(f"{plugins}.\n")
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
    node = PrivateNode(f"{name or 'hyt' + tag}@localhost", port or free_port(), free_port(), home, free_port())
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


STATE = "cluster.json"


@dataclass
class Cluster:
    nodes: list[PrivateNode]
    base: Path

    @property
    def amqp_url(self) -> str:
        """What HUIYING_AMQP_URL is set to: every node, comma-separated."""
        return ",".join(n.url for n in self.nodes)

    @property
    def management_url(self) -> str:
        """What HUIYING_AMQP_MANAGEMENT_URL is set to: every node's management API, in the same order."""
        return ",".join(n.management_url for n in self.nodes)

    # -- life -----------------------------------------------------------------------------------------------

    @classmethod
    def create(cls, base: Path, size: int = 3) -> Cluster:
        if not available():
            raise BrokerError("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o755)  # the nodes run as the rabbitmq user when started by root
        tag = uuid.uuid4().hex[:4]
        cluster = cls([new_node(base, f"hyc{tag}n{i + 1}") for i in range(size)], base)
        cluster.save()
        try:
            cluster._start()
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    def _start(self) -> None:
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda n: n.launch(), self.nodes))
            list(pool.map(lambda n: n.wait_started(), self.nodes))
        first = self.nodes[0]
        for node in self.nodes[1:]:
            for step in (("stop_app",), ("join_cluster", first.node), ("start_app",)):
                result = node.ctl(*step, timeout=120)
                if result.returncode != 0:
                    raise BrokerError(f"{node.node}: rabbitmqctl {' '.join(step)} failed: {result.stderr.strip()}")
        members = self.running_nodes()
        if len(members) != len(self.nodes):
            raise BrokerError(f"the cluster formed with {len(members)} of {len(self.nodes)} nodes: {members}")

    def save(self) -> None:
        state = {
            "nodes": [
                {"node": n.node, "port": n.port, "dist_port": n.dist_port, "management_port": n.management_port}
                for n in self.nodes
            ]
        }
        (self.base / STATE).write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, base: Path) -> Cluster:
        try:
            state = json.loads((base / STATE).read_text())
        except FileNotFoundError:
            raise BrokerError(f"no cluster in {base} (start one with `huiying cluster start`)") from None
        nodes = [
            PrivateNode(
                n["node"], n["port"], n["dist_port"], base / n["node"].split("@")[0], n.get("management_port", 0)
            )
            for n in state["nodes"]
        ]
        return cls(nodes, base)

    def up(self) -> list[PrivateNode]:
        return [n for n in self.nodes if not n.port_free()]

    def running_nodes(self) -> list[str]:
        for node in self.up():
            result = node.ctl("eval", "rabbit_nodes:all_running().", timeout=30)
            if result.returncode == 0:
                text = result.stdout.strip().strip("[]")
                return sorted(x.strip().strip("'") for x in text.split(",") if x.strip())
        return []

    def node(self, which: str | int) -> PrivateNode:
        for i, node in enumerate(self.nodes, start=1):
            if str(which) in (str(i), node.node, node.node.split("@")[0]):
                return node
        raise BrokerError(f"no node {which!r}; the nodes are 1..{len(self.nodes)} ({', '.join(self.names())})")

    def names(self) -> list[str]:
        return [n.node for n in self.nodes]

    def kill(self, which: str | int) -> PrivateNode:
        node = self.node(which)
        node.kill()
        return node

    def revive(self, which: str | int) -> PrivateNode:
        node = self.node(which)
        if node.port_free():
            node.start()
        return node

    def destroy(self) -> None:
        for node in reversed(self.nodes):
            if not node.port_free():
                node.ctl("stop", timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)

    # -- quorum queues ----------------------------------------------------------------------------------------

    def queues(self, prefix: str = "") -> list[dict[str, Any]]:
        """Quorum queues with their message count, leader and members (asked of a node that is up)."""
        for node in self.up():
            result = node.ctl(
                "list_queues",
                "name",
                "type",
                "messages",
                "consumers",
                "leader",
                "members",
                "--formatter",
                "json",
                timeout=60,
            )
            if result.returncode == 0:
                rows: list[dict[str, Any]] = json.loads(result.stdout or "[]")
                return [r for r in rows if r.get("type") == "quorum" and str(r["name"]).startswith(prefix)]
        raise BrokerError("no node of the cluster answers")

    def busiest_queue(self, prefix: str = "") -> dict[str, Any]:
        """The consumed queue (one with consumers: not a DLQ, nor a queue only read later) holding the most
        messages; among equals, the one every request passes through first."""
        rows = [r for r in self.queues(prefix) if int(r.get("consumers") or 0) > 0]
        if not rows:
            raise BrokerError(f"no consumed quorum queue starting with {prefix!r}")
        return max(rows, key=lambda r: (int(r.get("messages") or 0), "request-events" in str(r["name"])))

    def kill_busiest_leader(self, prefix: str = "") -> tuple[str, PrivateNode]:
        queue = self.busiest_queue(prefix)
        node = self.node(str(queue["leader"]))
        node.kill()
        return str(queue["name"]), node


# -- the command ------------------------------------------------------------------------------------------------


def add_parser(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser("cluster", help="a local three-node RabbitMQ cluster")
    parser.add_argument("action", choices=["start", "status", "kill", "revive", "stop"])
    parser.add_argument("node", nargs="?", help="kill/revive: 1, 2, 3 or the node name")
    parser.add_argument("--leader", action="store_true", help="kill: the leader of the busiest quorum queue")
    parser.add_argument("--nodes", type=int, default=3, choices=range(1, 8), metavar="N")
    parser.add_argument("--dir", default="var/cluster", help="where the nodes keep their data (default var/cluster)")
    return parser


def main(args: argparse.Namespace) -> int:
    base = Path(args.dir).resolve()
    try:
        if args.action == "start":
            if (base / STATE).exists():
                raise BrokerError(f"a cluster is already in {base}: `huiying cluster stop` first")
            cluster = Cluster.create(base, args.nodes)
            print(f"cluster of {len(cluster.nodes)} nodes: {', '.join(cluster.names())}")
            print(f"export HUIYING_AMQP_URL={cluster.amqp_url}")
            print(f"export HUIYING_AMQP_MANAGEMENT_URL={cluster.management_url}")
            return 0
        cluster = Cluster.load(base)
        if args.action == "status":
            running = cluster.running_nodes()
            for i, node in enumerate(cluster.nodes, start=1):
                print(f"{i}  {node.node:<24} {node.url:<36} {'up' if node.node in running else 'down'}")
            for q in cluster.queues() if running else []:
                print(f"   {q['name']:<40} {q['messages']:>6} messages  leader {q['leader']}")
        elif args.action == "kill":
            if args.leader:
                queue, node = cluster.kill_busiest_leader()
                print(f"killed {node.node}, the leader of {queue}")
            else:
                print(f"killed {cluster.kill(args.node or '1').node}")
        elif args.action == "revive":
            print(f"{cluster.revive(args.node or '1').node} is up")
        elif args.action == "stop":
            cluster.destroy()
            print(f"stopped; {base} deleted")
    except BrokerError as exc:
        print(f"huiying cluster: {exc}", file=sys.stderr)
        return 1
    return 0
