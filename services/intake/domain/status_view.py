"""Routing's task events applied to a request's public status view. No I/O: the store applies the result
idempotently, newest `seq` wins (services/intake/store.py)."""

from __future__ import annotations

from typing import Any

from services.intake.domain.request import FINAL_STATUSES
from shared.events import Envelope, TaskEvent
from shared.events.tasks import TaskExtensionApproved

Document = dict[str, Any]


def view_update(envelope: Envelope, data: TaskEvent) -> tuple[Document, Document]:
    """For a routing event: the fields to set when it is the newest, and its timeline entry."""
    team = data.team.model_dump() if data.team else None
    state: Document = {
        "status": data.status,
        "team": team,
        "due_at": data.due_at,
        "routing_seq": envelope.seq,
        "updated_at": envelope.occurred_at,
    }
    if data.public_note:
        state["public_note"] = data.public_note
    entry = {
        "event_id": str(envelope.event_id),
        "type": envelope.type,
        "status": data.status,
        "at": envelope.occurred_at,
        # An extension's entry says why more time is needed; the others carry the latest public note.
        "note": data.extension_reason if isinstance(data, TaskExtensionApproved) else data.public_note,
        "team": team,
    }
    return state, entry


def keeps_cancelled(state: Document) -> Document:
    """The routing state to apply to a request intake cancelled: everything but a non-final status."""
    if state["status"] in FINAL_STATUSES:
        return state
    return {k: v for k, v in state.items() if k != "status"}
