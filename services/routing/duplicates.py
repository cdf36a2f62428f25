"""Duplicates and repeats (并单) on dispatch: the service side of services/routing/domain/duplicates.py.

`prepare` gives a new task its look-up keys before it is inserted; `flag` runs after the insert: it looks the
other tasks up by those keys (an index, a few documents), decides with the domain, and marks both sides of
every possible duplicate, so two requests dispatched at the same moment still find each other: whichever looks
up last sees the other's insert, and marks both. The marks are writes of their own (they bump `rev`, so a staff
action decided on the task before the mark is decided again and keeps it) and idempotent (a redelivered
`request.submitted` looks up again and adds nothing twice). Merging is the `duplicate` action; `merge` also
drops the merged task from the marks of the one it was merged into.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from services.routing import metrics
from services.routing.domain.duplicates import (
    DuplicatePolicy,
    Seen,
    Tokens,
    Where,
    duplicates,
    lookup_keys,
    match_keys,
    repeat_of,
)
from services.routing.domain.model import DuplicateCandidate, Task
from services.routing.segment import SEGMENTER
from services.routing.store import RoutingStore
from shared.events import RequestSubmitted

log = structlog.get_logger("huiying.routing")


def _where(task: Task) -> Where:
    return Where(task.building, task.unit, task.lat, task.long)


def _seen(doc: dict[str, Any], resident: str | None) -> Seen:
    return Seen(
        id=doc["_id"],
        status=doc.get("status", ""),
        description=doc.get("description") or "",
        where=Where(doc.get("building"), doc.get("unit"), doc.get("lat"), doc.get("long")),
        submitted_at=doc["submitted_at"],
        resident_key=resident is not None and resident in (doc.get("match_keys") or []),
        resolved_at=doc.get("first_resolved_at"),
    )


class DuplicateFinder:
    def __init__(self, store: RoutingStore, policy: DuplicatePolicy, tokens: Tokens = SEGMENTER) -> None:
        self.store, self.policy, self.tokens = store, policy, tokens

    def prepare(self, task: Task, data: RequestSubmitted) -> None:
        """The new task's coordinates and the keys others will find it by."""
        task.lat, task.long = data.location.lat, data.location.long
        phone = data.resident.phone
        task.match_keys = match_keys(task.service_code, _where(task), phone, self.policy.distance_m)

    async def flag(self, task: Task) -> None:
        """Mark the possible duplicates of `task` (both ways) and the request it repeats. Idempotent."""
        keys = lookup_keys(task.service_code, _where(task), None, self.policy.distance_m)
        resident = next((k for k in task.match_keys if k.startswith("resident|")), None)
        # One query for every key (an index on match_keys), over the longer of the two windows; the domain
        # keeps each match to its own window.
        since = task.submitted_at - max(
            self.policy.window, self.policy.repeat_window if resident else self.policy.window
        )
        found = await self.store.matching([*keys, *([resident] if resident else [])], since, self.policy.max_candidates)
        docs = {d["_id"]: d for d in found if set(keys) & set(d.get("match_keys") or [])}
        repeats = {d["_id"]: d for d in found if resident in (d.get("match_keys") or [])}
        if not docs and not repeats:
            return
        # Segmenting is CPU work (jieba): off the event loop.
        matches, repeated = await asyncio.to_thread(self._decide, task, docs, repeats, resident)
        now = task.dispatched_at or task.submitted_at
        cap = self.policy.max_marks
        matches = matches[:cap]
        for match in matches:
            mine = DuplicateCandidate(
                id=match.id, place=match.place, similarity=match.similarity, submitted_at=match.submitted_at,
                found_at=now,
            )  # fmt: skip
            theirs = mine.model_copy(update={"id": task.id, "submitted_at": task.submitted_at})
            await self.store.add_duplicate_candidate(task.id, mine, cap)
            await self.store.add_duplicate_candidate(match.id, theirs, cap)
        if matches:
            metrics.TASK_CHANGES.labels(action="duplicate-flag").inc()
            log.info("possible duplicates", request_id=task.id, of=[m.id for m in matches])
        if repeated is not None:
            await self.store.mark_repeat(task.id, repeated)
            log.info("repeat request", request_id=task.id, repeats=repeated)

    def _decide(
        self, task: Task, docs: dict[str, dict[str, Any]], repeats: dict[str, dict[str, Any]], resident: str | None
    ) -> tuple[list[Any], str | None]:
        seen = [_seen(d, resident) for d in docs.values()]
        matches = duplicates(task.id, task.description, _where(task), task.submitted_at, seen, self.policy, self.tokens)
        earlier = [_seen(d, resident) for d in repeats.values()]
        return matches, repeat_of(task.id, task.description, task.submitted_at, earlier, self.policy, self.tokens)

    async def candidates(self, task: Task, visible: Callable[[Task], bool]) -> list[tuple[DuplicateCandidate, Task]]:
        """The flagged candidates still worth a look, with their tasks, that the viewer may see."""
        out = []
        for candidate in task.duplicate_candidates:
            other = await self.store.get(candidate.id)
            if other is not None and visible(other) and other.status not in ("duplicate", "cancelled"):
                out.append((candidate, other))
        return out

    async def forget(self, request_id: str, merged_id: str) -> None:
        await self.store.drop_duplicate_candidate(request_id, merged_id)
