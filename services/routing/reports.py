"""The weekly report (周报): once per ISO week, the week before's ledger figures and per-team assessment (考核),
published as `ledger.weekly_report` for notify to e-mail to the supervisors.

It rides on the SLA sweeper's loop (every replica runs it). Once per week, whatever the number of replicas: the
report is ONE insert into `ledger_reports` keyed by the week (`2026-W48`) carrying its event in the embedded
outbox; a second replica's insert of the same week fails on the `_id` and publishes nothing. The relay
re-publishes a report a crashed replica wrote but did not publish. Schedule and weights:
deploy/routing/assessment.yaml; definitions: services/routing/domain/assessment.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.routing.config import RoutingConfig
from services.routing.domain import ledger
from services.routing.domain.assessment import assess, due_week
from services.routing.domain.model import PRODUCER
from services.routing.service import RoutingService
from shared.events import TeamRef, new_event
from shared.events.ledger import LedgerWeeklyReport, TeamAssessment, WeekFigures, report_aggregate_id
from shared.outbox import OutboxWriter, Publisher, ensure_outbox_indexes

Document = dict[str, Any]
log = structlog.get_logger("huiying.routing.reports")


class WeeklyReports:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        writer: OutboxWriter,
        publisher: Publisher,
        service: RoutingService,
        config: RoutingConfig,
        clock: Callable[[], datetime],
        limit: int,
    ) -> None:
        self.collection, self.writer, self.publisher = collection, writer, publisher
        self.service, self.config, self.clock, self.limit = service, config, clock, limit
        self.zone = ZoneInfo(config.calendar.timezone)
        self._done: str | None = None  # the week this replica knows is written (saves the look-up)

    async def ensure_indexes(self) -> None:
        await ensure_outbox_indexes(self.collection)

    async def tick(self) -> bool:
        """Write (and publish) the week's report if it is due and nobody wrote it yet. True if this call did."""
        schedule = self.config.assessment.weekly_report
        if not schedule.enabled:
            return False
        now = self.clock()
        week, start, end = due_week(now, self.zone, schedule)
        if week == self._done:
            return False
        if await self.collection.find_one({"_id": week}, {"_id": 1}) is not None:
            self._done = week
            return False
        document, events = await self.compose(week, start, end, now)
        inserted = self.writer.on_insert(document, events)
        try:
            await self.collection.insert_one(inserted)
        except DuplicateKeyError:  # another replica wrote it first: it publishes
            self._done = week
            return False
        self._done = week
        log.info("weekly report", week=week, tasks=document["count"], sent=bool(events), note=document.get("note"))
        if events:
            await self.publisher.publish_after_write(inserted)
        return True

    async def compose(self, week: str, start: datetime, end: datetime, now: datetime) -> tuple[Document, list[Any]]:
        """The report's document and its event (none when nothing was submitted or nobody can be told)."""
        rows = await self.service.ledger_rows(start, end, self.limit, history=True)
        truncated = len(rows) > self.limit
        rows = rows[: self.limit]
        first_day = start.astimezone(self.zone).date()
        last_day = first_day + timedelta(days=6)
        document: Document = {"_id": week, "from": start, "to": end, "written_at": now, "count": len(rows)}
        if truncated:
            document["truncated"] = True
        if not rows:
            return {**document, "note": "nothing was submitted"}, []
        ctx = await self.service.context()
        roles = ("supervisor", "admin") if self.config.assessment.weekly_report.include_admins else ("supervisor",)
        # E-mail only: the report is too long for a text message, so the recipients carry no phone.
        recipients = [
            s.recipient().model_copy(update={"phone": None}) for s in ctx.by_role(*roles) if s.email and s.active
        ]
        if not recipients:
            return {**document, "note": "no supervisor has an e-mail address"}, []
        directory = self.config.directory
        teams = [
            TeamAssessment(team=directory.ref(a["team"]) or TeamRef(id=a["team"], name={}), **_figures(a))
            for a in assess(rows, [t.id for t in directory.teams], now, self.config.assessment.weights)
        ]
        totals = ledger.metrics(rows, now)
        data = LedgerWeeklyReport(
            request_id=report_aggregate_id(week),
            week=week,
            first_day=first_day,
            last_day=last_day,
            timezone=self.config.calendar.timezone,
            totals=WeekFigures(**{k: totals[k] for k in WeekFigures.model_fields}),
            teams=teams,
            recipients=recipients,
            console_path=f"/console/ledger?from={first_day}&to={last_day}",
        )
        document["recipients"] = len(recipients)
        return document, [new_event(data, producer=PRODUCER, seq=1, occurred_at=now)]


def _figures(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "team" and k in TeamAssessment.model_fields}


def with_reports(tick: Callable[[], Awaitable[bool]], reports: WeeklyReports) -> Callable[[], Awaitable[bool]]:
    """The sweeper's tick with the weekly report's check after it (one loop; the check is one look-up by `_id`,
    and none once this replica knows the week is done)."""

    async def run() -> bool:
        more = await tick()
        await reports.tick()
        return more

    return run
