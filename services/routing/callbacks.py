"""Call-backs (回访): the desk's queue of residents to call, and recording a call. The decisions are in
services/routing/domain/lifecycle/calls.py and callbacks.py; opening one happens in the sweeper and on a
rating (RoutingService). Each call is one guarded write carrying its events, like every task change."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from services.routing.domain.errors import Forbidden, NotVisible
from services.routing.domain.followup import FollowUpPolicy, RecordCall
from services.routing.domain.lifecycle.calls import can_see, may_call, record_call
from services.routing.domain.model import Actor, Task
from services.routing.service import LostRace, RoutingService
from shared.optimistic import Again, optimistic

log = structlog.get_logger("huiying.routing")


@dataclass(frozen=True)
class CallBacks:
    service: RoutingService

    @property
    def policy(self) -> FollowUpPolicy:
        return self.service.config.followup

    async def queue(self, actor: Actor, limit: int = 200) -> list[Task]:
        """The open call-backs, oldest first: the desk's staff, supervisors and admins."""
        if not may_call(actor, self.policy):
            raise Forbidden("only the desk's staff, a supervisor or an admin see the call-backs")
        return await self.service.store.followups(self.policy.desk_team, limit)

    async def get(self, request_id: str, actor: Actor) -> Task:
        task = await self.service.store.get(request_id)
        if task is None or not can_see(task, actor, self.policy):
            raise NotVisible(request_id)
        return task

    async def record(self, request_id: str, call: RecordCall, actor: Actor) -> Task:
        service = self.service

        async def attempt() -> Task | Again:
            task = await self.get(request_id, actor)
            outcome = record_call(task, call, actor, await service.context(), service.clock())
            saved = await service._commit(outcome)
            if not isinstance(saved, Again):
                log.info("call-back recorded", request_id=request_id, actor=actor.username, outcome=call.outcome,
                         rated=call.rating is not None)  # fmt: skip
            return saved

        return await optimistic(attempt, gave_up=lambda: LostRace(f"the task {request_id} kept changing; try again"))
