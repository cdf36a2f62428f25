"""IntakeService against the in-memory store (tests/unit/intake/fakes.py), FakePublisher and FakeClock:
each command's happy path and events, idempotency, lost races retried, and what a caller is told."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.intake.config import DEPLOY, emergency_triage, load_catalogue
from services.intake.domain.channels import Channel, CreateChannel, UpdateChannel, hash_key
from services.intake.domain.emergency import EmergencySuspected
from services.intake.domain.request import (
    CancelRequest,
    FeedbackNotOpen,
    GiveFeedback,
    NotCancellable,
    idempotency_slot,
)
from services.intake.domain.submission import Draft, take
from services.intake.domain.triage import Triage
from services.intake.handlers import TaskEventsHandler
from services.intake.service import (
    Busy,
    ChannelExists,
    IdempotencyConflict,
    IntakeService,
    UnknownChannel,
    UnknownRequest,
)
from shared.bus import Poison
from shared.events import Envelope, EventData, Location, TeamRef, new_event
from shared.events.tasks import TaskClaimed, TaskClosed, TaskDispatched, TaskReopened, TaskResolved
from tests.unit.fakes import FakeClock, FakePublisher
from tests.unit.intake.fakes import FakeIntakeStore

CATALOGUE = load_catalogue(DEPLOY / "catalogue.yaml")
TRIAGE = Triage(CATALOGUE)
EMERGENCY = emergency_triage(DEPLOY / "intake" / "emergency.yaml")
WEB = Channel("web")
TEAM = TeamRef(id="property_maintenance", name={"zh-CN": "物业维修组", "en": "Property maintenance"})


def codes(*values: str) -> Iterator[str]:
    yield from values
    n = 0
    while True:
        n += 1
        yield f"HY{n:010d}"


class Desk:
    """The service on fakes, with what a test looks at."""

    def __init__(self, *tracking_codes: str) -> None:
        self.clock = FakeClock()
        self.store = FakeIntakeStore(self.clock)
        self.publisher = FakePublisher()
        ids = (f"r{n}" for n in range(1, 1000))
        keys = (f"hy_key{n}" for n in range(1, 1000))
        code_source = codes(*tracking_codes)
        self.service = IntakeService(
            self.store,
            self.publisher,
            TRIAGE,
            self.clock,
            emergency=EMERGENCY,
            new_id=lambda: next(ids),
            new_code=lambda: next(code_source),
            new_key=lambda: next(keys),
        )

    async def submit(self, **overrides: Any) -> dict[str, Any]:
        return (await self.service.submit(command(**overrides))).document

    async def routing(self, data: EventData, seq: int) -> Envelope:
        envelope = new_event(data, producer="routing", seq=seq, occurred_at=self.clock())
        assert await self.service.apply_task_event(envelope, data)  # type: ignore[arg-type]
        return envelope

    async def resolve(self, doc: dict[str, Any], seq: int = 2) -> None:
        code = doc["tracking_code"]
        await self.routing(
            TaskResolved(request_id=doc["_id"], tracking_code=code, status="resolved", reply="修好了"), seq
        )


def command(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "door": "v1",
        "channel": WEB,
        "service_code": "property_repair",
        "description": "厨房水管漏水",
        "location": Location(building="3号楼"),
        "name": "王阿姨",
        "phone": "+8613800138000",
        "preferred_channel": "sms",
        "attributes": {"place": "kitchen"},
        **overrides,
    }
    return take(Draft(**values), CATALOGUE)


def dispatched(doc: dict[str, Any]) -> TaskDispatched:
    return TaskDispatched(
        request_id=doc["_id"], tracking_code=doc["tracking_code"], status="dispatched", team=TEAM, rule="r"
    )


# -- submit --------------------------------------------------------------------------------------------


async def test_submit_stores_the_request_and_publishes_request_submitted() -> None:
    desk = Desk()
    submitted = await desk.service.submit(command())
    doc = submitted.document
    assert not submitted.replayed and doc["status"] == "submitted" and doc["seq"] == 1
    assert desk.publisher.types() == ["request.submitted"]
    [event] = desk.publisher.published
    assert event.correlation_id == doc["_id"] and event.data["attributes"] == {"place": "kitchen"}
    assert await desk.service.find(doc["tracking_code"].lower()) == await desk.store.by_id(doc["_id"])


async def test_a_clashing_tracking_code_is_drawn_again() -> None:
    desk = Desk("HY0000000007", "HY0000000007")
    first, second = await desk.submit(), await desk.submit()
    assert first["tracking_code"] == "HY0000000007" and second["tracking_code"] == "HY0000000001"
    assert desk.publisher.types() == ["request.submitted"] * 2


async def test_an_emergency_in_everyday_words_is_referred_and_nothing_is_stored() -> None:
    desk = Desk()
    with pytest.raises(EmergencySuspected) as info:
        await desk.submit(description="老伴摔倒了起不来")
    assert (info.value.decision.rule, info.value.decision.call) == ("fall", "120")
    assert desk.store.requests == {} and desk.publisher.types() == []


def decisions(rule: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("huiying_intake_emergency_decisions_total", {"rule": rule, "outcome": outcome}) or 0.0
    )


async def test_not_an_emergency_confirmed_files_it_and_records_the_rule() -> None:
    desk = Desk()
    referred, confirmed = decisions("gas_leak", "referred"), decisions("gas_leak", "confirmed_not_emergency")
    with pytest.raises(EmergencySuspected):
        await desk.submit(description="楼道里有煤气味")
    doc = await desk.submit(description="楼道里有煤气味", confirm_not_emergency=True)
    assert decisions("gas_leak", "referred") == referred + 1  # counted, since nothing is stored
    assert decisions("gas_leak", "confirmed_not_emergency") == confirmed + 1
    assert doc["status"] == "submitted" and doc["emergency_overridden"] == "gas_leak"
    assert desk.publisher.types() == ["request.submitted"]
    routine = await desk.submit(description="交煤气费的地方在哪")
    assert routine["emergency_overridden"] is None


async def test_the_emergency_door_refers_even_when_confirmed() -> None:
    desk = Desk()
    with pytest.raises(EmergencySuspected) as info:
        await desk.submit(service_code="emergency", attributes={"kind": "fire"}, confirm_not_emergency=True)
    assert (info.value.decision.rule, info.value.decision.call, info.value.decision.overridable) == (
        "fire",
        "119",
        False,
    )
    assert desk.publisher.types() == []


async def test_a_matter_before_a_court_is_refused_at_the_door_with_a_referral() -> None:
    desk = Desk()
    doc = await desk.submit(service_code="dispute_mediation", attributes={"in_court": "yes"})
    assert doc["status"] == "not_accepted" and doc["referral"]["number"] == "12368"
    assert desk.publisher.types() == ["request.not_accepted"]
    with pytest.raises(NotCancellable):
        await desk.service.cancel(CancelRequest(doc["_id"], doc["tracking_code"]))


async def test_the_same_idempotency_key_and_body_is_answered_again_and_stores_nothing() -> None:
    desk = Desk()
    first = await desk.service.submit(command(idempotency_key="k1", fingerprint="body-a"))
    again = await desk.service.submit(command(idempotency_key="k1", fingerprint="body-a"))
    assert again.replayed and again.document["_id"] == first.document["_id"]
    assert len(desk.store.requests) == 1 and desk.publisher.types() == ["request.submitted"]
    with pytest.raises(IdempotencyConflict):
        await desk.service.submit(command(idempotency_key="k1", fingerprint="body-b"))
    other_channel = await desk.service.submit(
        command(channel=Channel("hotline", kind="hotline"), idempotency_key="k1", fingerprint="body-a")
    )
    assert not other_channel.replayed  # keys are per channel
    assert len(desk.store.requests) == 2


async def test_a_key_stored_by_another_replica_meanwhile_is_replayed() -> None:
    desk = Desk()
    theirs = command(idempotency_key="k2", fingerprint="body")
    accepted_elsewhere = {
        **(await Desk().service.submit(theirs)).document,
        "_id": "elsewhere",
        "tracking_code": "HY9999999999",
    }
    desk.store.before_next_insert(lambda: desk.store.put(accepted_elsewhere))
    submitted = await desk.service.submit(theirs)
    assert submitted.replayed and submitted.document["_id"] == "elsewhere"
    assert desk.publisher.published == [] and len(desk.store.requests) == 1
    assert (await desk.store.by_idempotency_slot(idempotency_slot("web", "k2"))) is not None


# -- cancel --------------------------------------------------------------------------------------------


async def test_cancel_with_the_tracking_code_and_again() -> None:
    desk = Desk()
    doc = await desk.submit()
    cancelled = await desk.service.cancel(CancelRequest(doc["_id"], doc["tracking_code"].lower(), "已自行修好"))
    assert cancelled["status"] == "cancelled" and cancelled["seq"] == 2 and cancelled["cancel_reason"] == "已自行修好"
    assert desk.publisher.types() == ["request.submitted", "request.cancelled"]
    assert desk.publisher.published[-1].seq == 2
    again = await desk.service.cancel(CancelRequest(doc["_id"], doc["tracking_code"]))
    assert again["status"] == "cancelled" and again["seq"] == 2
    assert desk.publisher.types() == ["request.submitted", "request.cancelled"]  # nothing new


async def test_cancel_needs_the_right_code_and_a_request_that_is_not_final() -> None:
    desk = Desk()
    doc = await desk.submit()
    with pytest.raises(UnknownRequest, match="id and tracking code"):
        await desk.service.cancel(CancelRequest(doc["_id"], "HY0000000000"))
    with pytest.raises(UnknownRequest):
        await desk.service.cancel(CancelRequest("nope", doc["tracking_code"]))
    await desk.resolve(doc)
    with pytest.raises(NotCancellable) as info:
        await desk.service.cancel(CancelRequest(doc["_id"], doc["tracking_code"]))
    assert info.value.status == "resolved"


async def test_a_lost_race_on_cancel_is_decided_again_on_the_fresh_request() -> None:
    desk = Desk()
    doc = await desk.submit()

    def feedback_written_meanwhile(stored: dict[str, Any]) -> None:
        stored["seq"] += 1  # another write of intake's own took the next seq first

    desk.store.before_next_write(feedback_written_meanwhile)
    cancelled = await desk.service.cancel(CancelRequest(doc["_id"], doc["tracking_code"]))
    assert desk.store.guarded_writes == 2
    assert cancelled["status"] == "cancelled" and cancelled["seq"] == 3
    assert desk.publisher.published[-1].seq == 3


async def test_a_cancel_that_another_replica_won_answers_its_result() -> None:
    desk = Desk()
    doc = await desk.submit()

    def cancelled_elsewhere(stored: dict[str, Any]) -> None:
        stored.update(status="cancelled", seq=stored["seq"] + 1)

    desk.store.before_next_write(cancelled_elsewhere)
    answer = await desk.service.cancel(CancelRequest(doc["_id"], doc["tracking_code"]))
    assert answer["status"] == "cancelled" and answer["seq"] == 2
    assert desk.publisher.types() == ["request.submitted"]  # the other replica published its own


async def test_a_request_that_keeps_changing_is_busy() -> None:
    desk = Desk()
    doc = await desk.submit()
    desk.store.before_next_write(lambda stored: stored.update(seq=stored["seq"] + 1), times=5)
    with pytest.raises(Busy, match="try again"):
        await desk.service.cancel(CancelRequest(doc["_id"], doc["tracking_code"]))
    assert desk.store.guarded_writes == 5


# -- feedback ------------------------------------------------------------------------------------------


async def test_feedback_once_per_resolution() -> None:
    desk = Desk()
    doc = await desk.submit()
    with pytest.raises(FeedbackNotOpen) as early:
        await desk.service.feedback(GiveFeedback(doc["tracking_code"], "satisfied"))
    assert early.value.status == "submitted" and not early.value.already_given
    await desk.resolve(doc, seq=2)
    rated = await desk.service.feedback(GiveFeedback(doc["tracking_code"], "fairly_satisfied", "修得不错"))
    assert rated["feedback"][-1]["rating"] == "fairly_satisfied" and rated["seq"] == 2
    assert desk.publisher.types()[-1] == "request.feedback_received"
    with pytest.raises(FeedbackNotOpen) as twice:
        await desk.service.feedback(GiveFeedback(doc["tracking_code"], "dissatisfied"))
    assert twice.value.already_given
    # Reopened and resolved again: the new resolution may be rated.
    code = doc["tracking_code"]
    await desk.routing(TaskReopened(request_id=doc["_id"], tracking_code=code, status="reopened"), 3)
    await desk.resolve(doc, seq=4)
    again = await desk.service.feedback(GiveFeedback(code, "satisfied"))
    assert [f["rating"] for f in again["feedback"]] == ["fairly_satisfied", "satisfied"]
    with pytest.raises(UnknownRequest, match="tracking code"):
        await desk.service.feedback(GiveFeedback("HY0000000000", "satisfied"))


# -- routing's events ----------------------------------------------------------------------------------


async def test_routing_events_apply_once_and_never_older_over_newer() -> None:
    desk = Desk()
    doc = await desk.submit()
    first = await desk.routing(dispatched(doc), 1)
    claimed = TaskClaimed(request_id=doc["_id"], tracking_code=doc["tracking_code"], status="claimed", team=TEAM)
    await desk.routing(claimed, 2)
    assert await desk.service.apply_task_event(first, first.payload())  # type: ignore[arg-type]  # redelivered
    view = await desk.store.by_id(doc["_id"])
    assert view is not None and view["status"] == "claimed" and view["routing_seq"] == 2
    assert [e["type"] for e in view["timeline"]] == ["request.submitted", "task.dispatched", "task.claimed"]
    unknown = new_event(dispatched({**doc, "_id": "nope"}), producer="routing", seq=1, occurred_at=desk.clock())
    assert not await desk.service.apply_task_event(unknown, unknown.payload())  # type: ignore[arg-type]


async def test_a_cancelled_request_stays_cancelled_until_routing_closes_it() -> None:
    desk = Desk()
    doc = await desk.submit()
    await desk.service.cancel(CancelRequest(doc["_id"], doc["tracking_code"]))
    await desk.routing(dispatched(doc), 1)  # published before routing saw the cancellation
    view = await desk.store.by_id(doc["_id"])
    assert view is not None and view["status"] == "cancelled" and view["team"]["id"] == TEAM.id
    code = doc["tracking_code"]
    await desk.routing(TaskClosed(request_id=doc["_id"], tracking_code=code, status="closed", reason="cancelled"), 2)
    assert (await desk.store.by_id(doc["_id"]) or {})["status"] == "closed"


async def test_the_handler_applies_task_events_and_refuses_what_it_cannot_apply() -> None:
    desk = Desk()
    doc = await desk.submit()
    handler = TaskEventsHandler(desk.service)
    envelope = new_event(dispatched(doc), producer="routing", seq=1, occurred_at=desk.clock())
    await handler(envelope, envelope.payload())
    await handler(envelope, envelope.payload())  # redelivered: nothing twice
    view = await desk.store.by_id(doc["_id"])
    assert view is not None and [e["type"] for e in view["timeline"]] == ["request.submitted", "task.dispatched"]
    submitted = desk.publisher.published[0]
    with pytest.raises(Poison, match="not a task event"):
        await handler(submitted, submitted.payload())
    unknown = new_event(dispatched({**doc, "_id": "nope"}), producer="routing", seq=1, occurred_at=desk.clock())
    with pytest.raises(Poison, match="unknown request"):
        await handler(unknown, unknown.payload())


# -- channels ------------------------------------------------------------------------------------------


async def test_channels_keys_are_issued_once_stored_hashed_and_rotated() -> None:
    desk = Desk()
    doc, key = await desk.service.create_channel(CreateChannel("hotline", "12345 热线", "hotline"), "root")
    assert key == "hy_key1" and doc["key_hash"] == hash_key(key) and doc["key_hint"] == key[:7]
    assert (await desk.service.channel_for_key(key) or {})["_id"] == "hotline"
    with pytest.raises(ChannelExists):
        await desk.service.create_channel(CreateChannel("hotline", "again", "web"), "root")
    rotated, new_key = await desk.service.rotate_key("hotline", "root")
    assert new_key != key and rotated["rotated_at"] == desk.clock() and "key_hash" not in rotated
    assert await desk.service.channel_for_key(key) is None
    await desk.service.set_active("hotline", False, "root")
    assert await desk.service.channel_for_key(new_key) is None
    patched = await desk.service.update_channel("hotline", UpdateChannel(webhook_url=None, set_webhook=True), "ops")
    assert patched["webhook_url"] is None and patched["updated_by"] == "ops" and patched["name"] == "12345 热线"
    with pytest.raises(UnknownChannel):
        await desk.service.set_active("nope", True, "root")
