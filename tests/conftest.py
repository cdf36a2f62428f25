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
from tests.support import PROD_BROKER_PASSWORD, PROD_BROKER_USER, SESSION_TAG, isolated_settings, unique

AMQP_URL = os.environ.get("HUIYING_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def pytest_configure(config: pytest.Config) -> None:
    # Tests must not pick up a developer's .env or HUIYING_* variables.
    for key in list(os.environ):
        if key.startswith("HUIYING_") and not key.startswith("HUIYING_TEST_"):
            del os.environ[key]


# Every queue and exchange a test (or a service running inside it) declares is recorded here, so the test
# can delete what it made when it ends: quorum queues hold file handles, and a broker started with the
# distribution's default limit (1024) stops accepting connections once a few hundred are left behind.
DECLARED: dict[str, set[str]] = {"queues": set(), "exchanges": set()}


def _record_declarations() -> None:
    from aio_pika.channel import Channel

    if getattr(Channel, "_huiying_recorded", False):
        return
    declare_queue, declare_exchange = Channel.declare_queue, Channel.declare_exchange

    async def queue(self: Any, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        result = await declare_queue(self, name, *args, **kwargs)
        if name and name.startswith(SESSION_TAG):
            DECLARED["queues"].add(name)
        return result

    async def exchange(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        result = await declare_exchange(self, name, *args, **kwargs)
        if name.startswith(SESSION_TAG):
            DECLARED["exchanges"].add(name)
        return result

    Channel.declare_queue = queue  # type: ignore[method-assign,assignment]
    Channel.declare_exchange = exchange  # type: ignore[method-assign,assignment]
    Channel._huiying_recorded = True  # type: ignore[attr-defined]


async def delete_topology(url: str, prefix: str) -> None:
    """Delete the recorded queues and exchanges whose names start with `prefix`, and the policies."""
    await _delete_policies(url, prefix)
    queues = sorted(q for q in DECLARED["queues"] if q.startswith(prefix))
    exchanges = sorted(e for e in DECLARED["exchanges"] if e.startswith(prefix))
    if not queues and not exchanges:
        return
    conn = await aio_pika.connect(url, timeout=10)
    async with conn:
        channel = await conn.channel()
        for q in queues:
            await channel.queue_delete(q)
            DECLARED["queues"].discard(q)
        for e in exchanges:
            await channel.exchange_delete(e)
            DECLARED["exchanges"].discard(e)


async def _delete_policies(url: str, prefix: str) -> None:
    from shared.policies import PoliciesUnavailable, delete_policies

    try:
        await delete_policies(Settings(amqp_url=url), prefix)
    except PoliciesUnavailable as exc:
        print(f"could not delete the test policies: {exc}", file=sys.stderr)


def _rabbitmqctl(*args: str) -> str:
    if shutil.which("rabbitmqctl") is None:
        return ""
    try:
        return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60).stdout
    except subprocess.TimeoutExpired:
        return ""


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    async def probe() -> None:
        conn = await aio_pika.connect(AMQP_URL, timeout=10)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        pytest.exit(
            f"RabbitMQ does not accept connections at 127.0.0.1:5672 ({type(exc).__name__}: {exc}); "
            "start it with `rabbitmq-server -detached` (`.ci/run` also restarts a broker that stopped answering)"
        )
    from shared.policies import PoliciesUnavailable, current_policies

    try:
        asyncio.run(current_policies(Settings(amqp_url=AMQP_URL)))
    except PoliciesUnavailable as exc:
        pytest.exit(f"{exc} (`.ci/run` does it)")
    _record_declarations()
    # Safety net for runs that are killed before their teardown: the broker itself deletes test queues
    # nobody has used for 10 minutes.
    _rabbitmqctl("set_policy", "--apply-to", "queues", "huiying-test-expiry", "^(hyt|bench-)", '{"expires":600000}')
    yield AMQP_URL
    _delete_session_topology()
    _rabbitmqctl("delete_user", PROD_BROKER_USER)


@pytest.fixture(scope="session")
def prod_broker_user(amqp_url: str) -> str:
    """This session's own broker user, for services started in prod mode (which refuses guest)."""
    _rabbitmqctl("add_user", PROD_BROKER_USER, PROD_BROKER_PASSWORD)
    _rabbitmqctl("set_permissions", "-p", "/", PROD_BROKER_USER, ".*", ".*", ".*")
    _rabbitmqctl("set_user_tags", PROD_BROKER_USER, "policymaker")  # it puts the queue policies in place
    return PROD_BROKER_USER


def _delete_session_topology() -> None:
    """At the end of the run, remove what is left of this session's topology (e2e stacks in subprocesses)."""
    for kind in ("queues", "exchanges"):
        for line in _rabbitmqctl(f"list_{kind}", "name").splitlines():
            if line.strip().startswith(SESSION_TAG):
                DECLARED[kind].add(line.strip())
    try:
        asyncio.run(delete_topology(AMQP_URL, SESSION_TAG))
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
async def names(amqp_url: str) -> AsyncIterator[str]:
    """A unique prefix for this test's exchanges, queues and databases; its topology is deleted after."""
    prefix = f"{SESSION_TAG}{unique('')}-"
    yield prefix
    await delete_topology(amqp_url, prefix)


@pytest.fixture
def make_settings(amqp_url: str, mongo_uri: str, names: str) -> Callable[..., Any]:
    """Settings isolated to this test; pass a Settings subclass and overrides."""

    def build(cls: type[Settings] = Settings, **overrides: Any) -> Any:
        url = overrides.pop("amqp_url", amqp_url)  # a test may bring its own broker
        return isolated_settings(cls, amqp_url=url, mongo_uri=mongo_uri, names=names, **overrides)

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
def run_service(make_settings: Callable[..., Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`async with run_service("intake", clock=..., **settings) as (client, app):` — the service's real app,
    in-process (lifespan started: real MongoDB, real RabbitMQ), driven through httpx."""
    import contextlib
    import importlib

    import httpx
    from asgi_lifespan import LifespanManager

    @contextlib.asynccontextmanager
    async def run(service: str, *, clock: Any = None, **overrides: Any) -> AsyncIterator[tuple[Any, Any]]:
        if overrides.get("mode") == "prod":
            request.getfixturevalue("prod_broker_user")
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
