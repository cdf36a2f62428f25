"""schemathesis over notify's OpenAPI: generated valid and invalid calls, signed in as a supervisor, against
the real app (uvicorn in-process on a free port, real RabbitMQ, embedded MongoDB). No answer may be a 5xx,
and every answer must match the schema (status, content type, body).

Half of the generated tracking codes and request ids are replaced by real ones, so calls reach the inbox and
the delivery log and not only the 404. Examples per operation: HUIYING_TEST_SCHEMATHESIS_EXAMPLES (default 100).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis

from services.notify.app import create_app
from services.notify.config import NotifySettings
from shared.bus import Bus
from shared.security import StaffClaims, issue_token
from tests.conftest import delete_topology
from tests.fuzzing import checks_for, explore
from tests.support import SESSION_TAG, ServerThread, free_port, isolated_settings, unique, wait_sync
from tests.unit.notify.events import submitted

CODE, REQUEST_ID = "HY0000000042", "fuzz-r1"


class Target:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.calls = 0


@pytest.fixture(scope="module")
def notify_target(amqp_url: str, mongo_uri: str) -> Iterator[Target]:
    names = f"{SESSION_TAG}{unique('')}-"
    config = isolated_settings(
        NotifySettings,
        amqp_url=amqp_url,
        mongo_uri=mongo_uri,
        names=names,
        # The limits have their own tests; here they would only turn generated calls into 429s.
        rate_limit_per_address=0,
        notify_inbox_misses_per_address=0,
    )
    try:
        with (
            ServerThread(create_app(config), free_port(), name="notify-under-test") as server,
            httpx.Client(base_url=server.url, timeout=15) as http,
        ):
            asyncio.run(_publish(config))
            wait_sync(lambda: http.get(f"/v1/inbox/{CODE}").status_code == 200, timeout=30, what="the inbox")
            token = issue_token(config, StaffClaims(sub="fuzz", role="supervisor"))
            yield Target(server.url, token)
    finally:
        asyncio.run(delete_topology(amqp_url, names))


async def _publish(config: NotifySettings) -> None:
    bus = Bus(config, producer="intake")
    await bus.connect()
    try:
        await bus.publish(submitted(REQUEST_ID, CODE))
    finally:
        await bus.close()


# The OpenAPI document is static, so it is read from the app without starting it.
schema = schemathesis.openapi.from_dict(create_app(NotifySettings(log_json=False, log_level="WARNING")).openapi())


@explore(schema)
def test_no_server_errors_and_answers_match_the_schema(case: Any, notify_target: Target) -> None:
    notify_target.calls += 1
    real = notify_target.calls % 2 == 0
    if real and "tracking_code" in (case.path_parameters or {}):
        case.path_parameters["tracking_code"] = CODE
    if real and isinstance(case.query, dict) and "request_id" in case.query:
        case.query["request_id"] = REQUEST_ID
    headers = {"Authorization": f"Bearer {notify_target.token}"}
    response = case.call(base_url=notify_target.url, headers=headers)
    case.validate_response(response, checks=checks_for(case.path), headers=headers)
