"""The service layer: load a task, build the context, run the domain, write once, publish.

Used by the HTTP API (staff actions), the event handlers (intake's events) and the SLA sweeper. A write
that loses a race (someone changed the task since it was read) is retried on the fresh task; the domain
then decides again, so a second `claim` becomes a 409 and a second escalation becomes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from pydantic import BaseModel

from services.routing import lifecycle
from services.routing.calendar import WorkingCalendar
from services.routing.domain import Actor, Context, Feedback, IllegalTransition, LifecycleError, NotVisible, Task
from services.routing.lifecycle import Outcome
from services.routing.metrics import LOST_RACES, TASK_CHANGES
from services.routing.rules import RoutingInput, decide
from services.routing.rulestore import RuleStore
from services.routing.sla import SlaPolicy
from services.routing.staff import StaffStore
from services.routing.store import RoutingStore
from services.routing.teams import Directory, normalize_building
from shared.bus import RetryLater
from shared.events import Envelope, FeedbackReceived, RequestCancelled, RequestNotAccepted, RequestSubmitted
from shared.outbox import OutboxRelay

log = structlog.get_logger("huiying.routing")

Clock = Callable[[], datetime]
ATTEMPTS = 5


class LostRace(LifecycleError):
    """The task kept changing under us (more than ATTEMPTS writes lost): try again."""


@dataclass
class RoutingService:
    store: RoutingStore
    staff: StaffStore
    rules: RuleStore
    relay: OutboxRelay
    directory: Directory
    calendar: WorkingCalendar
    policy: SlaPolicy
    clock: Clock

    async def context(self, *, teams: tuple[str | None, ...] = (), original: Task | None = None) -> Context:
        loads: dict[str, int] = {}
        for team in teams:
            if team is not None and self.directory.has(team):
                loads |= await self.store.loads(team)
        return Context(
            directory=self.directory,
            calendar=self.calendar,
            policy=self.policy,
            staff=await self.staff.active(),
            loads=loads,
            original=original,
        )

    async def _commit(self, outcome: Outcome, source: str = "api") -> Task | None:
        """Write; publish what the write carried. None when the task changed meanwhile."""
        doc = await self.store.save(outcome)
        if doc is None:
            LOST_RACES.labels(source=source).inc()
            return None
        for entry in outcome.history:
            TASK_CHANGES.labels(action=entry.action).inc()
        if doc.get("outbox"):
            await self.relay.publish_after_write(self.store.tasks, doc)
        return outcome.task

    # -- staff actions ----------------------------------------------------------------------------------------

    async def get_visible(self, request_id: str, actor: Actor) -> Task:
        task = await self.store.get(request_id)
        if task is None or not lifecycle.visible(task, actor):
            raise NotVisible(request_id)
        return task

    async def act(self, request_id: str, action: str, actor: Actor, params: BaseModel) -> Task:
        for _ in range(ATTEMPTS):
            task = await self.get_visible(request_id, actor)
            # Fail fast (404/403/409) before any lookups the action needs.
            lifecycle.check(task, actor, action)
            teams: tuple[str | None, ...] = (getattr(params, "team_id", None),)
            original = None
            if action == "duplicate":
                original = await self.store.find(params.original)  # type: ignore[attr-defined]
                if original is not None and original.duplicate_of:
                    original = await self.store.get(original.duplicate_of) or original
            ctx = await self.context(teams=teams, original=original)
            outcome = lifecycle.act(task, action, actor, params, ctx, self.clock())
            saved = await self._commit(outcome)
            if saved is not None:
                log.info("task action", action=action, actor=actor.username, request_id=request_id, status=saved.status)
                return saved
        raise LostRace(f"the task {request_id} kept changing; try again")

    # -- intake's events --------------------------------------------------------------------------------------

    async def open_from(self, envelope: Envelope, data: RequestSubmitted) -> None:
        """Idempotent: the task id is the request id; a redelivery finds it and does nothing."""
        if await self.store.get(data.request_id) is not None:
            return
        now = self.clock()
        building = normalize_building(data.location.building, data.location.address)
        grid = self.directory.grid_of(building)
        version = await self.rules.current(now)
        request = RoutingInput(
            category=data.service_code,
            description=data.description,
            building=building,
            grid=grid,
            attributes=dict(data.attributes),
            vulnerability=tuple(data.resident.vulnerability),
        )
        decision = decide(request, version.rules, version.version, self.directory)
        ctx = await self.context(teams=(decision.team_id,))
        outcome = lifecycle.open_task(data, decision, grid, building, ctx, now, str(envelope.event_id))
        document = await self.store.insert_task(outcome)
        if document is not None:
            TASK_CHANGES.labels(action="dispatch").inc()
            await self.relay.publish_after_write(self.store.tasks, document)

    async def record_not_accepted(self, envelope: Envelope, data: RequestNotAccepted) -> None:
        ctx = await self.context()
        await self.store.insert_record(lifecycle.not_accepted_record(data, envelope.occurred_at, ctx))

    async def _on_event(self, request_id: str, apply: Callable[[Task, Context], Outcome | None]) -> None:
        for _ in range(ATTEMPTS):
            task = await self.store.get(request_id)
            if task is None:
                # The request.submitted that creates it has not been handled yet.
                raise RetryLater(f"no task {request_id} yet")
            outcome = apply(task, await self.context(teams=(task.team_id,)))
            if outcome is None or await self._commit(outcome, "event") is not None:
                return
        raise RetryLater(f"task {request_id} kept changing")

    async def cancel_from(self, envelope: Envelope, data: RequestCancelled) -> None:
        def apply(task: Task, ctx: Context) -> Outcome | None:
            if task.status not in lifecycle.SYSTEM_ACTIONS["cancel"]:
                log.info("cancel ignored", request_id=task.id, status=task.status)
                return None
            return lifecycle.cancel(task, data.reason, ctx, self.clock(), str(envelope.event_id))

        await self._on_event(data.request_id, apply)

    async def feedback_from(self, envelope: Envelope, data: FeedbackReceived) -> None:
        event_id = str(envelope.event_id)

        def apply(task: Task, ctx: Context) -> Outcome | None:
            if any(f.event_id == event_id for f in task.feedback):
                return None  # a redelivery
            fb = Feedback(event_id=event_id, rating=data.rating, comment=data.comment, at=data.received_at)
            return lifecycle.feedback(task, fb, ctx, self.clock(), event_id)

        await self._on_event(data.request_id, apply)

    # -- the SLA sweeper ---------------------------------------------------------------------------------------

    async def sweep_once(self, batch: int = 200) -> int:
        """One pass: every task whose next check is due gets its due steps, each in one conditional write.
        Returns the number of events written. Safe with any number of replicas sweeping at once."""
        now = self.clock()
        tasks = await self.store.due_for_sweep(now, batch)
        if not tasks:
            return 0
        ctx = await self.context()
        written = 0
        for task in tasks:
            try:
                outcome = lifecycle.sla_step(task, ctx, now)
            except IllegalTransition:
                continue
            if outcome is None:
                # Nothing due (the schedule moved): look again when something is.
                await self.store.set_next_check(task, lifecycle.next_check(task, ctx))
                continue
            if await self._commit(outcome, "sweeper") is not None:
                written += len(outcome.events)
            # else: another replica (or a staff action) changed it first; the next pass sees the new state.
        return written
