"""Routing's tasks in MongoDB (with their embedded outbox), behind the `RoutingStore` the service depends on.

Every task change is ONE `find_one_and_update` whose filter holds the `_id`, the `rev` the decision was
made on and the expected status, and whose update carries the new state, the history entries, `$inc` of
`seq` and `rev`, and the events (`writer.on_update`). A second replica or a second click that decided on
the same version finds nothing to update and tries again on the fresh task (or gets a 409).

Staff accounts and rule-set versions live beside the tasks, in services/routing/staff.py and rulestore.py.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.routing.cache import CACHE_TTL_S, Cached
from services.routing.domain.lifecycle import Outcome
from services.routing.domain.model import LOAD_STATUSES, DuplicateCandidate, Task
from services.routing.domain.queue import QueueQuery
from shared.outbox import HIDE, OutboxWriter, ensure_outbox_indexes

Document = dict[str, Any]
INTERNAL = HIDE
WRITTEN_KEPT = 512  # task documents kept for the work-items consumer (a few seconds of a busy desk's writes)
QUEUE_ORDER = [("priority_rank", ASCENDING), ("due_at", ASCENDING), ("submitted_at", ASCENDING)]
# What the ledgers count (services/routing/domain/ledger.py).
LEDGER_FIELDS = (
    "service_code",
    "team_id",
    "channel",
    "filed_by",
    "status",
    "priority",
    "submitted_at",
    "first_dispatched_at",
    "first_claimed_at",
    "first_resolved_at",
    "resolved_at",
    "claim_due_at",
    "handle_due_at",
    "resolved_on_time",
    "rating",
    "reply",
    "closed_reason",
    "counts",
    "hold",
    # call-backs (回访) and repeats (并单)
    "rating_source",
    "followup",
    "repeat_of",
    # the full ledgers' groups (issue 15): where, and who the resident is among the vulnerable groups
    "grid",
    "building",
    "vulnerability",
)
# The part of a task's history the assessment reads: which team held it before each return (退单).
RETURN_HISTORY = ("history.action", "history.team_id")
# What the duplicate look-up reads of another task (services/routing/duplicates.py).
MATCH_FIELDS = ("status", "description", "building", "unit", "lat", "long", "submitted_at", "first_resolved_at",
                "match_keys")  # fmt: skip


class RoutingStore(Protocol):
    """The tasks, as the service layer and the event handlers use them."""

    async def insert_task(self, outcome: Outcome) -> Document | None:
        """Store a new task with its events. None if it exists already (a redelivery)."""
        ...

    async def insert_record(self, task: Task) -> bool:
        """A task with nothing to publish. False if it exists already."""
        ...

    async def save(self, outcome: Outcome) -> Document | None:
        """Apply a transition if the task is still the version it was decided on; None if it is not."""
        ...

    async def set_next_check(self, task: Task, when: datetime | None) -> None: ...

    async def get(self, request_id: str) -> Task | None: ...

    async def get_document(self, request_id: str) -> Document | None: ...

    async def written_document(self, request_id: str, seq: int) -> Document | None:
        """The task as this process last wrote it if that write carried the event numbered `seq` or a later one
        (taken once), else as stored now."""
        ...

    async def find(self, id_or_code: str) -> Task | None:
        """By request id, or by tracking code."""
        ...

    async def loads(self, team_id: str) -> dict[str, int]:
        """Open tasks per assignee in a team (other replicas' changes may take the cache's TTL to show)."""
        ...

    async def query(self, query: QueueQuery, *, limit: int, skip: int = 0) -> tuple[list[Task], int]: ...

    async def due_for_sweep(self, now: datetime, limit: int) -> list[Task]: ...

    async def ledger_rows(
        self, start: datetime, end: datetime, limit: int, where: Document | None = None, history: bool = False
    ) -> list[Document]:
        """The ledger fields of the tasks submitted in [start, end), newest first, at most limit + 1; `where`:
        more equality conditions (ledger.Filters.query); `history`: with RETURN_HISTORY too."""
        ...

    async def ledger_page(
        self,
        start: datetime,
        end: datetime,
        where: Document,
        fields: tuple[str, ...],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Document]:
        """The full ledger, a page at a time: tasks submitted in [start, end) matching `where`, oldest first,
        the `limit` after the task (submitted_at, _id) `after` (keyset paging on the submitted_at index)."""
        ...

    async def ledger_count(self, start: datetime, end: datetime, where: Document) -> int: ...

    async def service_names(self, codes: list[str]) -> dict[str, dict[str, str]]:
        """The name a task of each category carries (the catalogue's, as intake sent it)."""
        ...

    # -- call-backs (回访) and duplicates (并单) ---------------------------------------------------------------

    async def followups(self, team_id: str, limit: int) -> list[Task]:
        """The open call-backs of the desk `team_id`, oldest first."""
        ...

    async def matching(self, keys: list[str], since: datetime, limit: int) -> list[Document]:
        """Tasks stored under any of the look-up `keys` submitted since `since`, newest first (MATCH_FIELDS)."""
        ...

    async def add_duplicate_candidate(self, request_id: str, candidate: DuplicateCandidate, cap: int) -> None:
        """Add the mark unless the task has it already or carries `cap` marks."""
        ...

    async def drop_duplicate_candidate(self, request_id: str, candidate_id: str) -> None: ...

    async def mark_repeat(self, request_id: str, repeat_of: str) -> None: ...


def _counted(task: Task) -> tuple[str, str] | None:
    """(team, assignee) when the task counts in its assignee's load."""
    if task.status in LOAD_STATUSES and task.team_id and task.assignee:
        return task.team_id, task.assignee
    return None


class MongoRoutingStore:
    def __init__(self, db: AsyncDatabase[Document], writer: OutboxWriter, cache_ttl_s: float = CACHE_TTL_S) -> None:
        self.db = db
        self.writer = writer
        self.tasks = db["tasks"]
        # Open tasks per member, per team: read at most once per TTL; this replica's own writes adjust them at
        # once, other replicas' are seen when the copy expires (services/routing/cache.py).
        self.cache_ttl_s = cache_ttl_s
        self._loads: dict[str, Cached[Counter[str]]] = {}
        # The tasks this process wrote last, for the work-items consumer of the events those writes carried: the
        # item is built from what the write stored instead of a read back (services/routing/handlers.py). Bounded;
        # an item whose task is not here (another replica wrote it, or it was pushed out) reads it.
        self._written: OrderedDict[str, Document] = OrderedDict()

    def _team_loads(self, team_id: str) -> Cached[Counter[str]]:
        if team_id not in self._loads:

            async def read() -> Counter[str]:
                return await self._read_loads(team_id)

            self._loads[team_id] = Cached(read, self.cache_ttl_s)
        return self._loads[team_id]

    def _adjust_loads(self, before: Task | None, after: Task) -> None:
        """Apply a write this replica made to the loads it holds."""
        for counted, delta in ((_counted(before) if before else None, -1), (_counted(after), 1)):
            if counted is not None:
                loads = self._loads[counted[0]].peek() if counted[0] in self._loads else None
                if loads is not None:
                    loads[counted[1]] = max(0, loads[counted[1]] + delta)

    async def ensure_indexes(self) -> None:
        """One index per query shape; docs/routing.md lists the queries and the index each uses."""
        # loads(); a team's queue (the staff console's default view), in its sort order
        await self.tasks.create_index([("team_id", ASCENDING), ("status", ASCENDING)])
        await self.tasks.create_index([("team_id", ASCENDING), ("status", ASCENDING), *QUEUE_ORDER], name="team_queue")
        # supervisors' queue over every team, and "mine" (assignee = me)
        await self.tasks.create_index([("status", ASCENDING), ("priority_rank", ASCENDING), ("due_at", ASCENDING)])
        await self.tasks.create_index([("assignee", ASCENDING), ("status", ASCENDING)])
        await self.tasks.create_index("tracking_code")  # find() by tracking code
        await self.tasks.create_index("submitted_at")  # the ledgers
        await self.tasks.create_index("service_code")  # service_names()
        await self.tasks.create_index("next_check_at", sparse=True)  # the SLA sweeper
        # The embedded engine (mongoeco) takes candidates from single-field indexes only: loads() and a team's
        # queue take the smaller of the team's tasks and the open ones (`status $in`, with the launcher's candidate
        # correction), so a history of closed tasks does not slow them (docs/mongoeco-candidates.md).
        await self.tasks.create_index("team_id")
        await self.tasks.create_index("status")
        await self.tasks.create_index("followup_team", sparse=True)  # the desk's call-backs (回访)
        await self.tasks.create_index([("match_keys", ASCENDING), ("submitted_at", DESCENDING)])  # 并单 look-up
        await self.tasks.create_index("match_keys")  # ...as the embedded engine takes it (single-field only)
        await ensure_outbox_indexes(self.tasks)

    # -- writes --------------------------------------------------------------------------------------------

    async def insert_task(self, outcome: Outcome) -> Document | None:
        document = self.writer.on_insert(outcome.task.document(), outcome.events)
        try:
            await self.tasks.insert_one(document)
        except DuplicateKeyError:
            return None
        self._adjust_loads(None, outcome.task)
        self._remember(document)
        return document

    async def insert_record(self, task: Task) -> bool:
        try:
            await self.tasks.insert_one(task.document())
        except DuplicateKeyError:
            return False
        self._adjust_loads(None, task)
        return True

    async def save(self, outcome: Outcome) -> Document | None:
        before, after = outcome.before, outcome.task
        update: Document = {
            "$set": after.fields(),
            "$inc": {"rev": 1, "seq": len(outcome.events)},
        }
        if outcome.history:
            update["$push"] = {"history": {"$each": [h.model_dump() for h in outcome.history]}}
        saved = await self.tasks.find_one_and_update(
            {"_id": before.id, "rev": before.rev, "status": before.status},
            self.writer.on_update(update, outcome.events),
            return_document=ReturnDocument.AFTER,
        )
        if saved is not None:
            self._adjust_loads(before, after)
            self._remember(saved)
        return saved

    def _remember(self, document: Document) -> None:
        self._written[document["_id"]] = document
        self._written.move_to_end(document["_id"])
        while len(self._written) > WRITTEN_KEPT:
            self._written.popitem(last=False)

    async def set_next_check(self, task: Task, when: datetime | None) -> None:
        """Only when nobody changed the task meanwhile (else their write set the right value)."""
        await self.tasks.update_one({"_id": task.id, "rev": task.rev}, {"$set": {"next_check_at": when}})

    # -- reads ---------------------------------------------------------------------------------------------

    async def get(self, request_id: str) -> Task | None:
        doc = await self.get_document(request_id)
        return Task.model_validate(doc) if doc else None

    async def get_document(self, request_id: str) -> Document | None:
        return await self.tasks.find_one({"_id": request_id}, INTERNAL)

    async def written_document(self, request_id: str, seq: int) -> Document | None:
        document = self._written.pop(request_id, None)
        if document is not None and int(document.get("seq", 0)) >= seq:
            return {k: v for k, v in document.items() if k not in INTERNAL}
        return await self.get_document(request_id)

    async def find(self, id_or_code: str) -> Task | None:
        task = await self.get(id_or_code)
        if task is not None:
            return task
        doc = await self.tasks.find_one({"tracking_code": id_or_code.upper()}, INTERNAL)
        return Task.model_validate(doc) if doc else None

    async def loads(self, team_id: str) -> dict[str, int]:
        return dict(await self._team_loads(team_id).get())

    async def _read_loads(self, team_id: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        cursor = self.tasks.find(
            {"team_id": team_id, "status": {"$in": list(LOAD_STATUSES)}, "assignee": {"$ne": None}},
            {"assignee": 1},
        )
        async for doc in cursor:
            counts[doc["assignee"]] += 1
        return counts

    async def query(self, query: QueueQuery, *, limit: int, skip: int = 0) -> tuple[list[Task], int]:
        filter_: Document = {"status": {"$in": list(query.statuses)}, **query.equal}
        if query.overdue_at is not None:
            filter_["$or"] = [
                {"status": {"$in": ["dispatched", "reopened"]}, "claim_due_at": {"$lte": query.overdue_at}},
                # awaiting_review: the handling clock runs on while a reply waits for a lead (审核)
                {
                    "status": {"$in": ["claimed", "in_progress", "awaiting_review"]},
                    "handle_due_at": {"$lte": query.overdue_at},
                },
            ]
        total = await self.tasks.count_documents(filter_)
        cursor = self.tasks.find(filter_, {**INTERNAL, "history": 0}).sort(QUEUE_ORDER).skip(skip).limit(limit)
        return [Task.model_validate(d) async for d in cursor], total

    async def due_for_sweep(self, now: datetime, limit: int) -> list[Task]:
        cursor = (
            self.tasks.find({"next_check_at": {"$lte": now}}, INTERNAL).sort("next_check_at", ASCENDING).limit(limit)
        )
        return [Task.model_validate(d) async for d in cursor]

    async def ledger_rows(
        self, start: datetime, end: datetime, limit: int, where: Document | None = None, history: bool = False
    ) -> list[Document]:
        projection = dict.fromkeys((*LEDGER_FIELDS, *(RETURN_HISTORY if history else ())), 1)
        cursor = (
            self.tasks.find({"submitted_at": {"$gte": start, "$lt": end}, **(where or {})}, projection)
            .sort("submitted_at", DESCENDING)
            .limit(limit + 1)
        )
        return [d async for d in cursor]

    async def ledger_page(
        self,
        start: datetime,
        end: datetime,
        where: Document,
        fields: tuple[str, ...],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Document]:
        filter_: Document = {"submitted_at": {"$gte": after[0] if after else start, "$lt": end}, **where}
        if after is not None:
            # Ties on submitted_at (a batch filed in one second) continue by _id.
            filter_["$or"] = [{"submitted_at": {"$gt": after[0]}}, {"submitted_at": after[0], "_id": {"$gt": after[1]}}]
        cursor = (
            self.tasks.find(filter_, dict.fromkeys(fields, 1))
            .sort([("submitted_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [d async for d in cursor]

    async def ledger_count(self, start: datetime, end: datetime, where: Document) -> int:
        return await self.tasks.count_documents({"submitted_at": {"$gte": start, "$lt": end}, **where})

    async def service_names(self, codes: list[str]) -> dict[str, dict[str, str]]:
        names: dict[str, dict[str, str]] = {}
        for code in codes:
            doc = await self.tasks.find_one({"service_code": code}, {"service_name": 1})
            names[code] = (doc or {}).get("service_name") or {}
        return names

    # -- call-backs (回访) and duplicates (并单) ---------------------------------------------------------------

    async def followups(self, team_id: str, limit: int) -> list[Task]:
        cursor = self.tasks.find({"followup_team": team_id}, {**INTERNAL, "history": 0}).limit(limit)
        tasks = [Task.model_validate(d) async for d in cursor]
        return sorted(tasks, key=lambda t: t.followup.opened_at if t.followup else t.submitted_at)

    async def matching(self, keys: list[str], since: datetime, limit: int) -> list[Document]:
        if not keys:
            return []
        # One command. The embedded engine takes this query's candidates from the `submitted_at` range (the
        # window: bounded by the request rate, not by the history) and none from the `$in`; one equality per key
        # would read every task ever stored under a key (a building's whole history) and cost a command each
        # (tests/integration/routing/test_match_lookup.py). MongoDB walks `match_keys_1_submitted_at_-1`.
        match: Document = {"match_keys": keys[0] if len(keys) == 1 else {"$in": keys}, "submitted_at": {"$gte": since}}
        cursor = self.tasks.find(match, dict.fromkeys(MATCH_FIELDS, 1)).sort("submitted_at", DESCENDING).limit(limit)
        return [d async for d in cursor]

    async def add_duplicate_candidate(self, request_id: str, candidate: DuplicateCandidate, cap: int) -> None:
        # `rev` moves: a staff action decided on the task before the mark loses its write and decides again
        # (its `$set` of every field would otherwise drop the mark). A task carrying `cap` marks takes no more.
        await self.tasks.update_one(
            {
                "_id": request_id,
                "duplicate_candidates.id": {"$ne": candidate.id},
                f"duplicate_candidates.{cap - 1}": {"$exists": False},
            },
            {"$push": {"duplicate_candidates": candidate.model_dump()}, "$inc": {"rev": 1}},
        )

    async def drop_duplicate_candidate(self, request_id: str, candidate_id: str) -> None:
        await self.tasks.update_one(
            {"_id": request_id, "duplicate_candidates.id": candidate_id},
            {"$pull": {"duplicate_candidates": {"id": candidate_id}}, "$inc": {"rev": 1}},
        )

    async def mark_repeat(self, request_id: str, repeat_of: str) -> None:
        await self.tasks.update_one(
            {"_id": request_id, "repeat_of": None}, {"$set": {"repeat_of": repeat_of}, "$inc": {"rev": 1}}
        )
