"""A team's work item (published on `work.<team_id>`) from a task event and the task. Pure."""

from __future__ import annotations

from shared.events import Envelope, TaskEvent, WorkItem

# The task events that put work in a team's queue, and the kind of item each makes.
KINDS = {"task.dispatched": "dispatched", "task.transferred": "transferred_in", "task.reopened": "reopened"}


def work_item(envelope: Envelope, data: TaskEvent, task: dict[str, object]) -> WorkItem:
    kind = KINDS[envelope.type]
    if envelope.type == "task.dispatched" and envelope.data.get("redispatch"):
        kind = "redispatched"
    assert data.team is not None
    address = " ".join(str(p) for p in (task.get("address"), task.get("building"), task.get("unit")) if p) or None
    return WorkItem(
        request_id=data.request_id,
        tracking_code=data.tracking_code,
        team_id=data.team.id,
        service_code=str(task["service_code"]),
        priority=data.priority,
        description=str(task.get("description") or ""),
        address=address,
        due_at=data.due_at,
        dispatched_at=envelope.occurred_at,
        kind=kind,  # type: ignore[arg-type]
    )
