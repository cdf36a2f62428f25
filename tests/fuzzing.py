"""What the three schemathesis tests share: how each operation is explored and what every answer must meet."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Examples per operation (`make test` default 100; lower it for a quick run).
EXAMPLES = int(os.environ.get("HUIYING_TEST_SCHEMATHESIS_EXAMPLES", "100"))


def explore(schema: Any, examples: int = EXAMPLES) -> Callable[[Any], Any]:
    """`@explore(schema)`: every operation, explicit examples then generated ones, reproducible runs."""

    def decorate(test: Any) -> Any:
        tuned = settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(test)
        return schema.parametrize()(tuned)

    return decorate


def checks_for(path: str) -> list[Any]:
    """No 5xx, and the answer matches the schema: status code, content type, body."""
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    if path == "/metrics":
        checks.remove(content_type_conformance)  # Prometheus text; shared/http.py documents it as JSON
    return checks
