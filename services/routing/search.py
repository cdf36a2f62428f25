"""Staff search, saved views and bulk actions: the application layer over the search store and the
lifecycle. A search reads one page of tasks through an index; a bulk action runs `RoutingService.act` on
each selected task in turn, so every task is one guarded write with its own permission and transition
check, and one task's refusal stops nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from services.routing.domain import bulk
from services.routing.domain.errors import Invalid, LifecycleError
from services.routing.domain.model import Actor, Task
from services.routing.domain.search import SearchQuery, parse_search, view_query
from services.routing.searchstore import MAX_VIEWS, SearchStore
from services.routing.service import RoutingService

log = structlog.get_logger("huiying.routing")


@dataclass
class SearchService:
    store: SearchStore
    routing: RoutingService
    clock: Callable[[], datetime]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.routing.config.calendar.timezone)

    def parse(self, params: Mapping[str, str], actor: Actor) -> SearchQuery:
        directory = self.routing.config.directory
        return parse_search(params, actor, directory, self.zone, self.routing.segmenter)

    async def search(self, params: Mapping[str, str], actor: Actor) -> tuple[SearchQuery, list[Task], int]:
        query = self.parse(params, actor)
        tasks, total = await self.store.search(query)
        # What was searched for is not logged: it may hold a phone number or a name.
        log.info("search", actor=actor.username, criteria=sorted(query.given), total=total)
        return query, tasks, total

    # -- saved views -------------------------------------------------------------------------------------------

    async def views(self, actor: Actor) -> list[dict[str, Any]]:
        return await self.store.views(actor.username)

    async def save_view(self, actor: Actor, name: str, query: Mapping[str, str]) -> dict[str, Any]:
        directory = self.routing.config.directory
        kept = view_query(query, actor, directory, self.zone, self.routing.segmenter)
        if not await self.store.save_view(actor.username, name, kept, self.clock()):
            raise Invalid("name", f"you have {MAX_VIEWS} saved views already; delete one first")
        return {"name": name, "query": kept}

    async def delete_view(self, actor: Actor, name: str) -> bool:
        return await self.store.delete_view(actor.username, name)

    # -- bulk actions ------------------------------------------------------------------------------------------

    async def bulk_run(self, request: bulk.BulkRequest, actor: Actor) -> list[tuple[str, Task | LifecycleError]]:
        """Each selected task in turn: the task after the action, or why it was refused."""
        command = request.command()  # a wrong parameter refuses the whole request (422) before any write
        results: list[tuple[str, Task | LifecycleError]] = []
        for request_id in request.ids:
            try:
                results.append((request_id, await self.routing.act(request_id, command, actor)))
            except LifecycleError as exc:
                results.append((request_id, exc))
        done = sum(1 for _, r in results if isinstance(r, Task))
        log.info("bulk action", action=request.action, actor=actor.username, done=done, refused=len(results) - done)
        return results

    async def bulk(self, request: bulk.BulkRequest, actor: Actor) -> dict[str, Any]:
        results = [
            bulk.done(request_id, r) if isinstance(r, Task) else bulk.refused(request_id, r)
            for request_id, r in await self.bulk_run(request, actor)
        ]
        return bulk.summary(request.action, results)
