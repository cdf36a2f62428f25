"""Helpers shared by the tests: waiting with a deadline, unique names, free ports."""

from __future__ import annotations

import asyncio
import inspect
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Every queue, exchange, policy, broker user and database a test run creates starts with this; the session
# deletes them at the end.
SESSION_TAG = f"hyt{uuid.uuid4().hex[:6]}-"

# Prod mode refuses RabbitMQ's guest login: prod-mode tests log in as this session's own broker user, which
# tests/conftest.py creates on the shared broker when a service is started in prod mode (and deletes after).
PROD_BROKER_USER = f"{SESSION_TAG}prod"
PROD_BROKER_PASSWORD = uuid.uuid4().hex

# What prod mode accepts (long, varied, distinct secrets; a broker login that is not guest); tests that start
# a service in prod mode use these.
PROD_SECRETS = {
    "jwt_secret": "tP7vQ2xK9mR4wZ8nB3cF6hJ1sD5gL0aYeUiO-_Np",
    "webhook_secret": "Wq3Er8Ty1Ui6Op0As5Df2Gh7Jk4Lz9Xc-_VbNmQw",
    "admin_token": "Adm1nT0k3n-9fK2pL7qR4sV8wX3yZ6bC1dE5gH0j",
    "amqp_url": f"amqp://{PROD_BROKER_USER}:{PROD_BROKER_PASSWORD}@127.0.0.1:5672/",
}


async def eventually[T](
    probe: Callable[[], Awaitable[T] | T], *, timeout: float = 15.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy; fail with the last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        result = probe()
        last = await result if inspect.isawaitable(result) else result
        if last:
            return last  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        await asyncio.sleep(interval)


def wait_sync[T](probe: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.1, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """uvicorn serving one app in a background thread, lifespan included (for schemathesis, which needs
    a real HTTP server)."""

    def __init__(self, app: Any, port: int, name: str = "app-under-test") -> None:
        import threading

        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)
        self.url = f"http://127.0.0.1:{port}"
        self.name = name

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_sync(lambda: self.server.started or not self.thread.is_alive(), timeout=60, what=f"{self.name} to start")
        if not self.server.started:
            raise RuntimeError(f"{self.name} did not start (see the log above)")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def isolated_settings(cls: Any, *, amqp_url: str, mongo_uri: str, names: str, **overrides: Any) -> Any:
    """Settings of `cls` whose exchanges, queues and databases all start with `names` (a test's own),
    with quick retries and sweeps for tests."""
    values: dict[str, Any] = {
        "mode": "dev",
        "amqp_url": amqp_url,
        "events_exchange": f"{names}events",
        "work_exchange": f"{names}work",
        "queue_prefix": names,
        "retry_delay_ms": 200,
        # A safety net for runs killed before their teardown: the broker deletes idle test queues.
        "queue_expires_ms": 600_000,
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
