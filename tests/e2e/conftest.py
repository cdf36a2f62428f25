"""The services as separate OS processes: the same `Stack` that `make run` starts (memory engine,
free ports, this test module's own exchange, queues and databases)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from huiying.stack import Stack
from shared.settings import Settings
from tests.conftest import AMQP_URL, DECLARED, _rabbitmqctl, delete_topology
from tests.support import SESSION_TAG, free_port


def stack_env(tmp: Path, **extra: str) -> dict[str, str]:
    tag = f"{SESSION_TAG}{uuid.uuid4().hex[:8]}-"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYING_")}
    env.update(
        {
            "HUIYING_MODE": "dev",
            "HUIYING_AMQP_URL": AMQP_URL,
            "HUIYING_EVENTS_EXCHANGE": f"{tag}events",
            "HUIYING_WORK_EXCHANGE": f"{tag}work",
            "HUIYING_QUEUE_PREFIX": tag,
            "HUIYING_EMBEDDED_ENGINE": "memory",
            "HUIYING_DATA_DIR": str(tmp / "var"),
            "HUIYING_RETRY_DELAY_MS": "300",
            "HUIYING_OUTBOX_SWEEP_INTERVAL_S": "0.5",
            "HUIYING_LOG_LEVEL": "INFO",
            # Browser and e2e tests sign in as the same seeded accounts many times a minute; the sign-in
            # throttle itself is tested in tests/integration/routing/test_signin_and_limits.py.
            "HUIYING_ROUTING_LOGIN_PER_ACCOUNT": "0",
            **{f"HUIYING_{s.upper()}_PORT": str(free_port()) for s in ("intake", "routing", "notify")},
        }
    )
    env.update(extra)
    return env


def settings_from(env: dict[str, str]) -> Settings:
    values = {k.removeprefix("HUIYING_").lower(): v for k, v in env.items() if k.startswith("HUIYING_")}
    return Settings(**values)


def delete_stack_topology(env: dict[str, str]) -> None:
    """Delete the queues and exchanges a stack (in other processes) declared under its prefix."""
    prefix = env["HUIYING_QUEUE_PREFIX"]
    for kind in ("queues", "exchanges"):
        for line in _rabbitmqctl(f"list_{kind}", "name").splitlines():
            if line.strip().startswith(prefix):
                DECLARED[kind].add(line.strip())
    asyncio.run(delete_topology(env["HUIYING_AMQP_URL"], prefix))


@contextlib.contextmanager
def running_stack(tmp: Path, **extra: str) -> Iterator[Stack]:
    """`make run`'s stack with this test's own names; stopped and its queues deleted afterwards."""
    env = stack_env(tmp, **extra)
    s = Stack(settings_from(env), env=env, log_dir=tmp / "logs")
    s.start()
    try:
        yield s
    finally:
        print("stack exit codes:", s.stop())
        delete_stack_topology(env)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[Stack]:
    """A running stack shared by the tests of one module. Logs are under the module's tmp dir."""
    with running_stack(tmp_path_factory.mktemp("stack")) as s:
        yield s


def dump_logs(stack: Stack) -> str:
    """For assertion messages: the tail of every service log."""
    out: list[str] = []
    if stack.log_dir is None:
        return ""
    for path in sorted(stack.log_dir.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()[-15:]
        out.append(f"--- {path.name}\n" + "\n".join(lines))
    return "\n".join(out)
