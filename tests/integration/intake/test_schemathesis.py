"""schemathesis over intake's OpenAPI: generated valid and invalid requests against the real app (served
in-process by uvicorn on a free port, real RabbitMQ, embedded MongoDB). No answer may be a 5xx, and every
answer must match the documented status codes, content types and response schemas.

The number of examples per operation is bounded (HUIYING_TEST_SCHEMATHESIS_EXAMPLES, default 100) so the
run stays within a few minutes on a 2-core machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from pymongo import MongoClient

from services.intake.app import create_app
from services.intake.config import IntakeSettings
from tests.conftest import delete_topology
from tests.fuzzing import checks_for, explore
from tests.support import SESSION_TAG, ServerThread, free_port, isolated_settings, unique

KEY = "dev-web-key"
ADMIN_TOKEN = "dev-admin-token"


@pytest.fixture(scope="module")
def intake_url(amqp_url: str, mongo_uri: str) -> Iterator[str]:
    names = f"{SESSION_TAG}{unique('')}-"
    config = isolated_settings(
        IntakeSettings,
        amqp_url=amqp_url,
        mongo_uri=mongo_uri,
        names=names,
        # The limits have their own tests; here they would only turn generated calls into 429s.
        rate_limit_per_address=0,
        rate_limit_per_key=0,
    )
    with ServerThread(create_app(config), free_port(), name="intake-under-test") as server:
        yield server.url
    # Generated data must get past the door too, or the run proved little about the deeper code.
    with MongoClient(mongo_uri) as client:
        stored = client[config.intake_mongodb_db]["requests"].count_documents({})
    asyncio.run(delete_topology(amqp_url, names))
    assert stored > 0, "no generated request was stored: the fuzzing never got past validation"


# The OpenAPI document is static (routes and the catalogue), so it is read from the app without starting it;
# the server the fixture starts is the same app with the same document.
schema = schemathesis.openapi.from_dict(create_app(IntakeSettings(log_json=False, log_level="WARNING")).openapi())


@explore(schema)
def test_no_server_errors_and_answers_match_the_schema(case: Any, intake_url: str) -> None:
    # Valid credentials let generated bodies reach validation and storage instead of stopping at 401/403.
    headers = {"X-API-Key": KEY, "X-Admin-Token": ADMIN_TOKEN}
    if isinstance(case.body, dict) and "api_key" in case.body:
        case.body["api_key"] = KEY
    response = case.call(base_url=intake_url, headers=headers)
    case.validate_response(response, checks=checks_for(case.path), headers=headers)
