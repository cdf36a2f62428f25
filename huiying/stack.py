"""The whole stack on one machine: embedded databases, the three services, readiness, clean stop.

`make run` runs `huiying run`, which is `Stack(...).start()` then waiting for Ctrl-C. The e2e tests and
`huiying bench --spawn` use the same class, so what they test is what `make run` does.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from huiying import procs
from shared.redact import redact_url
from shared.settings import SERVICES, Settings


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

    try:
        connection = await aio_pika.connect(url, timeout=5)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


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
    mongo: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    services: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    mongo_uris: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://{self.settings.host}:{self.settings.port(service)}"

    def _output(self, name: str) -> IO[Any] | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return (self.log_dir / f"{name}.log").open("ab")

    def start(self, ready_timeout_s: float = 90.0) -> None:
        check_broker(self.settings)
        data_dir = Path(self.settings.data_dir)
        env = dict(self.env)
        try:
            for service in SERVICES:
                configured = self.settings.mongodb_uri(service)
                if configured:
                    self.mongo_uris[service] = configured
                    continue
                args = ["mongo", "--engine", self.settings.embedded_engine, "--host", "127.0.0.1", "--port", "0"]
                if self.settings.embedded_engine == "sqlite":
                    args += ["--path", str(data_dir / f"{service}.sqlite")]
                proc = procs.spawn(args, env=env, stdout=subprocess.PIPE, stderr=self._output(f"mongo-{service}"))
                self.mongo[service] = proc
                try:
                    uri = procs.read_ready_line(proc, 30)
                except (RuntimeError, TimeoutError) as exc:
                    raise StackError(f"the embedded MongoDB for {service} did not start: {exc}") from exc
                self.mongo_uris[service] = uri
                env[f"HUIYING_{service.upper()}_MONGODB_URI"] = uri
            for service in SERVICES:
                out = self._output(service)
                self.services[service] = procs.spawn(["serve", service], env=env, stdout=out, stderr=out)
            self._wait_ready(ready_timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        pending = set(SERVICES)
        with httpx.Client(timeout=2) as client:
            while pending:
                for service in sorted(pending):
                    proc = self.services[service]
                    if proc.poll() is not None:
                        raise StackError(f"{service} exited with code {proc.returncode} while starting (see its log)")
                    try:
                        if client.get(f"{self.url(service)}/readyz").status_code == 200:
                            pending.discard(service)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > end:
                    raise StackError(f"not ready within {timeout_s:.0f}s: {', '.join(sorted(pending))}")
                if pending:
                    time.sleep(0.2)

    def dead(self) -> list[str]:
        procs_ = {**{f"mongo-{k}": v for k, v in self.mongo.items()}, **self.services}
        return [name for name, proc in procs_.items() if proc.poll() is not None]

    def stop(self) -> dict[str, int | None]:
        """Services first (they finish in-flight messages and writes), then their databases."""
        codes: dict[str, int | None] = {}
        for name, proc in self.services.items():
            codes[name] = procs.stop(proc)
        for name, proc in self.mongo.items():
            codes[f"mongo-{name}"] = procs.stop(proc)
        self.services.clear()
        self.mongo.clear()
        return codes

    def banner(self) -> str:
        s = self.settings
        lines = [
            "",
            "Huiying is running (Ctrl-C stops everything).",
            f"  intake   {self.url('intake')}   docs {self.url('intake')}/docs",
            f"  routing  {self.url('routing')}   docs {self.url('routing')}/docs",
            f"  notify   {self.url('notify')}   docs {self.url('notify')}/docs",
            f"  RabbitMQ {redact_url(s.amqp_url)}  exchange {s.events_exchange}",
        ]
        for service, uri in self.mongo_uris.items():
            where = "embedded" if service in self.mongo else "configured"
            lines.append(f"  MongoDB  {service:<8} {redact_url(uri)} ({where}, db {s.mongodb_db(service)})")
        if s.is_dev:
            lines += [
                "",
                "Try it:",
                f"  curl -s -X POST {self.url('intake')}/v1/requests -H 'X-API-Key: dev-web-key' \\",
                '    -H \'Content-Type: application/json\' -d \'{"service_code":"property_repair",',
                '    "description":"厨房水管漏水","location":{"address":"3号楼2单元501"},',
                '    "resident":{"name":"王阿姨","phone":"13800138000","language":"zh-CN"}}\'',
                f"  curl -s {self.url('intake')}/v1/track/<tracking_code>",
                f"  curl -s {self.url('notify')}/v1/inbox/<tracking_code>",
            ]
        return "\n".join(lines)


def run_foreground(settings: Settings) -> int:
    import signal

    stack = Stack(settings)
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
            dead = stack.dead()
            if dead:
                print(f"huiying: {', '.join(dead)} stopped unexpectedly; stopping the stack", file=sys.stderr)
                stack.stop()
                return 1
            time.sleep(0.3)
    finally:
        print("\nhuiying: stopping services, then databases ...", file=sys.stderr, flush=True)
        stack.stop()
    print("huiying: stopped cleanly", file=sys.stderr)
    return 0
