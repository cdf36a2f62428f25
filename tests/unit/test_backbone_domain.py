"""The domain rules of each service, with no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from services.intake.domain import request as intake
from services.intake.domain.status_view import view_update
from services.intake.domain.views import track_view
from shared.events import Location, RequestSubmitted, Resident, TaskDispatched, TeamRef, new_event

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def cmd(**kw):  # type: ignore[no-untyped-def]
    base = dict(
        service_code="property_repair",
        description="漏水",
        location=Location(address="3号楼"),
        resident=Resident(name="王阿姨", phone="+8613800138000", language="en"),
        channel="web",
        service_name={"zh-CN": "物业报修", "en": "Property repair"},
    )
    return intake.SubmitRequest(**{**base, **kw})


def test_submit_makes_the_request_and_its_event_in_one_document() -> None:
    accepted = intake.submit(cmd(), request_id="r1", tracking_code="HY0123456789", now=NOW)
    doc = accepted.document
    assert doc["_id"] == "r1" and doc["status"] == "submitted" and doc["seq"] == 1 and doc["routing_seq"] == 0
    [event] = accepted.events
    assert event.type == "request.submitted" and event.seq == 1 and event.correlation_id == "r1"
    assert doc["timeline"][0]["event_id"] == str(event.event_id)
    data = event.payload()
    assert isinstance(data, RequestSubmitted) and data.service_name["en"] == "Property repair"


def task_event(seq: int, status: str, note: str | None = None):  # type: ignore[no-untyped-def]
    return new_event(
        TaskDispatched(
            request_id="r1",
            tracking_code="HY0123456789",
            status=status,
            team=TeamRef(id="t", name={"zh-CN": "维修组", "en": "Repairs"}),
            rule="r",
            public_note=note,
        ),
        producer="routing",
        seq=seq,
        occurred_at=NOW,
    )


def test_view_update_carries_seq_and_a_timeline_entry() -> None:
    env = task_event(4, "dispatched", note="明天上门")
    state, entry = view_update(env, env.payload())  # type: ignore[arg-type]
    assert state["routing_seq"] == 4 and state["status"] == "dispatched" and state["public_note"] == "明天上门"
    assert entry["event_id"] == str(env.event_id) and entry["note"] == "明天上门"


def test_track_view_is_public_and_localised() -> None:
    doc = intake.submit(cmd(), request_id="r1", tracking_code="HY0123456789", now=NOW).document
    env = task_event(1, "dispatched")
    state, entry = view_update(env, env.payload())  # type: ignore[arg-type]
    doc.update(state)
    doc["timeline"].append(entry)
    view = track_view(doc, "en")
    assert view["team"] == {"id": "t", "name": "Repairs"}
    assert [e["status"] for e in view["timeline"]] == ["submitted", "dispatched"]
    assert "resident" not in view and "location" not in view and "王阿姨" not in str(view)
    assert track_view(doc, "zh-CN")["team"]["name"] == "维修组"
