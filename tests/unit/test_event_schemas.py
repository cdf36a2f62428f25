from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from huiying import schemas
from shared.events import event_types, new_event
from shared.events.requests import Location, RequestSubmitted, Resident

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_up_to_date() -> None:
    """The JSON Schemas and AsyncAPI document in docs/ are generated: `make schemas` after a change."""
    assert schemas.main(check=True, out=str(ROOT / "docs" / "events")) == 0


def test_every_event_type_has_a_schema_that_validates_a_real_event() -> None:
    assert set(schemas.render_all()) >= {f"{t}.json" for t in event_types()}
    from datetime import UTC, datetime

    env = new_event(
        RequestSubmitted(
            request_id="r1",
            tracking_code="HY0123456789",
            service_code="legal_aid",
            description="d",
            location=Location(address="a"),
            resident=Resident(name="n"),
            channel="web",
            submitted_at=datetime.now(UTC),
        ),
        producer="intake",
        seq=1,
    )
    schema = schemas.event_schema("request.submitted")
    jsonschema.validate(json.loads(env.to_bytes()), schema)
    bad = json.loads(env.to_bytes())
    bad["type"] = "task.dispatched"
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a request.submitted schema accepted another type")
