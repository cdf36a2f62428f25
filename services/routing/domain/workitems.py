"""A team's work item (published on `work.<team_id>`) from a task event and the task. Pure."""

from __future__ import annotations

from typing import Literal

from shared.events import Envelope, TaskEvent, WorkItem
from shared.events.requests import RequestSupplemented
from shared.redact import mask_phone, redact_text

PhonePolicy = Literal["masked", "full", "none"]

# The task events that put work in a team's queue, and the kind of item each makes.
KINDS = {"task.dispatched": "dispatched", "task.transferred": "transferred_in", "task.reopened": "reopened"}


def work_item(envelope: Envelope, data: TaskEvent, task: dict[str, object], phone: PhonePolicy = "masked") -> WorkItem:
    """The item for the team's queue. It carries what a team's system needs to do the work, and no more: no
    tracking code (the resident's proof for cancelling and rating), no name or e-mail, and the resident's
    phone as the team's `work_item_phone` setting says (masked unless the team asked for it whole)."""
    kind = KINDS[envelope.type]
    if envelope.type == "task.dispatched" and envelope.data.get("redispatch"):
        kind = "redispatched"
    assert data.team is not None
    address = " ".join(str(p) for p in (task.get("address"), task.get("building"), task.get("unit")) if p) or None
    resident = task.get("resident")
    number = resident.get("phone") if isinstance(resident, dict) else None
    description = str(task.get("description") or "")
    if phone != "full":
        description = redact_text(description)  # phones typed into the text: 138****8000
    return WorkItem(
        request_id=data.request_id,
        team_id=data.team.id,
        service_code=str(task["service_code"]),
        priority=data.priority,
        description=description,
        resident_phone=None if not number or phone == "none" else number if phone == "full" else mask_phone(number),
        address=address,
        due_at=data.due_at,
        dispatched_at=envelope.occurred_at,
        kind=kind,  # type: ignore[arg-type]
    )


def addition_item(
    envelope: Envelope, data: RequestSupplemented, task: dict[str, object], phone: PhonePolicy = "masked"
) -> WorkItem:
    """The item telling the handling team that the resident added to the request: their words (phones
    masked as in every item) and how many photos, which staff see on the task page."""
    base = work_item_fields(task, phone)
    words = data.text or ""
    if phone != "full":
        words = redact_text(words)
    photos = f"[{len(data.photos)} photo(s) / {len(data.photos)} 张照片]" if data.photos else ""
    return WorkItem(
        **base,
        request_id=data.request_id,
        description=" ".join(p for p in (words, photos) if p),
        due_at=task.get("due_at"),  # type: ignore[arg-type]
        dispatched_at=envelope.occurred_at,
        kind="resident_added",
    )


def work_item_fields(task: dict[str, object], phone: PhonePolicy) -> dict[str, object]:
    resident = task.get("resident")
    number = resident.get("phone") if isinstance(resident, dict) else None
    address = " ".join(str(p) for p in (task.get("address"), task.get("building"), task.get("unit")) if p) or None
    return {
        "team_id": task["team_id"],
        "service_code": task["service_code"],
        "priority": task.get("priority") or "normal",
        "resident_phone": None if not number or phone == "none" else number if phone == "full" else mask_phone(number),
        "address": address,
    }
