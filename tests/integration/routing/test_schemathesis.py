"""schemathesis over routing's OpenAPI: generated valid and invalid calls, signed in as an admin, against
the real app (uvicorn in-process on a free port, real RabbitMQ, embedded MongoDB). No answer may be a 5xx,
and every answer must match the schema (status, content type, body).

Task ids in generated paths are replaced by real tasks half of the time, so bodies reach the lifecycle and
not only the 404. Examples per operation: HUIYING_TEST_SCHEMATHESIS_EXAMPLES (default 100), halved here.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis

from services.routing.app import create_app
from services.routing.config import RoutingSettings
from shared.bus import Bus
from shared.events import new_event
from tests.conftest import delete_topology
from tests.fuzzing import checks_for, explore
from tests.integration.routing.conftest import submitted
from tests.support import SESSION_TAG, ServerThread, free_port, isolated_settings, unique, wait_sync

EXAMPLES = max(10, int(os.environ.get("HUIYING_TEST_SCHEMATHESIS_EXAMPLES", "100")) // 2)
SACRIFICE = "fuzz.target"  # generated PATCH /v1/staff/{username} calls change this account, not the admin


class Target:
    def __init__(self, url: str, token: str, task_ids: list[str]) -> None:
        self.url, self.token, self.task_ids = url, token, task_ids
        self.calls = 0


@pytest.fixture(scope="module")
def routing_target(amqp_url: str, mongo_uri: str) -> Iterator[Target]:
    names = f"{SESSION_TAG}{unique('')}-"
    config = isolated_settings(
        RoutingSettings,
        amqp_url=amqp_url,
        mongo_uri=mongo_uri,
        names=names,
        routing_sla_sweep_interval_s=1.0,
        # The limits have their own tests; here they would only turn generated calls into 429s.
        rate_limit_per_address=0,
        routing_login_per_address=0,
        routing_login_per_account=0,
        routing_lockout_failures=0,
    )
    app = create_app(config)
    try:
        with (
            ServerThread(app, free_port(), name="routing-under-test") as server,
            httpx.Client(base_url=server.url, timeout=15) as http,
        ):
            ids = asyncio.run(_submit(config, 4))
            token = http.post("/v1/auth/login", json={"username": "admin", "password": "dev-password"}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            staff = {"username": SACRIFICE, "password": "long-enough-pw", "role": "member", "team": "legal_aid"}
            assert http.post("/v1/staff", json=staff, headers=headers).status_code == 201
            wait_sync(
                lambda: all(http.get(f"/v1/tasks/{i}", headers=headers).status_code == 200 for i in ids),
                timeout=30,
                what="the tasks to fuzz",
            )
            yield Target(server.url, token["access_token"], ids)
    finally:
        asyncio.run(delete_topology(amqp_url, names))


async def _submit(config: RoutingSettings, count: int) -> list[str]:
    bus = Bus(config, producer="intake")
    await bus.connect()
    try:
        ids = []
        for i in range(count):
            data = submitted(description=f"门锁坏了 {i}")
            await bus.publish(new_event(data, producer="intake", seq=1))
            ids.append(data.request_id)
        return ids
    finally:
        await bus.close()


schema = schemathesis.openapi.from_dict(create_app(RoutingSettings(log_json=False, log_level="WARNING")).openapi())


@explore(schema, EXAMPLES)
def test_no_server_errors(case: Any, routing_target: Target) -> None:
    routing_target.calls += 1
    params = case.path_parameters or {}
    if "request_id" in params and routing_target.calls % 2 == 0:
        params["request_id"] = routing_target.task_ids[routing_target.calls % len(routing_target.task_ids)]
    if "username" in params:
        params["username"] = SACRIFICE if routing_target.calls % 2 else f"nobody-{uuid.uuid4().hex[:6]}"
    headers = {"Authorization": f"Bearer {routing_target.token}"}
    if case.path == "/v1/auth/password":
        return  # a generated success would change the admin's password mid-run
    response = case.call(base_url=routing_target.url, headers=headers)
    case.validate_response(response, checks=checks_for(case.path), headers=headers)
