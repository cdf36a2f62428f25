"""Intake's event consumers: routing's task events feed the public status view."""

from __future__ import annotations

from services.intake.domain import view_update
from services.intake.store import IntakeStore
from shared.bus import Poison
from shared.events import Envelope, EventData, TaskEvent


class TaskEventsHandler:
    def __init__(self, store: IntakeStore) -> None:
        self.store = store

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if not isinstance(data, TaskEvent):
            raise Poison(f"{envelope.type} is not a task event")
        state, entry = view_update(envelope, data)
        if not await self.store.apply_routing_event(data.request_id, envelope.seq, state, entry):
            # Intake writes a request before any event about it exists, so this is not a race.
            raise Poison(f"unknown request {data.request_id}")
