"""MongoNotifyStore's guards on the embedded MongoDB: one write per event, the lease on a request document,
and a settle that keeps the records an event added while the document was leased."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.notify.domain.deliveries import PENDING, SENT, new_delivery, sent_update
from services.notify.domain.record import EventWrite
from services.notify.store import STALE, WRITTEN, MongoNotifyStore
from tests.integration.notify.conftest import DAYTIME as NOW


@pytest.fixture
async def store(mongo: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[MongoNotifyStore]:
    name = f"notify_store_{uuid.uuid4().hex[:8]}"
    s = MongoNotifyStore(mongo[name])
    await s.ensure_indexes()
    yield s
    await mongo.drop_database(name)


def sms(event_id: str, at: Any = NOW) -> dict[str, Any]:
    event = {"event_id": event_id, "event_type": "task.dispatched", "request_id": "r1", "tracking_code": "HY1"}
    return new_delivery(
        event=event, channel="sms", recipient="resident", address="13800138000", language="zh-CN", urgent=False,
        message={"text": "hi"}, now=at,
    )  # fmt: skip


def write(event_id: str, *deliveries: dict[str, Any], version: int | None = None, **extra: Any) -> EventWrite:
    return EventWrite(request_id="r1", event_id=event_id, now=NOW, tracking_code="HY1", deliveries=deliveries,
                      version=version, **extra)  # fmt: skip


async def test_an_event_is_written_once(store: MongoNotifyStore) -> None:
    resident = {"tracking_code": "HY1", "language": "zh-CN"}
    assert await store.record(write("e1", sms("e1"), recipient=resident)) == WRITTEN
    assert await store.record(write("e1", sms("e1"), recipient=resident)) == STALE  # a redelivery: read, then see
    doc = await store.request("r1")
    assert doc is not None and doc["events"] == ["e1"] and len(doc["deliveries"]) == 1 and doc["version"] == 1
    assert await store.record(write("e2", version=0)) == STALE  # it exists: not created twice
    assert await store.record(write("e2", version=2)) == STALE  # not the version read
    assert await store.record(write("e2", version=1)) == WRITTEN
    assert (await store.request_by_code("HY1"))["events"] == ["e1", "e2"]  # type: ignore[index]


async def test_a_leased_document_is_settled_only_by_its_holder_and_keeps_what_came_meanwhile(
    store: MongoNotifyStore,
) -> None:
    assert await store.record(write("e1", sms("e1"), version=0)) == WRITTEN
    claimed = await store.claim_due("replica-a", NOW, 60)
    assert claimed is not None and claimed["lease_owner"] == "replica-a" and claimed["claims"] == 1
    assert await store.claim_due("replica-b", NOW, 60) is None  # leased
    # An event adds a record to the leased document (due in a minute).
    later = NOW + timedelta(minutes=1)
    assert await store.record(write("e2", sms("e2", at=later), version=claimed["version"])) == WRITTEN
    outcome = {"e1:sms:resident": sent_update(NOW, "m-1")}
    assert not await store.settle(claimed, "replica-b", outcome)  # not the holder
    assert await store.settle(claimed, "replica-a", outcome)  # the version moved: read again, then settled
    doc = await store.request("r1")
    assert doc is not None
    assert [d["status"] for d in doc["deliveries"]] == [SENT, PENDING]
    assert doc["due_at"] == later and "lease_owner" not in doc and doc["claims"] == 0
    assert await store.claim_due("replica-b", NOW, 60) is None  # nothing due yet
    again = await store.claim_due("replica-b", later, 60)
    assert again is not None and again["lease_owner"] == "replica-b"


async def test_an_expired_lease_is_taken_over(store: MongoNotifyStore) -> None:
    assert await store.record(write("e1", sms("e1"), version=0)) == WRITTEN
    first = await store.claim_due("dead-replica", NOW, 60)
    assert first is not None
    assert await store.claim_due("replica-b", NOW + timedelta(seconds=59), 60) is None
    taken = await store.claim_due("replica-b", NOW + timedelta(seconds=61), 60)
    assert taken is not None and taken["claims"] == 2
    assert not await store.settle(first, "dead-replica", {"e1:sms:resident": sent_update(NOW)})
