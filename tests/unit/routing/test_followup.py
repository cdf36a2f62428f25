"""Call-backs (回访) against in-memory stores: the sweeper opens one when nobody rated in 3 days (once, however
many passes), a dissatisfied rating opens one, a rating online closes a waiting one, and a call recorded by the
desk closes or reopens the task like the resident's own rating and shows in the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from services.routing.callbacks import CallBacks
from services.routing.domain import ledger
from services.routing.domain.errors import Forbidden, IllegalTransition, Invalid, NotVisible
from services.routing.domain.followup import RecordCall
from services.routing.domain.model import Actor
from shared.events import FeedbackReceived
from tests.unit.routing.factories import SUPERVISOR, member
from tests.unit.routing.test_service import World

DESK = Actor("community_work_group.member", "member", "community_work_group")


@pytest.fixture
def world() -> World:
    return World()


async def rate(world: World, request_id: str, rating: str) -> None:
    data = FeedbackReceived(request_id=request_id, rating=rating, received_at=world.clock())  # type: ignore[arg-type]
    await world.service.feedback_from(world.envelope(data), data)


async def test_no_rating_in_three_days_opens_one_call_back(world: World) -> None:
    rid = await world.resolved()
    world.clock.advance(days=2, hours=23)
    assert await world.service.sweep_once() == 0
    world.clock.advance(hours=1)
    assert await world.service.sweep_once() == 1
    world.clock.advance(hours=1)
    assert await world.service.sweep_once() == 0  # once
    assert world.publisher.types().count("task.followup_opened") == 1
    (task,) = await CallBacks(world.service).queue(DESK)
    assert task.id == rid and task.followup is not None and task.followup.reason == "no_rating"
    with pytest.raises(Forbidden):
        await CallBacks(world.service).queue(member())
    # a rating online before anyone called: nobody needs to call any more
    await rate(world, rid, "satisfied")
    assert await CallBacks(world.service).queue(DESK) == []
    world.clock.advance(days=5)
    await world.service.sweep_once()
    assert world.publisher.types().count("task.followup_opened") == 1


async def test_a_dissatisfied_rating_opens_one_and_a_redelivery_nothing_more(world: World) -> None:
    rid = await world.resolved()
    data = FeedbackReceived(request_id=rid, rating="dissatisfied", received_at=world.clock())
    envelope = world.envelope(data)
    await world.service.feedback_from(envelope, data)
    await world.service.feedback_from(envelope, data)
    assert world.publisher.types()[-2:] == ["task.reopened", "task.followup_opened"]
    assert world.publisher.types().count("task.followup_opened") == 1
    task = await world.store.get(rid)
    assert task is not None and task.followup_team == "community_work_group" and task.rating_source == "resident"


async def test_a_rating_on_the_phone_counts_like_the_residents_own(world: World) -> None:
    rid = await world.resolved()
    world.clock.advance(days=3)
    await world.service.sweep_once()
    desk = CallBacks(world.service)
    with pytest.raises(Forbidden):
        await desk.record(rid, RecordCall(outcome="no_answer"), member())  # the handling team does not call
    with pytest.raises(Invalid):
        await desk.record(rid, RecordCall(outcome="no_answer", called_at=world.clock() + timedelta(hours=1)), DESK)
    with pytest.raises(ValidationError):
        RecordCall(outcome="no_answer", rating="satisfied")  # nobody answered, nobody rated
    task = await desk.record(rid, RecordCall(outcome="no_answer"), DESK)
    assert task.followup_team == "community_work_group"  # try again
    task = await desk.record(rid, RecordCall(outcome="reached", rating="fairly_satisfied", comment="修好了"), DESK)
    assert (task.status, task.closed_reason, task.rating, task.rating_source) == (
        "closed",
        "fairly_satisfied",
        "fairly_satisfied",
        "callback",
    )
    assert task.followup is not None and task.followup.closed_reason == "called" and task.followup_team is None
    assert world.publisher.types()[-3:] == ["task.callback_recorded", "task.callback_recorded", "task.closed"]

    rows = await world.store.ledger_rows(world.clock() - timedelta(days=30), world.clock(), 100)
    figures = ledger.metrics(rows, world.clock())
    assert (figures["rated"], figures["satisfaction_rate"]) == (1, 1.0)
    assert (figures["rated_by_phone"], figures["rated_online"], figures["not_rated"]) == (1, 0, 0)
    assert (figures["followups"], figures["followed_up"], figures["followup_rate"]) == (1, 1, 1.0)


async def test_a_dissatisfied_rating_on_the_phone_reopens_without_another_call_back(world: World) -> None:
    rid = await world.resolved()
    task = await CallBacks(world.service).record(rid, RecordCall(outcome="reached", rating="dissatisfied"), SUPERVISOR)
    assert task.status == "reopened" and task.followup_team is None
    assert "task.followup_opened" not in world.publisher.types()


async def test_unanswered_calls_give_up_after_the_attempts_and_open_work_cannot_be_called(world: World) -> None:
    rid = await world.resolved()
    world.clock.advance(days=3)
    await world.service.sweep_once()
    desk = CallBacks(world.service)
    for _ in range(3):
        task = await desk.record(rid, RecordCall(outcome="no_answer"), DESK)
    assert task.followup is not None and task.followup.closed_reason == "unreachable" and task.followup_team is None
    assert task.status == "resolved"  # the auto-close still closes it
    open_task = await world.submit()
    with pytest.raises(NotVisible):
        await desk.get(open_task, DESK)  # another team's open work is not the desk's to read
    with pytest.raises(IllegalTransition):
        await desk.record(open_task, RecordCall(outcome="declined"), SUPERVISOR)
