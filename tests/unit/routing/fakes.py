"""In-memory stand-ins for routing's stores (services/routing/store.py, staff.py, rulestore.py), for the
service-layer tests. They keep the guards of the MongoDB stores: a task is inserted once per request id,
and a save only lands on the `rev` and `status` it was decided on, so lost races can be tested.

Every method yields to the event loop once, as a database round trip does, so concurrent calls interleave.
"""

from __future__ import annotations

import copy
import types
from collections import Counter
from collections.abc import Awaitable, Callable, Generator
from datetime import datetime
from typing import Any, cast

from services.routing.domain.lifecycle import Outcome
from services.routing.domain.model import LOAD_STATUSES, DuplicateCandidate, StaffInfo, Task
from services.routing.domain.queue import QueueQuery
from services.routing.domain.rules import RuleSet
from services.routing.rulestore import StaleVersion, Version
from services.routing.staff import NewStaff, StaffAccount, StaffPatch
from services.routing.store import LEDGER_FIELDS
from shared.outbox import OUTBOX

Document = dict[str, Any]


@types.coroutine
def interleave() -> Generator[None]:
    """Hand control to other tasks once, as a database round trip would (no waiting involved)."""
    yield


class FakeRoutingStore:
    """The tasks in a dict. A written document's events are handed back in its `outbox` (for the publisher)
    but not kept, as if the relay had published and removed them."""

    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}
        self.saves = 0  # guarded writes tried
        # Runs once, just before the next guarded write: what another replica or a second click does meanwhile.
        self.meanwhile: Callable[[], Awaitable[None]] | None = None

    async def _round_trip(self) -> None:
        await interleave()

    def _task(self, doc: Document | None) -> Task | None:
        return Task.model_validate(copy.deepcopy(doc)) if doc else None

    async def insert_task(self, outcome: Outcome) -> Document | None:
        await self._round_trip()
        if outcome.task.id in self.docs:
            return None
        self.docs[outcome.task.id] = outcome.task.document()
        return {**outcome.task.document(), OUTBOX: [e.to_document() for e in outcome.events]}

    async def insert_record(self, task: Task) -> bool:
        await self._round_trip()
        if task.id in self.docs:
            return False
        self.docs[task.id] = task.document()
        return True

    async def save(self, outcome: Outcome) -> Document | None:
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile()
        await self._round_trip()
        self.saves += 1
        before, after = outcome.before, outcome.task
        doc = self.docs.get(before.id)
        if doc is None or doc["rev"] != before.rev or doc["status"] != before.status:
            return None
        doc.update(copy.deepcopy(after.fields()))
        doc["rev"] += 1
        doc["seq"] += len(outcome.events)
        doc["history"] = [*doc["history"], *(h.model_dump() for h in outcome.history)]
        return {**copy.deepcopy(doc), OUTBOX: [e.to_document() for e in outcome.events]}

    async def set_next_check(self, task: Task, when: datetime | None) -> None:
        await self._round_trip()
        doc = self.docs.get(task.id)
        if doc is not None and doc["rev"] == task.rev:
            doc["next_check_at"] = when

    async def get(self, request_id: str) -> Task | None:
        return self._task(await self.get_document(request_id))

    async def get_document(self, request_id: str) -> Document | None:
        await self._round_trip()
        return copy.deepcopy(self.docs.get(request_id))

    async def written_document(self, request_id: str, seq: int) -> Document | None:
        return await self.get_document(request_id)

    async def find(self, id_or_code: str) -> Task | None:
        task = await self.get(id_or_code)
        if task is not None:
            return task
        code = id_or_code.upper()
        return self._task(next((d for d in self.docs.values() if d["tracking_code"] == code), None))

    async def loads(self, team_id: str) -> dict[str, int]:
        await self._round_trip()
        return dict(
            Counter(
                d["assignee"]
                for d in self.docs.values()
                if d["team_id"] == team_id and d["status"] in LOAD_STATUSES and d["assignee"] is not None
            )
        )

    async def query(self, query: QueueQuery, *, limit: int, skip: int = 0) -> tuple[list[Task], int]:
        await self._round_trip()

        def overdue(d: Document) -> bool:
            due = d["claim_due_at"] if d["status"] in ("dispatched", "reopened") else d["handle_due_at"]
            ok = d["status"] in ("dispatched", "reopened", "claimed", "in_progress")
            return ok and due is not None and query.overdue_at is not None and due <= query.overdue_at

        found = [
            d
            for d in self.docs.values()
            if d["status"] in query.statuses
            and all(d.get(k) == v for k, v in query.equal.items())
            and (query.overdue_at is None or overdue(d))
        ]
        found.sort(key=lambda d: (d["priority_rank"], d["due_at"] or datetime.max, d["submitted_at"]))
        return [t for d in found[skip : skip + limit] if (t := self._task(d))], len(found)

    async def due_for_sweep(self, now: datetime, limit: int) -> list[Task]:
        await self._round_trip()
        due = sorted(
            (d for d in self.docs.values() if d.get("next_check_at") and d["next_check_at"] <= now),
            key=lambda d: d["next_check_at"],
        )
        return [t for d in due[:limit] if (t := self._task(d))]

    async def ledger_rows(
        self, start: datetime, end: datetime, limit: int, where: Document | None = None, history: bool = False
    ) -> list[Document]:
        await self._round_trip()
        fields = ("_id", *LEDGER_FIELDS, *(("history",) if history else ()))
        rows = [
            {k: copy.deepcopy(d.get(k)) for k in fields}
            for d in self.docs.values()
            if start <= d["submitted_at"] < end and all(d.get(k) == v for k, v in (where or {}).items())
        ]
        rows.sort(key=lambda r: cast(datetime, r["submitted_at"]), reverse=True)
        return rows[: limit + 1]

    async def service_names(self, codes: list[str]) -> dict[str, dict[str, str]]:
        await self._round_trip()
        first: dict[str, dict[str, str]] = {}
        for d in self.docs.values():
            first.setdefault(d["service_code"], d.get("service_name") or {})
        return {code: first.get(code, {}) for code in codes}

    # -- call-backs (回访) and duplicates (并单) ---------------------------------------------------------------

    async def followups(self, team_id: str, limit: int) -> list[Task]:
        await self._round_trip()
        found = [t for t in map(self._task, self.docs.values()) if t is not None and t.followup_team == team_id]
        return sorted(found, key=lambda t: t.followup.opened_at if t.followup else t.submitted_at)[:limit]

    async def matching(self, keys: list[str], since: datetime, limit: int) -> list[Document]:
        await self._round_trip()
        found = [
            d for d in self.docs.values() if set(keys) & set(d.get("match_keys", [])) and d["submitted_at"] >= since
        ]
        return copy.deepcopy(sorted(found, key=lambda d: d["submitted_at"], reverse=True)[:limit])

    async def add_duplicate_candidate(self, request_id: str, candidate: DuplicateCandidate, cap: int) -> None:
        await self._round_trip()
        doc = self.docs.get(request_id)
        marks = doc.get("duplicate_candidates", []) if doc is not None else []
        if doc is not None and len(marks) < cap and all(c["id"] != candidate.id for c in marks):
            doc["duplicate_candidates"] = [*doc.get("duplicate_candidates", []), candidate.model_dump()]
            doc["rev"] += 1

    async def drop_duplicate_candidate(self, request_id: str, candidate_id: str) -> None:
        await self._round_trip()
        doc = self.docs.get(request_id)
        if doc is not None and any(c["id"] == candidate_id for c in doc.get("duplicate_candidates", [])):
            doc["duplicate_candidates"] = [c for c in doc["duplicate_candidates"] if c["id"] != candidate_id]
            doc["rev"] += 1

    async def mark_repeat(self, request_id: str, repeat_of: str) -> None:
        await self._round_trip()
        doc = self.docs.get(request_id)
        if doc is not None and doc.get("repeat_of") is None:
            doc["repeat_of"] = repeat_of
            doc["rev"] += 1


