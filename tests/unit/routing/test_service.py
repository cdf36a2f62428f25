"""RoutingService against in-memory stores: what each command and event does, what it publishes, that a
redelivery changes nothing, that a lost race is decided again, and the errors a caller sees."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.routing.domain.errors import Forbidden, IllegalTransition, NotVisible
from services.routing.domain.lifecycle import commands as cmd
from services.routing.service import LostRace, RoutingService
from shared.bus import RetryLater
from shared.events import Envelope, FeedbackReceived, RequestCancelled, RequestNotAccepted, Resident, new_event
from shared.events.requests import RequestSubmitted
from tests.unit.fakes import FakeClock, FakePublisher
from tests.unit.routing.factories import CONFIG, RULES, SUPERVISOR, lead, local, member, staff, submitted
from tests.unit.routing.fakes import FakeRoutingStore, FakeRuleStore, FakeStaffStore

T0 = local(2026, 11, 24, 9)  # a Tuesday morning
TEAM = "property_maintenance"
ASSIGNEE = member(TEAM)  # the load-based assignee of a new repair task


class World:
    def __init__(self) -> None:
        self.clock = FakeClock(T0)
        self.store = FakeRoutingStore()
        self.publisher = FakePublisher()
        self.service = RoutingService(
            store=self.store,
            staff=FakeStaffStore(staff(), T0),
            rules=FakeRuleStore(RULES, T0),
            publisher=self.publisher,
            config=CONFIG,
            clock=self.clock,
        )
        self.seq: dict[str, int] = {}

    def envelope(self, data: object) -> Envelope:
        """As intake publishes it: its own seq per request."""
        request_id = data.request_id  # type: ignore[attr-defined]
        self.seq[request_id] = self.seq.get(request_id, 0) + 1
        return new_event(data, producer="intake", seq=self.seq[request_id], occurred_at=self.clock())  # type: ignore[arg-type]

    async def submit(self, data: RequestSubmitted | None = None) -> str:
        data = data or submitted(at=T0)
        await self.service.open_from(self.envelope(data), data)
        return data.request_id

    async def resolved(self) -> str:
        request_id = await self.submit()
        await self.service.act(request_id, cmd.Claim(), ASSIGNEE)
        await self.service.act(request_id, cmd.Resolve(reply="已更换门锁"), ASSIGNEE)
        return request_id


@pytest.fixture
def world() -> World:
    return World()


# -- request.submitted ---------------------------------------------------------------------------------------


async def test_a_submitted_request_becomes_a_dispatched_task_once(world: World) -> None:
    data = submitted(at=T0)
    envelope = world.envelope(data)
    await world.service.open_from(envelope, data)
    task = await world.store.get(data.request_id)
    assert task is not None and (task.status, task.team_id, task.assignee) == ("dispatched", TEAM, ASSIGNEE.username)
    assert task.decision is not None and task.decision.team_rule == "repair@1"
    (event,) = world.publisher.published
    assert (event.type, event.seq, event.causation_id) == ("task.dispatched", 1, str(envelope.event_id))

    await world.service.open_from(envelope, data)  # redelivered
    assert world.publisher.types() == ["task.dispatched"] and len(world.store.docs) == 1


async def test_two_deliveries_racing_past_the_existence_check_store_one_task(world: World) -> None:
    data = submitted(at=T0)
    envelope = world.envelope(data)
    await asyncio.gather(world.service.open_from(envelope, data), world.service.open_from(envelope, data))
    assert world.publisher.types() == ["task.dispatched"] and len(world.store.docs) == 1


async def test_not_accepted_at_the_front_door_is_recorded_once_and_publishes_nothing(world: World) -> None:
    data = RequestNotAccepted(
        request_id=str(uuid.uuid4()),
        tracking_code="HY0000000001",
        service_code="legal_aid",
        channel="web",
        reason_code="in_litigation",
        referral={"zh-CN": "请咨询法院", "en": "Ask the court"},
        resident=Resident(name="n"),
    )
    envelope = world.envelope(data)
    await world.service.record_not_accepted(envelope, data)
    await world.service.record_not_accepted(envelope, data)
    task = await world.store.get(data.request_id)
    assert task is not None and task.status == "not_accepted" and task.history[0].details["at_front_door"] is True
    assert world.publisher.published == [] and len(world.store.docs) == 1


# -- staff actions -----------------------------------------------------------------------------------------


async def test_a_claim_starts_the_handling_clock_and_publishes_task_claimed(world: World) -> None:
    request_id = await world.submit()
    world.clock.now = local(2026, 11, 24, 10)
    task = await world.service.act(request_id, cmd.Claim(note="on my way"), ASSIGNEE)
    assert (task.status, task.assignee, task.claimed_at, task.rev) == ("claimed", ASSIGNEE.username, world.clock(), 2)
    assert world.publisher.types() == ["task.dispatched", "task.claimed"]
    stored = await world.store.get(request_id)
    assert stored is not None and stored.history[-1].note == "on my way" and stored.seq == 2


async def test_the_errors_a_caller_sees(world: World) -> None:
    request_id = await world.submit()
    with pytest.raises(NotVisible):
        await world.service.act(request_id, cmd.Claim(), member("legal_aid"))
    with pytest.raises(NotVisible):
        await world.service.get_visible("no-such-task", SUPERVISOR)
    with pytest.raises(Forbidden, match="team lead"):
        await world.service.act(request_id, cmd.Transfer(team_id="legal_aid", reason="r"), ASSIGNEE)
    with pytest.raises(IllegalTransition, match="`resume` is not possible while the task is `dispatched`"):
        await world.service.act(request_id, cmd.Resume(), ASSIGNEE)
    assert world.publisher.types() == ["task.dispatched"]


async def test_a_transfer_assigns_by_the_load_of_the_team_it_names(world: World) -> None:
    busy = await world.submit()  # property maintenance.member gets it (fewest open tasks, then by name)
    other = await world.submit(submitted("legal_aid", "合同纠纷", at=T0))
    await world.service.act(other, cmd.Transfer(team_id=TEAM, reason="a repair after all"), lead("legal_aid"))
    task = await world.store.get(other)
    assert task is not None and (task.team_id, task.assignee) == (TEAM, f"{TEAM}.member2")
    assert (await world.store.get(busy)).assignee == f"{TEAM}.member"  # type: ignore[union-attr]
    assert world.publisher.types()[-1] == "task.transferred"


async def test_a_duplicate_is_given_its_original_and_points_at_the_first_of_a_chain(world: World) -> None:
    first = await world.submit()
    second = await world.submit()
    third = await world.submit()
    first_task = await world.store.get(first)
    assert first_task is not None
    # By tracking code (any case), as staff type it.
    await world.service.act(second, cmd.Duplicate(original=first_task.tracking_code.lower()), ASSIGNEE)
    # The original named is itself a duplicate: the new one points at the first.
    task = await world.service.act(third, cmd.Duplicate(original=second), ASSIGNEE)
    assert task.status == "duplicate" and task.duplicate_of == first
    event = world.publisher.published[-1]
    assert event.type == "task.duplicate"
    assert event.data["original_request_id"] == first and event.data.get("original_tracking_code") is None
    with pytest.raises(Exception, match="no task you can see has the request id or tracking code"):
        await world.service.act(first, cmd.Duplicate(original="HY-NOPE"), ASSIGNEE)


# -- lost races --------------------------------------------------------------------------------------------


async def test_a_second_claim_that_loses_the_race_is_decided_again_and_refused(world: World) -> None:
    request_id = await world.submit()
    other = member(TEAM, "member2")

    async def the_other_claims_first() -> None:
        await world.service.act(request_id, cmd.Claim(), other)

    world.store.meanwhile = the_other_claims_first
    with pytest.raises(IllegalTransition, match="`claim` is not possible while the task is `claimed`"):
        await world.service.act(request_id, cmd.Claim(), ASSIGNEE)
    task = await world.store.get(request_id)
    assert task is not None and task.assignee == other.username
    assert world.publisher.types() == ["task.dispatched", "task.claimed"]  # one claim, not two


async def test_a_write_that_lost_a_race_lands_on_the_fresh_task(world: World) -> None:
    request_id = await world.submit()

    async def a_lead_notes_meanwhile() -> None:
        await world.service.act(request_id, cmd.Note(text="from the lead"), lead(TEAM))

    world.store.meanwhile = a_lead_notes_meanwhile
    task = await world.service.act(request_id, cmd.Note(text="called the resident", visibility="public"), ASSIGNEE)
    assert [h.note for h in task.history[1:]] == ["from the lead", "called the resident"] and task.rev == 3
    assert world.store.saves == 3  # the note that lost, the lead's, and the retry


async def test_a_task_that_keeps_changing_gives_up_with_lost_race(world: World) -> None:
    request_id = await world.submit()

    async def someone_else_writes() -> None:
        world.store.docs[request_id]["rev"] += 1
        world.store.meanwhile = someone_else_writes

    world.store.meanwhile = someone_else_writes
    with pytest.raises(LostRace, match="kept changing"):
        await world.service.act(request_id, cmd.Note(text="n"), ASSIGNEE)
    assert world.store.saves == 5


# -- intake's events ---------------------------------------------------------------------------------------


async def test_a_cancellation_ends_the_task_once(world: World) -> None:
    request_id = await world.submit()
    task = await world.store.get(request_id)
    assert task is not None
    data = RequestCancelled(request_id=request_id, tracking_code=task.tracking_code, cancelled_at=T0, reason="不需要了")
    envelope = world.envelope(data)
    await world.service.cancel_from(envelope, data)
    await world.service.cancel_from(envelope, data)  # redelivered: the task is no longer open
    cancelled = await world.store.get(request_id)
    assert cancelled is not None and (cancelled.status, cancelled.closed_reason) == ("cancelled", "cancelled")
    assert world.publisher.types() == ["task.dispatched", "task.cancelled"]
    assert world.publisher.published[-1].causation_id == str(envelope.event_id)


async def test_feedback_closes_or_reopens_a_resolved_task_once(world: World) -> None:
    happy, unhappy = await world.resolved(), await world.resolved()
    for request_id, rating in ((happy, "satisfied"), (unhappy, "dissatisfied")):
        task = await world.store.get(request_id)
        assert task is not None
        data = FeedbackReceived(request_id=request_id, tracking_code=task.tracking_code, rating=rating, received_at=T0)  # type: ignore[arg-type]
        envelope = world.envelope(data)
        await world.service.feedback_from(envelope, data)
        await world.service.feedback_from(envelope, data)  # redelivered
    closed, reopened = await world.store.get(happy), await world.store.get(unhappy)
    assert closed is not None and (closed.status, closed.closed_reason) == ("closed", "satisfied")
    assert len(closed.feedback) == 1
    assert reopened is not None and (reopened.status, len(reopened.feedback)) == ("reopened", 1)
    assert world.publisher.types().count("task.closed") == 1 and world.publisher.types().count("task.reopened") == 1


async def test_an_event_for_a_task_not_yet_opened_is_retried_later(world: World) -> None:
    data = RequestCancelled(request_id="not-yet", tracking_code="HY0000000002", cancelled_at=T0)
    with pytest.raises(RetryLater, match="no task not-yet yet"):
        await world.service.cancel_from(world.envelope(data), data)


# -- the SLA sweeper ---------------------------------------------------------------------------------------


async def test_a_sweep_pass_reminds_then_escalates_each_step_once(world: World) -> None:
    request_id = await world.submit()  # claim due at 14:00 (4 working hours, lunch 12:00-13:00)
    tick = world.service.sweeper(batch=200)
    assert await world.service.sweep_once() == 0
    world.clock.now = local(2026, 11, 24, 13, 35)
    assert await tick() is False  # one reminder: far from a full batch
    assert await world.service.sweep_once() == 0  # done already: nothing twice
    world.clock.now = local(2026, 11, 24, 14)
    assert await world.service.sweep_once() == 1
    assert world.publisher.types() == ["task.dispatched", "task.reminder", "task.escalated"]
    task = await world.store.get(request_id)
    assert task is not None and task.sla.claim.reminded_at is not None and task.sla.claim.lead_at == world.clock()
    assert task.next_check_at is not None and task.next_check_at > world.clock()


async def test_a_full_batch_asks_the_loop_to_run_again_at_once(world: World) -> None:
    for _ in range(3):
        await world.submit()
    world.clock.now = local(2026, 11, 24, 13, 35)
    tick = world.service.sweeper(batch=2)
    assert await tick() is True  # two reminders written: more may be waiting
    assert await tick() is False  # the third
    assert world.publisher.types().count("task.reminder") == 3
