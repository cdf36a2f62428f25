"""What the staff API returns for a task: complete enough for the console to render without more calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.routing.domain.additions import resident_added
from services.routing.domain.labels import PRIORITY_LABELS, status_label
from services.routing.domain.lifecycle import allowed_actions, is_overdue
from services.routing.domain.model import OPEN_STATUSES, Actor, Task
from services.routing.domain.privacy import description_for, resident_for
from services.routing.domain.teams import Directory


def _team(directory: Directory, team_id: str | None) -> dict[str, Any] | None:
    ref = directory.ref(team_id)
    return {"id": ref.id, "name": ref.name} if ref else None


def queue_item(task: Task, actor: Actor, directory: Directory, now: datetime) -> dict[str, Any]:
    return {
        "id": task.id,
        "tracking_code": task.tracking_code,
        "status": task.status,
        "status_label": status_label(task.status),
        "service_code": task.service_code,
        "service_name": task.service_name,
        "summary": task.description[:140],
        "grid": task.grid,
        "building": task.building,
        "team": _team(directory, task.team_id),
        "assignee": task.assignee,
        "priority": task.priority,
        "priority_label": PRIORITY_LABELS[task.priority],
        "submitted_at": task.submitted_at,
        "dispatched_at": task.dispatched_at,
        "claim_due_at": task.claim_due_at,
        "handle_due_at": task.handle_due_at,
        "due_at": task.due_at,
        "overdue": is_overdue(task, now),
        "extension_pending": task.extension is not None and task.extension.status == "requested",
        "reason_code": task.reason_code,
        "allowed_actions": allowed_actions(task, actor),
        "resident_added": resident_added(task),  # the console's "new from the resident" badge
        # 并单 and 回访: a mark on the queue row
        "possible_duplicates": len(task.duplicate_candidates) if task.status in OPEN_STATUSES else 0,
        "followup_open": task.followup_team is not None,
        # 审核: the console's "awaiting review" and "sent back" badges (domain/lifecycle/review.py)
        "review_pending": task.status == "awaiting_review",
        "review_sent_back": task.review is not None
        and task.review.status == "sent_back"
        and task.status in ("claimed", "in_progress", "on_hold")
        and task.assignee == task.review.submitted_by,  # not once the work went to someone else
    }


def task_view(task: Task, actor: Actor, directory: Directory, now: datetime) -> dict[str, Any]:
    out = queue_item(task, actor, directory, now)
    out.pop("summary")
    out |= {
        "description": description_for(task, actor),  # phones typed into it masked likewise
        "location": {"address": task.address, "building": task.building, "unit": task.unit, "grid": task.grid},
        "resident": resident_for(task, actor),  # the phone masked unless `actor` is the assignee
        "vulnerability": task.vulnerability,
        "attributes": task.attributes,
        "answer_labels": task.answer_labels,
        "language": task.language,
        "channel": task.channel,
        "channel_kind": task.channel_kind,
        "on_behalf": task.on_behalf,
        "filed_by": task.filed_by,
        "decision": task.decision.model_dump() if task.decision else None,
        "claimed_at": task.claimed_at,
        "started_at": task.started_at,
        "resolved_at": task.resolved_at,
        "closed_at": task.closed_at,
        "sla": task.sla.model_dump(),
        "hold": task.hold.model_dump() if task.hold else None,
        "extension": task.extension.model_dump() if task.extension else None,
        "public_note": task.public_note,
        "reply": task.reply,
        "feedback": [f.model_dump() for f in task.feedback],
        "rating": task.rating,
        "duplicate_of": task.duplicate_of,
        "closed_reason": task.closed_reason,
        "resolved_on_time": task.resolved_on_time,
        "counts": task.counts.model_dump(),
        "seq": task.seq,
        "history": [h.model_dump() for h in task.history],
        "photos": task.photos,
        # call-backs (回访) and duplicates (并单)
        "followup": task.followup.model_dump() if task.followup else None,
        "rating_source": task.rating_source,
        "duplicate_candidates": [c.model_dump() for c in task.duplicate_candidates],
        "repeat_of": task.repeat_of,
        "review": task.review.model_dump() if task.review else None,
    }
    return out


def followup_view(task: Task, directory: Directory) -> dict[str, Any]:
    """What the desk needs to call a resident back: the matter, the answer given, who to call, the calls so far."""
    return {
        "id": task.id,
        "tracking_code": task.tracking_code,
        "service_code": task.service_code,
        "service_name": task.service_name,
        "description": task.description,
        "location": {"address": task.address, "building": task.building, "unit": task.unit},
        "resident": task.resident,
        "language": task.language,
        "status": task.status,
        "status_label": status_label(task.status),
        "team": _team(directory, task.team_id),
        "reply": task.reply,
        "resolved_at": task.resolved_at or task.closed_at,
        "rating": task.rating,
        "rating_source": task.rating_source,
        "followup": task.followup.model_dump() if task.followup else None,
        "followup_open": task.followup_team is not None,
    }
