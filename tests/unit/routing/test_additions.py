"""The resident's photos and additions on routing's side: the photos kept with the task, an addition in the
history once (a redelivery changes nothing), the "new from the resident" mark until staff act, the work item."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.routing.domain import lifecycle as lc
from services.routing.domain.additions import resident_added, supplemented
from services.routing.domain.lifecycle import commands as cmd
from services.routing.domain.views import queue_item, task_view
from services.routing.domain.workitems import addition_item
from shared.events import new_event
from shared.events.requests import PhotoRef, RequestSupplemented
from tests.unit.routing.factories import DIRECTORY, context, local, member, new_task, submitted

T0 = local(2026, 11, 24, 9)
CTX = context()
PHOTO = PhotoRef(id="p1", name="leak.jpg", width=640, height=480, bytes=1000)


def addition(request_id: str, n: int = 1, at: datetime = T0) -> RequestSupplemented:
    photos = [PhotoRef(id=f"p{n}-extra", name="ceiling.jpg")]
    text = "天花板也湿了，电话13800138000"
    return RequestSupplemented(request_id=request_id, addition_id=f"a{n}", text=text, photos=photos, added_at=at)


def test_the_submitted_photos_stay_with_the_task() -> None:
    sub = submitted().model_copy(update={"photos": [PHOTO]})
    task = new_task(sub)
    assert task.photos == [PHOTO.model_dump()]
    assert task_view(task, member(), DIRECTORY, T0)["photos"][0]["id"] == "p1"


def test_an_addition_goes_into_the_history_once_and_marks_the_task() -> None:
    task = new_task()
    data = addition(task.id)
    outcome = supplemented(task, data, CTX, T0, "event-1")
    assert outcome is not None and outcome.events == []  # intake's event already told everyone
    after = outcome.task
    [entry] = outcome.history
    assert (entry.action, entry.actor, entry.note, entry.visibility) == (
        "resident_added", "resident", "天花板也湿了，电话13800138000", "public"
    )  # fmt: skip
    assert entry.details == {"addition_id": "a1", "photos": ["p1-extra"]}
    assert [p["id"] for p in after.photos] == ["p1-extra"] and after.status == task.status
    assert resident_added(after) and queue_item(after, member(), DIRECTORY, T0)["resident_added"]
    assert supplemented(after, data, CTX, T0, "event-1") is None  # a redelivery


def test_the_mark_stays_until_a_staff_member_acts() -> None:
    task = supplemented(new_task(), addition("x"), CTX, T0, "e").task  # type: ignore[union-attr]
    assert resident_added(task)
    later = T0 + timedelta(minutes=5)
    noted = lc.act(task, cmd.Note(text="已电话联系"), member(), CTX, later).task
    assert not resident_added(noted)
    newer = later + timedelta(minutes=1)
    again = supplemented(noted, addition(noted.id, n=2, at=newer), CTX, newer, "e2")
    assert again is not None and resident_added(again.task)  # something new since the note


def test_the_work_item_masks_phones_and_counts_photos() -> None:
    task = new_task()
    data = addition(task.id)
    envelope = new_event(data, producer="intake", seq=2, occurred_at=T0)
    item = addition_item(envelope, data, task.document())
    assert (item.kind, item.team_id, item.request_id) == ("resident_added", task.team_id, task.id)
    assert "13800138000" not in item.description and "138****8000" in item.description
    assert "1 photo" in item.description and item.resident_phone == "138****8000"
    whole = addition_item(envelope, data, task.document(), "full")
    assert "13800138000" in whole.description
