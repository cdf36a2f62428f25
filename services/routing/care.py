"""The care register's application layer (走访慰问): register, change and end households, record visits (and
file a request on the household's behalf with one), list what is due or missed, and the sweeper's pass.

Each change is one guarded write of the household document carrying its `care.*` events (the embedded
outbox). It depends on the care store, the routing service (for the decision context: teams, calendar, SLA
policy, staff), a publisher and a clock. Called by services/routing/api/care.py and web/care.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from services.routing.care_store import CareStore
from services.routing.domain import care
from services.routing.domain.care import CareOutcome, Household, RecordVisit
from services.routing.domain.errors import Conflict, Forbidden, Invalid, NotVisible
from services.routing.domain.model import Actor
from services.routing.domain.teams import normalize_building
from services.routing.service import LostRace, RoutingService
from shared.optimistic import AGAIN, Again, optimistic
from shared.outbox import Publisher

log = structlog.get_logger("huiying.routing")
Clock = Callable[[], datetime]


def _new_household_id() -> str:
    return "hh-" + uuid.uuid4().hex[:12]


def _new_visit_id() -> str:
    return str(uuid.uuid4())


@dataclass
class CareService:
    store: CareStore
    routing: RoutingService  # for the decision context (teams, calendar, SLA policy, staff)
    publisher: Publisher
    clock: Clock
    new_id: Callable[[], str] = field(default=_new_household_id)
    new_visit_id: Callable[[], str] = field(default=_new_visit_id)

    async def _commit(self, outcome: CareOutcome) -> Household | Again:
        if outcome.before is None:
            doc = await self.store.insert(outcome)
        else:
            doc = await self.store.save(outcome)
        if doc is None:
            return AGAIN
        if doc.get("outbox"):
            await self.publisher.publish_after_write(doc)
        return outcome.household

    def _check_team(self, team_id: str, field_name: str = "team_id") -> None:
        if self.routing.config.directory.ref(team_id) is None:
            known = ", ".join(t.id for t in self.routing.config.directory.teams)
            raise Invalid(field_name, f"unknown team {team_id!r}; one of: {known}")

    async def _check_assignee(self, assignee: str | None, team_id: str) -> None:
        if assignee is None:
            return
        person = next((s for s in await self.routing.staff.active() if s.username == assignee), None)
        if person is None or person.team != team_id:
            raise Invalid("assignee", f"{assignee!r} is not an active member of {team_id}; leave it empty or pick one")

    # -- reads -------------------------------------------------------------------------------------------------

    async def get(self, household_id: str, actor: Actor) -> Household:
        h = await self.store.get(household_id)
        if h is None or not care.can_see(h, actor):
            raise NotVisible(household_id)  # another team's household: as if it did not exist
        return h

    async def listing(self, actor: Actor, *, overdue_only: bool = False, active: bool = True) -> list[Household]:
        """The actor's team's register (every team's for supervisors and admins); soonest due first."""
        if not actor.sees_everything and actor.team is None:
            return []
        team = None if actor.sees_everything else actor.team
        due_before = self.clock() if overdue_only else None
        return await self.store.households_of(team, active=active, due_before=due_before)

    # -- register changes ----------------------------------------------------------------------------------------

    async def register(self, h: Household, actor: Actor) -> Household:
        if not care.can_edit(h.team_id, actor):
            raise Forbidden("only supervisors, admins and the team's leads may register a household")
        self._check_team(h.team_id)
        await self._check_assignee(h.assignee, h.team_id)
        if h.consent.given_at > self.clock():
            raise Invalid("consent.given_at", "consent cannot be given in the future; give when they agreed")
        if h.last_visit_at is not None and h.last_visit_at > self.clock():
            raise Invalid("last_visited_at", "cannot be in the future; give the last visit's date or leave it empty")
        directory = self.routing.config.directory
        if h.building and not h.grid:
            h = h.model_copy(update={"grid": directory.grid_of(h.building)})
        ctx = await self.routing.context()

        async def attempt() -> Household | Again:
            candidate = h.model_copy(update={"id": self.new_id()})
            return await self._commit(care.register(candidate, ctx, actor, self.clock()))

        saved = await optimistic(attempt, gave_up=lambda: LostRace("could not store the household; try again"))
        log.info("care household registered", household=saved.id, team=saved.team_id, actor=actor.username)
        return saved

    async def _change(
        self, household_id: str, actor: Actor, decide: Callable[[Household], CareOutcome | None]
    ) -> Household:
        async def attempt() -> Household | Again:
            h = await self.get(household_id, actor)
            outcome = decide(h)
            if outcome is None:
                return h
            return await self._commit(outcome)

        return await optimistic(attempt, gave_up=lambda: LostRace(f"household {household_id} kept changing; try again"))

    async def update(self, household_id: str, changes: dict[str, Any], actor: Actor) -> Household:
        if "building" in changes or "address" in changes:
            current_h = await self.get(household_id, actor)
            building = normalize_building(changes.get("building"), changes.get("address", current_h.address))
            changes = {**changes, "building": building, "grid": self.routing.config.directory.grid_of(building)}
        if "team_id" in changes:
            self._check_team(changes["team_id"])
        ctx = await self.routing.context()
        current = await self.get(household_id, actor)
        if not care.can_edit(current.team_id, actor) or not care.can_edit(
            changes.get("team_id", current.team_id), actor
        ):
            raise Forbidden("only supervisors, admins and the team's leads may change the register")
        await self._check_assignee(changes.get("assignee", current.assignee), changes.get("team_id", current.team_id))

        def decide(h: Household) -> CareOutcome | None:
            if not h.active:
                raise Conflict("this household is off the register; register it again to visit it")
            real = {k: v for k, v in changes.items() if getattr(h, k) != v}
            return care.update(h, real, ctx, actor, self.clock()) if real else None

        return await self._change(household_id, actor, decide)

    async def end(self, household_id: str, reason: str, actor: Actor) -> Household:
        ctx = await self.routing.context()
        current = await self.get(household_id, actor)
        if not care.can_edit(current.team_id, actor):
            raise Forbidden("only supervisors, admins and the team's leads may take a household off the register")
        return await self._change(
            household_id, actor, lambda h: care.end(h, reason, ctx, actor, self.clock()) if h.active else None
        )

    async def record_visit(self, household_id: str, cmd: RecordVisit, actor: Actor) -> tuple[Household, str]:
        """Anyone of the household's team (and supervisors) records a visit; returns the household and the
        visit id (the filed request's idempotency key at intake)."""
        now = self.clock()
        if cmd.visited_at > now:
            raise Invalid("visited_at", "a visit cannot be in the future; give the time it happened")
        ctx = await self.routing.context()
        visit_id = self.new_visit_id()

        def decide(h: Household) -> CareOutcome:
            if not h.active:
                raise Conflict("this household is off the register; its visits are closed")
            return care.record_visit(h, cmd, visit_id, ctx, actor, now)

        h = await self._change(household_id, actor, decide)
        log.info("care visit recorded", household=household_id, actor=actor.username, filed=bool(cmd.file_service))
        return h, visit_id

    # -- the sweeper -------------------------------------------------------------------------------------------

    async def sweep_once(self, batch: int = 200) -> int:
        """Open the visits whose time has come, remind, escalate missed ones. Returns the events written. Safe
        with any number of replicas: a write that lost to another one is left for the next pass."""
        now = self.clock()
        households = await self.store.due_for_sweep(now, batch)
        if not households:
            return 0
        ctx = await self.routing.context()
        written = 0
        for h in households:
            outcome = care.sweep_step(h, ctx, now)
            if outcome is None:
                await self.store.set_next_check(h, care.next_check(h, ctx))
                continue
            if not isinstance(await self._commit(outcome), Again):
                written += len(outcome.events)
        return written


def with_care(
    tasks: Callable[[], Awaitable[bool]], care_service: CareService, batch: int
) -> Callable[[], Awaitable[bool]]:
    """The SLA sweeper's tick with the care register's pass after the tasks' (one loop, one interval)."""

    async def tick() -> bool:
        more = await tasks()
        written = await care_service.sweep_once(batch)
        if written:
            log.info("care sweep", events=written)
        return more or written >= batch

    return tick
