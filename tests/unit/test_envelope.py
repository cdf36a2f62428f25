from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.events import (
    Envelope,
    Location,
    RequestSubmitted,
    Resident,
    TaskDispatched,
    TeamRef,
    UnknownEvent,
    event_types,
    new_event,
)

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def submitted() -> RequestSubmitted:
    return RequestSubmitted(
        request_id="r1",
        tracking_code="HY0123456789",
        service_code="property_repair",
        description="漏水",
        location=Location(address="1号楼"),
        resident=Resident(name="王", phone="+8613800138000"),
        channel="web",
        submitted_at=NOW,
    )


def test_new_event_fills_the_envelope() -> None:
    env = new_event(submitted(), producer="intake", seq=1, occurred_at=NOW)
    assert env.type == "request.submitted" and env.version == 1 and env.producer == "intake"
    assert env.correlation_id == "r1" and env.seq == 1 and env.causation_id is None
    assert env.occurred_at == NOW and isinstance(env.event_id, uuid.UUID)


def test_round_trip_through_bytes_keeps_everything() -> None:
    env = new_event(submitted(), producer="intake", seq=3, causation_id="c", occurred_at=NOW)
    back = Envelope.from_bytes(env.to_bytes())
    assert back == env
    payload = back.payload()
    assert isinstance(payload, RequestSubmitted) and payload.resident.phone == "+8613800138000"
    assert json.loads(env.to_bytes())["data"]["description"] == "漏水"  # UTF-8, not \\u escapes


def test_envelope_rejects_what_is_not_an_event() -> None:
    good = new_event(submitted(), producer="intake", seq=1).to_document()
    for field, bad in (("seq", 0), ("occurred_at", "2026-11-26T09:30:00"), ("type", "Request Submitted")):
        with pytest.raises(ValidationError):
            Envelope.model_validate({**good, field: bad})
    with pytest.raises(UnknownEvent):
        Envelope.model_validate({**good, "type": "request.teleported"}).payload()
    with pytest.raises(ValidationError):
        Envelope.model_validate({**good, "data": {"request_id": "r1"}}).payload()


def test_consumers_are_tolerant_readers() -> None:
    doc = new_event(submitted(), producer="intake", seq=1).to_document()
    doc["data"]["a_field_from_the_future"] = 1
    doc["trace"] = {"traceparent": "00-..."}
    assert Envelope.model_validate(doc).payload().request_id == "r1"


def test_every_registered_event_has_a_distinct_type() -> None:
    types = event_types()
    assert {"request.submitted", "task.dispatched"} <= set(types)
    assert all(cls.TYPE == name for name, cls in types.items())


def test_task_events_carry_the_state_after_the_change() -> None:
    env = new_event(
        TaskDispatched(
            request_id="r1",
            tracking_code="HY0123456789",
            status="dispatched",
            team=TeamRef(id="legal_aid", name={"zh-CN": "法律援助组", "en": "Legal aid"}),
            rule="category:legal_aid",
        ),
        producer="routing",
        seq=1,
    )
    data = Envelope.from_bytes(env.to_bytes()).payload()
    assert isinstance(data, TaskDispatched) and data.team is not None and data.team.name["en"] == "Legal aid"
