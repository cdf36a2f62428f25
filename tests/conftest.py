"""Fixtures: the real RabbitMQ on this machine and an embedded MongoDB (mongoeco, memory engine)
reached through the real PyMongo driver. Every test gets its own exchange, queue and database names.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aio_pika
import pytest
from pymongo import AsyncMongoClient

from shared.settings import Settings
from tests.support import SESSION_TAG, unique

AMQP_URL = os.environ.get("HUIYING_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def pytest_configure(config: pytest.Config) -> None:
    # Tests must not pick up a developer's .env or HUIYING_* variables.
    for key in list(os.environ):
        if key.startswith("HUIYING_") and not key.startswith("HUIYING_TEST_"):
            del os.environ[key]


@pytest.fixture(scope="session")
def amqp_url() -> str:
    async def probe() -> None:
        conn = await aio_pika.connect(AMQP_URL, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        pytest.exit(f"RabbitMQ is not reachable at 127.0.0.1:5672 ({exc}); start it with `rabbitmq-server -detached`")
    yield AMQP_URL
    _delete_session_topology()


def _delete_session_topology() -> None:
    """Remove every queue and exchange this session created (names start with SESSION_TAG)."""
    if shutil.which("rabbitmqctl") is None:
        return

    def names(kind: str) -> list[str]:
        out = subprocess.run(
            ["rabbitmqctl", "-q", f"list_{kind}", "name"], capture_output=True, text=True, timeout=60
        ).stdout
        return [n.strip() for n in out.splitlines() if n.strip().startswith(SESSION_TAG)]

    async def delete(queues: list[str], exchanges: list[str]) -> None:
        conn = await aio_pika.connect(AMQP_URL)
        async with conn:
            channel = await conn.channel()
            for q in queues:
                await channel.queue_delete(q)
            for e in exchanges:
                await channel.exchange_delete(e)

    try:
        asyncio.run(delete(names("queues"), names("exchanges")))
    except Exception as exc:
        print(f"could not clean up test queues: {exc}", file=sys.stderr)


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    """One embedded memory-engine MongoDB-wire server for the session; tests use their own databases."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "huiying.cli", "mongo", "--engine", "memory", "--port", "0"],
        stdout=subprocess.PIPE,
    )
    from huiying.procs import read_ready_line, stop

    try:
        uri = read_ready_line(proc, 30)
    except BaseException:
        stop(proc)
        raise
    yield uri
    stop(proc)


@pytest.fixture
def names() -> str:
    """A unique prefix for this test's exchanges, queues and databases."""
    return f"{SESSION_TAG}{unique('')}-"


@pytest.fixture
def make_settings(amqp_url: str, mongo_uri: str, names: str) -> Callable[..., Any]:
    """Settings isolated to this test; pass a Settings subclass and overrides."""

    def build(cls: type[Settings] = Settings, **overrides: Any) -> Any:
        values: dict[str, Any] = {
            "mode": "dev",
            "amqp_url": amqp_url,
            "events_exchange": f"{names}events",
            "work_exchange": f"{names}work",
            "queue_prefix": names,
            "retry_delay_ms": 200,
            "delivery_limit": 3,
            "transient_retry_limit": 20,
            "outbox_lease_s": 2.0,
            "outbox_sweep_interval_s": 0.2,
            "prefetch": 16,
            "log_json": False,
            "log_level": "WARNING",
            "data_dir": "/tmp/huiying-test-unused",
        }
        for service in ("intake", "routing", "notify"):
            values[f"{service}_mongodb_uri"] = mongo_uri
            values[f"{service}_mongodb_db"] = f"{names}{service}".replace(".", "_").replace("-", "_")
        values.update(overrides)
        return cls(**values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def mongo(mongo_uri: str) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    yield client
    await client.close()


SERVICE_FACTORIES = {
    "intake": ("services.intake.app", "services.intake.config", "IntakeSettings"),
    "routing": ("services.routing.app", "services.routing.config", "RoutingSettings"),
    "notify": ("services.notify.app", "services.notify.config", "NotifySettings"),
}


@pytest.fixture
def run_service(make_settings: Callable[..., Any]) -> Callable[..., Any]:
    """`async with run_service("intake", clock=..., **settings) as (client, app):` — the service's real app,
    in-process (lifespan started: real MongoDB, real RabbitMQ), driven through httpx."""
    import contextlib
    import importlib

    import httpx
    from asgi_lifespan import LifespanManager

    @contextlib.asynccontextmanager
    async def run(service: str, *, clock: Any = None, **overrides: Any) -> AsyncIterator[tuple[Any, Any]]:
        app_module, config_module, cls_name = SERVICE_FACTORIES[service]
        settings_cls = getattr(importlib.import_module(config_module), cls_name)
        settings = make_settings(settings_cls, **overrides)
        create_app = importlib.import_module(app_module).create_app
        app = create_app(settings, clock=clock) if clock else create_app(settings)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
                yield client, app

    return run
