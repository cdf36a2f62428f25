"""The request's rules and public views: submit or refuse, cancel, feedback, routing's events, Open311."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.config import DEPLOY, load_catalogue
from services.intake.domain import request as domain
from services.intake.domain.open311 import open311_request, open311_status, w3c
from services.intake.domain.status_view import keeps_cancelled, view_update
from services.intake.domain.triage import Triage
from services.intake.domain.views import track_view
from shared.events import Location, Resident, TeamRef, new_event
from shared.events.tasks import TaskClaimed, TaskClosed

NOW = datetime(2025, 5, 1, 2, 30, tzinfo=UTC)
CATALOGUE = load_catalogue(DEPLOY / "catalogue.yaml")
TEAM = TeamRef(id="property_maintenance", name={"zh-CN": "物业维修组", "en": "Property maintenance"})


def command(**overrides: Any) -> domain.SubmitRequest:
    values: dict[str, Any] = {
        "service_code": "property_repair",
        "service_name": {"zh-CN": "物业报修", "en": "Property repair"},
        "description": "厨房漏水",
        "location": Location(address="幸福路8号", building="3号楼", lat=39.9, long=116.4),
        "resident": Resident(name="王阿姨", phone="+8613800138000", email="w@example.org", language="en"),
        "channel": "web",
        "public_details": True,
        **overrides,
    }
    return domain.SubmitRequest(**values)


def submitted(**overrides: Any) -> dict[str, Any]:
    return domain.submit(command(**overrides), request_id="r1", tracking_code="HY0123456789", now=NOW).document


def test_submit_writes_the_document_and_request_submitted() -> None:
    accepted = domain.submit(
        command(idempotency_key="k", fingerprint="f"), request_id="r1", tracking_code="HY0123456789", now=NOW
    )
    doc, [event] = accepted.document, accepted.events
    assert event.type == "request.submitted" and event.seq == 1 and event.correlation_id == "r1"
    assert doc["status"] == "submitted" and doc["seq"] == 1 and doc["routing_seq"] == 0
    assert doc["idem"] == "web\x1fk" and doc["idem_fingerprint"] == "f"
    assert doc["timeline"][0]["event_id"] == str(event.event_id)
    assert "idem" not in submitted()  # only with an Idempotency-Key


def test_refused_at_the_door_emits_request_not_accepted() -> None:
    referral = Triage(CATALOGUE).check("dispute_mediation", {"in_court": "yes"})
    accepted = domain.submit(command(), request_id="r1", tracking_code="HY0123456789", now=NOW, referral=referral)
    [event] = accepted.events
    assert event.type == "request.not_accepted"
    assert event.data["reason_code"] == "in_litigation" and event.data["referral_number"] == "12368"
    assert accepted.document["status"] == "not_accepted"
    assert accepted.document["referral"]["number"] == "12368"


def test_cancel_bumps_seq_and_guards_on_it() -> None:
    doc = submitted()
    change = domain.cancel(doc, reason="fixed it", now=NOW)
    [event] = change.events
    assert event.type == "request.cancelled" and event.seq == 2
    assert change.guard["seq"] == 1 and "resolved" in change.guard["status"]["$nin"]
    assert change.update["$set"]["status"] == "cancelled" and change.update["$inc"] == {"seq": 1}
    for final in ("resolved", "closed", "not_accepted", "cancelled", "duplicate"):
        with pytest.raises(domain.NotCancellable) as info:
            domain.cancel({**doc, "status": final}, reason=None, now=NOW)
        assert info.value.status == final


def test_feedback_once_per_resolution() -> None:
    doc = {**submitted(), "status": "resolved", "routing_seq": 3, "seq": 2}
    change = domain.feedback(doc, rating="satisfied", comment=None, now=NOW)
    assert change.events[0].type == "request.feedback_received" and change.events[0].seq == 3
    assert change.guard == {"_id": "r1", "seq": 2, "status": "resolved", "routing_seq": 3}
    with pytest.raises(domain.FeedbackNotOpen) as info:
        domain.feedback({**doc, "feedback_routing_seq": 3}, rating="satisfied", comment=None, now=NOW)
    assert info.value.already_given
    # Reopened and resolved again (a newer routing event): the resident may rate again.
    assert domain.feedback(
        {**doc, "feedback_routing_seq": 3, "routing_seq": 7}, rating="dissatisfied", comment=None, now=NOW
    )
    with pytest.raises(domain.FeedbackNotOpen) as info:
        domain.feedback({**doc, "status": "in_progress"}, rating="satisfied", comment=None, now=NOW)
    assert info.value.status == "in_progress" and not info.value.already_given


def test_a_cancelled_request_keeps_its_status_unless_routing_finishes_it() -> None:
    claimed = new_event(
        TaskClaimed(request_id="r1", tracking_code="HY0123456789", status="claimed", team=TEAM),
        producer="routing",
        seq=2,
        occurred_at=NOW,
    )
    state, entry = view_update(claimed, claimed.payload())  # type: ignore[arg-type]
    assert "status" not in keeps_cancelled(state) and keeps_cancelled(state)["team"]["id"] == TEAM.id
    closed = new_event(
        TaskClosed(request_id="r1", tracking_code="HY0123456789", status="closed", reason="cancelled"),
        producer="routing",
        seq=3,
        occurred_at=NOW,
    )
    state, _ = view_update(closed, closed.payload())  # type: ignore[arg-type]
    assert keeps_cancelled(state)["status"] == "closed"
    assert entry["type"] == "task.claimed"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("submitted", "open"),
        ("dispatched", "open"),
        ("in_progress", "open"),
        ("on_hold", "open"),
        ("reopened", "open"),
        ("resolved", "closed"),
        ("closed", "closed"),
        ("not_accepted", "closed"),
        ("cancelled", "closed"),
        ("duplicate", "closed"),
    ],
)
def test_open311_status_mapping(status: str, expected: str) -> None:
    assert open311_status(status) == expected


def test_open311_view_maps_the_lifecycle_and_hides_people() -> None:
    doc = {
        **submitted(),
        "status": "in_progress",
        "team": TEAM.model_dump(),
        "public_note": "师傅下午上门",
        "due_at": NOW + timedelta(days=1),
        "media_urls": ["https://example.org/a.jpg"],
    }
    view = open311_request(doc, "en", "Asia/Shanghai", CATALOGUE)
    assert list(view)[:3] == ["service_request_id", "status", "status_notes"]
    assert view["status"] == "open" and view["status_notes"] == "师傅下午上门"
    assert view["agency_responsible"] == "Property maintenance"
    assert view["expected_datetime"] == "2025-05-02T10:30:00+08:00"
    assert view["requested_datetime"] == "2025-05-01T10:30:00+08:00"
    assert view["service_name"] == "Property repair" and view["address"] == "幸福路8号"
    text = str(view)
    for secret in ("王阿姨", "13800138000", "w@example.org"):
        assert secret not in text
    private = open311_request({**doc, "public_details": False}, "zh-CN", "Asia/Shanghai", CATALOGUE)
    assert private["description"] is None and private["address"] is None and private["media_url"] is None
    assert private["lat"] is None and private["agency_responsible"] == "物业维修组"


def test_not_accepted_view_carries_the_referral_as_service_notice() -> None:
    referral = Triage(CATALOGUE).check("dispute_mediation", {"in_court": "yes"})
    doc = domain.submit(command(), request_id="r1", tracking_code="HY0123456789", now=NOW, referral=referral).document
    view = open311_request(doc, "zh-CN", "Asia/Shanghai", CATALOGUE)
    assert view["status"] == "closed" and "12368" in view["service_notice"]
    track = track_view(doc, "en")
    assert track["referral"]["number"] == "12368" and track["can_cancel"] is False


def test_track_view_has_no_contact_details() -> None:
    track = track_view(submitted(), "zh-CN")
    assert track["service_name"] == "物业报修" and track["can_cancel"] and not track["can_give_feedback"]
    for secret in ("王阿姨", "13800138000", "w@example.org", "幸福路8号"):
        assert secret not in str(track)


def test_w3c_always_carries_the_zone() -> None:
    assert w3c(NOW, "UTC") == "2025-05-01T02:30:00+00:00"
    assert w3c(None, "UTC") is None
