"""intake's event consumers: routing's task events feed the public status view (idempotently: the store
applies an event only once, and never an older one over a newer)."""

from __future__ import annotations

from services.intake.service import IntakeService
from shared.bus import Poison
from shared.events import Envelope, EventData, TaskEvent


class TaskEventsHandler:
    def __init__(self, service: IntakeService) -> None:
        self.service = service

    async def __call__(self, envelope: Envelope, data: EventData) -> None:
        if not isinstance(data, TaskEvent):
            raise Poison(f"{envelope.type} is not a task event")
        if not await self.service.apply_task_event(envelope, data):
            # Intake writes a request before any event about it exists, so this is not a race.
            raise Poison(f"unknown request {data.request_id}")
