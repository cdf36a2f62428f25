"""The service layer: load a task, look up what the decision needs, run the domain, write once, publish.

Used by the HTTP API and the console (staff actions, queues, ledgers), the event handlers (intake's
events) and the SLA sweeper. A write that loses a race (someone changed the task since it was read) is
decided again on the fresh task (`shared.optimistic`), so a second `claim` becomes a 409 and a second
escalation becomes nothing. It depends on the store protocols, a publisher and a clock only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from services.routing import metrics
from services.routing.config import RoutingConfig
from services.routing.domain import lifecycle, search
from services.routing.domain.additions import supplemented
from services.routing.domain.errors import IllegalTransition, LifecycleError, NotVisible
from services.routing.domain.lifecycle import Needs, Outcome, StaffCommand
from services.routing.domain.model import Actor, Context, Feedback, Task
from services.routing.domain.queue import QueueQuery
from services.routing.domain.rules import RoutingInput, decide
from services.routing.domain.teams import normalize_building
from services.routing.duplicates import DuplicateFinder
from services.routing.rulestore import RuleStore
from services.routing.segment import SEGMENTER
from services.routing.staff import StaffStore
from services.routing.store import RoutingStore
from shared.bus import RetryLater
from shared.events import Envelope, FeedbackReceived, RequestCancelled, RequestNotAccepted, RequestSubmitted
from shared.events.requests import RequestSupplemented
from shared.optimistic import (
    AGAIN,
    Again,  # the type of AGAIN
    optimistic,
)
from shared.outbox import Publisher
from shared.segment import JiebaSegmenter

log = structlog.get_logger("huiying.routing")

Clock = Callable[[], datetime]
NOTHING = Needs()  # a decision that needs only the config and the staff


class LostRace(LifecycleError):
    """The task kept changing under us (every attempt's write lost): try again."""


@dataclass
class RoutingService:
    store: RoutingStore
    staff: StaffStore
    rules: RuleStore
    publisher: Publisher
    config: RoutingConfig
    clock: Clock
    # Duplicates and repeats (并单): services/routing/duplicates.py.
    duplicates: DuplicateFinder = field(init=False)

    def __post_init__(self) -> None:
        self.duplicates = DuplicateFinder(self.store, self.config.duplicates)

    # The care register: the kinds of care (elderly_alone, ...) of an active household with this phone, so a
    # registered household is recognised as vulnerable when it files a request itself (set by bootstrap).
    care_kinds: Callable[[str], Awaitable[list[str]]] | None = None
    # Cuts a new task's text into the words staff search finds it by (domain/search.py).
    segmenter: JiebaSegmenter = field(default_factory=lambda: SEGMENTER)

    async def context(self, needs: Needs = NOTHING) -> Context:
        """What a decision needs besides the task: the config, the active staff, the loads of the teams it
        may assign in, and the original it points at."""
        directory = self.config.directory
        staff = await self.staff.active()  # cached for a few seconds (services/routing/cache.py)
        loads: dict[str, int] = {}
        for team in needs.teams:
            if lifecycle.needs_loads(team, directory, staff):  # a read only where the choice compares loads
                loads |= await self.store.loads(team)
        return Context(
            directory=directory,
            calendar=self.config.calendar,
            policy=self.config.policy,
            staff=staff,
            loads=loads,
            original=await self._original(needs.original) if needs.original else None,
            followup=self.config.followup,
        )

    async def _original(self, id_or_code: str) -> Task | None:
        """The task named, or the task it is itself a duplicate of (a duplicate points at the first)."""
        original = await self.store.find(id_or_code)
        if original is not None and original.duplicate_of:
            original = await self.store.get(original.duplicate_of) or original
        return original

    async def _commit(self, outcome: Outcome, source: str = "api") -> Task | Again:
        """Write; publish what the write carried. AGAIN when the task changed meanwhile."""
        doc = await self.store.save(outcome)
        if doc is None:
            metrics.LOST_RACES.labels(source=source).inc()
            return AGAIN
        for entry in outcome.history:
            metrics.TASK_CHANGES.labels(action=entry.action).inc()
        if doc.get("outbox"):
            await self.publisher.publish_after_write(doc)
        return outcome.task

    # -- staff actions and reads -----------------------------------------------------------------------------

    async def get_visible(self, request_id: str, actor: Actor) -> Task:
        task = await self.store.get(request_id)
        if task is None or not lifecycle.visible(task, actor):
            raise NotVisible(request_id)
        return task

    async def act(self, request_id: str, command: StaffCommand, actor: Actor) -> Task:
        async def attempt() -> Task | Again:
            task = await self.get_visible(request_id, actor)
            # Fail fast (404/403/409) before the lookups the action needs.
            lifecycle.check(task, actor, command.action)
            ctx = await self.context(command.needs())
            saved = await self._commit(lifecycle.act(task, command, actor, ctx, self.clock()))
            if not isinstance(saved, Again):
                log.info("task action", action=command.action, actor=actor.username, request_id=request_id,
                         status=saved.status)  # fmt: skip
            return saved

        return await optimistic(attempt, gave_up=lambda: LostRace(f"the task {request_id} kept changing; try again"))

    async def queue(self, query: QueueQuery, *, limit: int, offset: int) -> tuple[list[Task], int]:
        return await self.store.query(query, limit=limit, skip=offset)

    async def ledger_rows(
        self, start: datetime, end: datetime, limit: int, where: dict[str, Any] | None = None, history: bool = False
    ) -> list[dict[str, Any]]:
        return await self.store.ledger_rows(start, end, limit, where, history)

    async def service_names(self, codes: list[str]) -> dict[str, dict[str, str]]:
        return await self.store.service_names(codes)

    # -- intake's events --------------------------------------------------------------------------------------

    async def open_from(self, envelope: Envelope, data: RequestSubmitted) -> None:
        """Idempotent: the task id is the request id, so the insert of a redelivery fails on the unique `_id`
        and nothing is written or published (no read first: a redelivery is the rare case)."""
        now = self.clock()
        directory = self.config.directory
        if self.care_kinds is not None and data.resident.phone:
            known = await self.care_kinds(data.resident.phone)
            if set(known) - set(data.resident.vulnerability):
                kinds = list(dict.fromkeys([*data.resident.vulnerability, *known]))
                data = data.model_copy(update={"resident": data.resident.model_copy(update={"vulnerability": kinds})})
        building = normalize_building(data.location.building, data.location.address)
        grid = directory.grid_of(building)
        version = await self.rules.current(now)
        request = RoutingInput(
            category=data.service_code,
            description=data.description,
            building=building,
            grid=grid,
            attributes=dict(data.attributes),
            vulnerability=tuple(data.resident.vulnerability),
        )
        decision = decide(request, version.rules, version.version, directory)
        ctx = await self.context(Needs(teams=(decision.team_id,)))
        outcome = lifecycle.open_task(data, decision, grid, building, ctx, now, str(envelope.event_id))
        self.duplicates.prepare(outcome.task, data)  # 并单: the keys it is looked up by
        search.index(outcome.task, self.segmenter.search_words)
        document = await self.store.insert_task(outcome)
        if document is not None:
            metrics.TASK_CHANGES.labels(action="dispatch").inc()
            await self.publisher.publish_after_write(document)
        # After the write, so two requests dispatched at once find each other (a redelivery looks again).
        await self.duplicates.flag(outcome.task)

    async def record_not_accepted(self, envelope: Envelope, data: RequestNotAccepted) -> None:
        ctx = await self.context()
        await self.store.insert_record(lifecycle.not_accepted_record(data, envelope.occurred_at, ctx))

    async def _on_event(self, request_id: str, apply: Callable[[Task, Context], Outcome | None]) -> None:
        async def attempt() -> Again | None:
            task = await self.store.get(request_id)
            if task is None:
                # The request.submitted that creates it has not been handled yet.
                raise RetryLater(f"no task {request_id} yet")
            outcome = apply(task, await self.context(Needs(teams=(task.team_id,) if task.team_id else ())))
            if outcome is None:
                return None
            saved = await self._commit(outcome, "event")
            return AGAIN if isinstance(saved, Again) else None

        await optimistic(attempt, gave_up=lambda: RetryLater(f"task {request_id} kept changing"))

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

    async def supplement_from(self, envelope: Envelope, data: RequestSupplemented) -> None:
        """The resident's addition into the task's history (domain/additions.py); idempotent."""
        event_id = str(envelope.event_id)
        await self._on_event(data.request_id, lambda task, ctx: supplemented(task, data, ctx, self.clock(), event_id))

    # -- the SLA sweeper ---------------------------------------------------------------------------------------

    async def sweep_once(self, batch: int = 200) -> int:
        """One pass: every task whose next check is due gets its due steps, each in one conditional write.
        Returns the number of events written. Safe with any number of replicas sweeping at once: a write
        that loses to another replica (or a staff action) is left; the next pass sees the new state."""
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
            if not isinstance(await self._commit(outcome, "sweeper"), Again):
                written += len(outcome.events)
        return written

    def sweeper(self, batch: int) -> Callable[[], Awaitable[bool]]:
        """The SLA sweeper's tick for `shared.loop.PeriodicLoop`: True (run again at once) after a full batch."""

        async def tick() -> bool:
            with metrics.SLA_SWEEP_SECONDS.time():
                written = await self.sweep_once(batch)
            if written:
                log.info("sla sweep", events=written)
            return written >= batch

        return tick