class FakeStaffStore:
    def __init__(self, people: tuple[StaffInfo, ...], now: datetime) -> None:
        self.now = now
        self.accounts = {p.username: self._account(p) for p in people}

    def _account(self, p: StaffInfo) -> StaffAccount:
        return StaffAccount(
            username=p.username,
            password_hash="not-a-hash",
            role=p.role,
            team=p.team,
            display_name=p.display_name,
            email=p.email,
            phone=p.phone,
            language=p.language,  # type: ignore[arg-type]
            on_duty=p.on_duty,
            active=p.active,
            created_at=self.now,
            updated_at=self.now,
        )

    async def get(self, username: str) -> StaffAccount | None:
        await interleave()
        return self.accounts.get(username)

    async def list(self, team: str | None = None) -> list[StaffAccount]:
        await interleave()
        return sorted((a for a in self.accounts.values() if team is None or a.team == team), key=lambda a: a.username)

    async def active(self) -> tuple[StaffInfo, ...]:
        await interleave()
        return tuple(a.info() for a in self.accounts.values() if a.active)

    async def create(self, new: NewStaff, now: datetime, *, password_hash: str | None = None) -> StaffAccount | None:
        await interleave()
        if new.username in self.accounts:
            return None
        info = StaffInfo(new.username, new.role, new.team, new.display_name, new.email, new.phone, new.language)
        self.accounts[new.username] = self._account(info)
        return self.accounts[new.username]

    async def update(self, username: str, patch: StaffPatch, now: datetime) -> StaffAccount | None:
        await interleave()
        account = self.accounts.get(username)
        if account is None:
            return None
        fields = patch.model_dump(exclude_unset=True, exclude={"password"})
        self.accounts[username] = account.model_copy(update={**fields, "updated_at": now})
        return self.accounts[username]


class FakeRuleStore:
    def __init__(self, seed: RuleSet, now: datetime) -> None:
        self.stored = {1: Version(1, seed, now, "config", "deploy/routing/rules.yaml")}

    async def current(self, now: datetime) -> Version:
        await interleave()
        return self.stored[max(self.stored)]

    async def get(self, version: int) -> Version | None:
        await interleave()
        return self.stored.get(version)

    async def versions(self) -> list[dict[str, Any]]:
        await interleave()
        return [self.stored[v].meta() for v in sorted(self.stored, reverse=True)]

    async def publish(self, base_version: int, rules: RuleSet, by: str, note: str | None, now: datetime) -> Version:
        await interleave()
        current = max(self.stored)
        if base_version != current:
            raise StaleVersion(current)
        self.stored[current + 1] = Version(current + 1, rules, now, by, note)
        return self.stored[current + 1]
