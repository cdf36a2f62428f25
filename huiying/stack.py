"""The whole stack on one machine: embedded databases, the services (one or more replicas each),
readiness, supervision (a child that dies is restarted with back-off), clean stop.

`make run` runs `huiying run`, which is `Stack(...).start()` then supervising until Ctrl-C. The e2e tests,
`huiying bench --spawn` and `huiying chaos` use the same class, so what they test is what `make run` does.

Ports: replica k (k = 0, 1, ...) of a service listens on the service's port + 100 * k, e.g. with
`--replicas 3` intake answers on 8001, 8101 and 8201. Each embedded database keeps a fixed port for the
run, so a database that is restarted comes back where its service expects it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from huiying import procs
from shared.redact import redact_url
from shared.settings import SERVICES, Settings

REPLICA_PORT_STEP = 100


class StackError(RuntimeError):
    pass


def quiet_client_libraries() -> None:
    """Client libraries log their own connection errors; the launcher reports them in one line instead."""
    import logging

    for name in ("aiormq", "aio_pika", "pymongo"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


async def _broker_answers(url: str) -> str | None:
    import aio_pika

    quiet_client_libraries()
    problem = None
    for one in url.split(","):  # a list of cluster nodes: one that answers is enough
        try:
            connection = await aio_pika.connect(one.strip(), timeout=5)
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            continue
        await connection.close()
        return None
    return problem


def check_broker(settings: Settings) -> None:
    problem = asyncio.run(_broker_answers(settings.amqp_url))
    if problem:
        raise StackError(
            f"RabbitMQ does not answer at {redact_url(settings.amqp_url)} ({problem}). "
            "Start it with `rabbitmq-server -detached` "
            "(not installed? `apt-get install rabbitmq-server`), or set HUIYING_AMQP_URL."
        )


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    log_dir: Path | None = None  # None: children write to this terminal
    replicas: int = 1
    # Per-service engine of the embedded database (default: settings.embedded_engine).
    engines: dict[str, str] = field(default_factory=dict)
    say: Any = None  # where restart notices go (default: stderr)
    children: dict[str, procs.Supervised] = field(default_factory=dict)
    mongo_uris: dict[str, str] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- names and addresses -------------------------------------------------------------------------

    def port(self, service: str, replica: int = 0) -> int:
        return self.settings.port(service) + REPLICA_PORT_STEP * replica

    def url(self, service: str, replica: int = 0) -> str:
        return f"http://{self.settings.host}:{self.port(service, replica)}"

    def urls(self, service: str) -> list[str]:
        return [self.url(service, k) for k in range(self.replicas)]

    @staticmethod
    def replica_name(service: str, replica: int) -> str:
        return service if replica == 0 else f"{service}-{replica + 1}"

    @property
    def services(self) -> dict[str, subprocess.Popen[bytes]]:
        """The service processes now running, by name (`intake`, `intake-2`, ...)."""
        return {n: c.proc for n, c in self.children.items() if not n.startswith("mongo-") and c.proc is not None}

    @property
    def mongo(self) -> dict[str, subprocess.Popen[bytes]]:
        return {n[6:]: c.proc for n, c in self.children.items() if n.startswith("mongo-") and c.proc is not None}

    def _output(self, name: str) -> IO[Any] | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return (self.log_dir / f"{name}.log").open("ab")

    def _say(self, line: str) -> None:
        (self.say or (lambda text: print(text, file=sys.stderr, flush=True)))(line)

    # -- start -------------------------------------------------------------------------------------------

    def check_ports(self) -> None:
        """Refuse to start, in one line, when a port is taken (say, by a `huiying run` already running)."""
        host = self.settings.host
        for service in SERVICES:
            for k in range(self.replicas):
                port = self.port(service, k)
                if not procs.port_free(host, port):
                    raise StackError(
                        f"port {port} ({self.replica_name(service, k)}) is taken by {procs.port_owner(port)}; "
                        f"stop that (another `huiying run`?) or set HUIYING_{service.upper()}_PORT"
                    )

    def start(self, ready_timeout_s: float = 90.0) -> None:
        self.check_ports()
        check_broker(self.settings)
        data_dir = Path(self.settings.data_dir)
        env = dict(self.env)
        try:
            for service in SERVICES:
                configured = self.settings.mongodb_uri(service)
                if configured:
                    self.mongo_uris[service] = configured
                    continue
                uri = self._start_mongo(service, data_dir, env)
                self.mongo_uris[service] = uri
                env[f"HUIYING_{service.upper()}_MONGODB_URI"] = uri
            for service in SERVICES:
                for k in range(self.replicas):
                    self._add(self.replica_name(service, k), self._service_starter(service, k, env))
            self._wait_ready(ready_timeout_s)
        except BaseException:
            self.stop()
            raise

    def _add(self, name: str, start: Any) -> procs.Supervised:
        child = procs.Supervised(name, start)
        child.launch()
        self.children[name] = child
        return child

    def _start_mongo(self, service: str, data_dir: Path, env: dict[str, str]) -> str:
        engine = self.engines.get(service, self.settings.embedded_engine)
        args = ["mongo", "--engine", engine, "--host", "127.0.0.1", "--port", str(_free_port())]
        if engine == "sqlite":
            args += ["--path", str(data_dir / f"{service}.sqlite")]
        name = f"mongo-{service}"
        log = self._output(name)
        child = self._add(name, lambda: procs.spawn(args, env=env, stdout=subprocess.PIPE, stderr=log))
        assert child.proc is not None
        try:
            return procs.read_ready_line(child.proc, 30)
        except (RuntimeError, TimeoutError) as exc:
            raise StackError(f"the embedded MongoDB for {service} did not start: {exc}") from exc

    def _service_starter(self, service: str, replica: int, env: dict[str, str]) -> Any:
        out = self._output(self.replica_name(service, replica))
        args = ["serve", service, "--port", str(self.port(service, replica))]
        return lambda: procs.spawn(args, env=env, stdout=out, stderr=out)

    def _wait_ready(self, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        pending = {self.replica_name(s, k): self.url(s, k) for s in SERVICES for k in range(self.replicas)}
        with httpx.Client(timeout=2) as client:
            while pending:
                for name, url in sorted(pending.items()):
                    proc = self.children[name].proc
                    if proc is not None and proc.poll() is not None:
                        raise StackError(f"{name} exited with code {proc.returncode} while starting (see its log)")
                    try:
                        if client.get(f"{url}/readyz").status_code == 200:
                            pending.pop(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > end:
                    raise StackError(f"not ready within {timeout_s:.0f}s: {', '.join(sorted(pending))}")
                if pending:
                    time.sleep(0.2)

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until every child runs (restarts included) and every replica answers /readyz."""
        end = time.monotonic() + timeout_s
        with httpx.Client(timeout=2) as client:
            while True:
                pending = [
                    self.url(s, k) for s in SERVICES for k in range(self.replicas) if not _ready(client, self.url(s, k))
                ]
                if not pending and not self.dead() and not any(c.restart_at for c in self.children.values()):
                    return
                if time.monotonic() > end:
                    raise StackError(f"not ready within {timeout_s:.0f}s: {', '.join(pending) or self.dead()}")
                time.sleep(0.3)

    # -- supervision ---------------------------------------------------------------------------------------

    def supervise(self) -> None:
        """Restart, with back-off, every child that died. Call it every few hundred milliseconds."""
        now = time.monotonic()
        with self._lock:
            for child in list(self.children.values()):
                child.check(now, self._say)

    def supervise_in_background(self, interval_s: float = 0.2) -> threading.Event:
        """A thread that supervises until the returned event is set (tools that drive the stack)."""
        done = threading.Event()

        def loop() -> None:
            while not done.wait(interval_s):
                self.supervise()

        threading.Thread(target=loop, name="huiying-supervisor", daemon=True).start()
        return done

    def kill(self, name: str, hold_s: float = 0.0) -> int:
        """SIGKILL one child (chaos); the supervisor restarts it, not before `hold_s`. Returns the pid."""
        import signal

        with self._lock:
            child = self.children[name]
            child.hold_until = time.monotonic() + hold_s
            assert child.proc is not None and child.pid is not None
            os.kill(child.pid, signal.SIGKILL)
            return child.pid

    def restarts(self) -> dict[str, int]:
        return {name: c.restarts for name, c in self.children.items() if c.restarts}

    def dead(self) -> list[str]:
        return [n for n, c in self.children.items() if c.proc is not None and c.proc.poll() is not None]

    def stop(self) -> dict[str, int | None]:
        """Services first (they finish in-flight messages and writes), then their databases."""
        from concurrent.futures import ThreadPoolExecutor

        codes: dict[str, int | None] = {}
        with self._lock, ThreadPoolExecutor(8) as pool:
            for databases in (False, True):  # every service at once, then every database at once
                group = {n: c for n, c in self.children.items() if n.startswith("mongo-") == databases}
                codes.update(zip(group, pool.map(lambda c: c.stop(), group.values()), strict=True))
            self.children.clear()
        return codes

    # -- what `huiying run` prints ----------------------------------------------------------------------

    def banner(self) -> str:
        s = self.settings
        many = self.replicas > 1
        intake, routing = self.url("intake"), self.url("routing")
        lines = [
            "",
            "Huiying is running (Ctrl-C stops everything; a service that dies is restarted with back-off).",
            "",
            f"  resident portal   {intake}/",
            f"  staff console     {routing}/console/",
            f"  ledger dashboard  {routing}/console/ledger",
        ]
        for service in SERVICES:
            lines.append(f"  {service + ' API':<17} {self.url(service)}/docs")
        if many:
            lines.append(
                f"  replicas          {self.replicas} of each service (ports + {REPLICA_PORT_STEP} per replica):"
            )
            for service in SERVICES:
                lines.append(f"    {service:<8} {'  '.join(self.urls(service))}")
        lines.append(f"  RabbitMQ          {redact_url(s.amqp_url)}  exchange {s.events_exchange}")
        for service, uri in self.mongo_uris.items():
            where = "embedded" if service in self.mongo else "configured"
            lines.append(f"  MongoDB {service:<9} {redact_url(uri)} ({where}, db {s.mongodb_db(service)})")
        if s.is_dev:
            lines += [
                "",
                "Dev logins (password dev-password): supervisor, admin, <team>.member, <team>.lead",
                "  e.g. property_maintenance.member; API key for submissions: dev-web-key",
                "",
                "Try it:",
                f"  CODE=$(curl -s -X POST {intake}/v1/requests -H 'X-API-Key: dev-web-key' \\",
                '    -H \'Content-Type: application/json\' -d \'{"service_code":"property_repair",',
                '    "description":"厨房水管漏水","location":{"address":"3号楼2单元501"},',
                '    "resident":{"name":"王阿姨","phone":"13800138000","language":"zh-CN"}}\' \\',
                "    | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"tracking_code\"])')",
                f'  curl -s {intake}/v1/track/"$CODE"',
                f'  curl -s {self.url("notify")}/v1/inbox/"$CODE"',
            ]
        return "\n".join(lines)


def _ready(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(f"{url}/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_foreground(settings: Settings, replicas: int = 1) -> int:
    import signal

    stack = Stack(settings, replicas=replicas)
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
    except StackError as exc:
        print(f"huiying: {exc}", file=sys.stderr)
        return 1
    print(stack.banner(), flush=True)
    try:
        while not stopping:
            stack.supervise()
            time.sleep(0.2)
    finally:
        print("\nhuiying: stopping services, then databases ...", file=sys.stderr, flush=True)
        stack.stop()
    print("huiying: stopped cleanly", file=sys.stderr)
    return 0
