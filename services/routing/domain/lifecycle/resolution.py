"""The resolution itself (办结): what `resolve` does, and what approving a reviewed reply does. Pure.

One place for it, so a reply a lead approves (review.py) resolves the task exactly as a direct `resolve`
does: the same `task.resolved` event (notify tells the resident, call-backs and the ledgers follow from it).
"""

from __future__ import annotations

from typing import Any

from services.routing.domain.lifecycle.change import Change
from shared.events.tasks import TaskResolved


def resolve(c: Change, reply: str, *, action: str = "resolve", details: dict[str, Any] | None = None) -> None:
    """Resolve with `reply` now. The handling clock stops here: `resolved_on_time` is judged at `c.now`."""
    t = c.task
    t.status = "resolved"
    t.reply = t.public_note = reply
    t.resolved_at = c.now
    t.first_resolved_at = t.first_resolved_at or c.now
    t.resolved_on_time = t.handle_due_at is None or c.now <= t.handle_due_at
    if t.extension is not None and t.extension.status == "requested":
        t.extension = t.extension.model_copy(update={"status": "denied", "decision_note": "resolved before a decision"})
    c.event(TaskResolved, reply=reply)
    c.record(action, note=reply, visibility="public", details=details or {})
