"""One transition's result, and the collector every transition fills in.

A transition takes a task snapshot and returns an `Outcome`: the task after the change, the events it
publishes (with `seq` following the snapshot's) and the history entries it adds. The store writes all
of it in one conditional update (the snapshot's `rev` and `status` in the filter), so two people
clicking at once cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.routing.domain.lifecycle.clocks import next_check
from services.routing.domain.model import PRODUCER, Actor, Context, HistoryEntry, Task
from services.routing.domain.rules import priority_rank
from shared.events import Envelope, EventData, new_event

# Statuses only routing knows: outside it (intake's status view, notify) the task is in the public one.
PUBLIC_STATUS = {"awaiting_review": "in_progress"}  # 审核: the resident hears of the reply once approved


@dataclass(frozen=True)
class Outcome:
    before: Task
    task: Task  # after: seq, rev, history and next_check_at already updated
    events: list[Envelope]
    history: list[HistoryEntry]  # the entries this change adds


class Change:
    """Collects what one transition does, then seals it into an Outcome."""

    def __init__(self, task: Task, ctx: Context, actor: Actor, now: datetime, causation_id: str | None) -> None:
        self.before = task
        self.task = task.model_copy(deep=True)
        self.ctx, self.actor, self.now, self.causation_id = ctx, actor, now, causation_id
        self.payloads: list[EventData] = []
        self.entries: list[tuple[HistoryEntry, int | None]] = []  # entry, index of its event

    def event(self, cls: type[EventData], **extra: Any) -> None:
        t = self.task
        self.payloads.append(
            cls(
                request_id=t.id,  # no tracking code: the resident's proof stays with intake, notify and staff
                status=PUBLIC_STATUS.get(t.status, t.status),
                team=self.ctx.team_ref(t.team_id),
                assignee=t.assignee,
                priority=t.priority,
                due_at=t.due_at,
                public_note=t.public_note,
                actor=self.actor.username,
                **extra,
            )
        )

    def record(self, action: str, *, with_event: bool = True, **fields: Any) -> None:
        t = self.task
        entry = HistoryEntry(
            at=self.now,
            action=action,
            actor=self.actor.username,
            status=t.status,
            from_status=self.before.status,
            team_id=t.team_id,
            assignee=t.assignee,
            **fields,
        )
        self.entries.append((entry, len(self.payloads) - 1 if with_event and self.payloads else None))

    def seal(self) -> Outcome:
        t = self.task
        events = [
            new_event(
                p, producer=PRODUCER, seq=self.before.seq + i + 1, causation_id=self.causation_id, occurred_at=self.now
            )
            for i, p in enumerate(self.payloads)
        ]
        history = []
        for entry, index in self.entries:
            if index is not None:
                entry = entry.model_copy(
                    update={"event_id": str(events[index].event_id), "event_type": events[index].type}
                )
            history.append(entry)
        t.seq = self.before.seq + len(events)
        t.rev = self.before.rev + 1
        t.history = [*self.before.history, *history]
        t.priority_rank = priority_rank(t.priority)
        t.next_check_at = next_check(t, self.ctx)
        return Outcome(self.before, t, events, history)
