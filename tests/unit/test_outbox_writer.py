from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.events import Location, RequestSubmitted, Resident, new_event
from shared.outbox import LEASE, OUTBOX, OutboxWriter

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def event(seq: int):  # type: ignore[no-untyped-def]
    return new_event(
        RequestSubmitted(
            request_id="r1",
            tracking_code="HY0123456789",
            service_code="legal_aid",
            description="d",
            location=Location(address="a"),
            resident=Resident(name="n"),
            channel="web",
            submitted_at=NOW,
        ),
        producer="intake",
        seq=seq,
    )


def writer() -> OutboxWriter:
    return OutboxWriter("me", 30, clock=lambda: NOW)


def test_insert_carries_events_and_the_writers_lease() -> None:
    e = event(1)
    doc = writer().on_insert({"_id": "r1", "status": "submitted"}, [e])
    assert doc[OUTBOX] == [e.to_document()]
    assert doc[LEASE] == {"owner": "me", "until": NOW + timedelta(seconds=30)}
    assert doc["status"] == "submitted"


def test_insert_without_events_takes_no_lease() -> None:
    doc = writer().on_insert({"_id": "r1"}, [])
    assert doc[OUTBOX] == [] and LEASE not in doc


def test_update_pushes_events_in_the_same_write_as_the_state_change() -> None:
    e1, e2 = event(2), event(3)
    update = writer().on_update({"$set": {"status": "cancelled"}, "$inc": {"seq": 2}}, [e1, e2])
    assert update["$set"]["status"] == "cancelled" and update["$inc"] == {"seq": 2}
    assert update["$push"][OUTBOX] == {"$each": [e1.to_document(), e2.to_document()]}
    assert update["$set"][LEASE]["owner"] == "me"


def test_update_without_events_is_unchanged_and_the_input_is_not_mutated() -> None:
    original = {"$set": {"status": "x"}}
    assert writer().on_update(original, []) == {"$set": {"status": "x"}}
    writer().on_update(original, [event(2)])
    assert original == {"$set": {"status": "x"}}
