"""What the resident adds to an open request (intake's `request.supplemented`): a line in the task's
history at once, the photos with the task's, and the console's "new from the resident" mark until a staff
member acts on the task. No I/O.
"""

from __future__ import annotations

from datetime import datetime

from services.routing.domain.lifecycle.change import Change, Outcome
from services.routing.domain.model import Actor, Context, Task
from shared.events.requests import RequestSupplemented

RESIDENT = Actor("resident", "system")
ACTION = "resident_added"
NOT_STAFF = frozenset({"system", "resident"})


def supplemented(
    task: Task, data: RequestSupplemented, ctx: Context, now: datetime, causation_id: str
) -> Outcome | None:
    """The addition in the history (no event: intake already told everyone). None for a redelivery."""
    if any(h.action == ACTION and h.details.get("addition_id") == data.addition_id for h in task.history):
        return None
    c = Change(task, ctx, RESIDENT, now, causation_id)
    c.task.photos = [*c.task.photos, *(p.model_dump() for p in data.photos)]
    c.task.resident_added_at = data.added_at
    c.record(
        ACTION,
        with_event=False,
        note=data.text,
        visibility="public",  # the resident's own words: nothing internal about them
        details={"addition_id": data.addition_id, "photos": [p.id for p in data.photos]},
    )
    return c.seal()


def resident_added(task: Task) -> bool:
    """Something the resident added that no staff member has acted on since (any staff action clears it)."""
    if task.resident_added_at is None:
        return False
    return not any(h.at >= task.resident_added_at and h.actor not in NOT_STAFF for h in task.history)
