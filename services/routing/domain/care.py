"""The care register (走访慰问): households in need, registered with their consent, visited on a schedule. Pure.

A household is visited every `frequency_days`. Its next visit is due `frequency_days` after the last
recorded visit (or after registration). `notice` before that due time the visit **opens**: it becomes a task
for the household's assignee (a grid worker or team member), or for the whole team when nobody is named
(`care.visit_due`). From then on it runs on the same schedule as a task's handling clock (domain/sla.py,
`clocks.handle` of deploy/routing/sla.yaml, on the team's working calendar): a reminder before the due time,
催办 to the team's leads at it, 督办 to the supervisors when still missed `supervisor_after` later. Recording
the visit closes it and schedules the next one.

Visits are not `task.*` tasks: those tell a resident of every step and feed intake's status view of a request
the resident filed; a scheduled visit has no such request. A visit can file one, though (`CareFiling`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.routing.domain import sla
from services.routing.domain.model import PRODUCER, Actor, Context, StaffInfo
from shared.events import Envelope, EventData, Location, Resident, new_event
from shared.events.care import (
    CareEvent,
    CareFiling,
    CareVisitDue,
    CareVisitEscalated,
    CareVisitRecorded,
    CareVisitReminder,
    care_aggregate_id,
)
from shared.events.tasks import StaffRecipient

Kind = Literal["elderly_alone", "disabled", "widowed", "hardship"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
ConsentHow = Literal["signed", "verbal", "guardian"]
CONSENT_HOW: tuple[str, ...] = ConsentHow.__args__  # type: ignore[attr-defined]
MAX_NOTICE = timedelta(days=2)  # a visit opens at most two days before it is due
MAX_VISITS_KEPT = 200  # the household page shows the most recent visits; older ones stay counted
EDIT_ROLES = ("lead", "supervisor", "admin")


class Consent(BaseModel):
    """Who agreed to be on the register, when and how (signed form, spoken, or a guardian for them)."""

    model_config = ConfigDict(extra="ignore")
    given_by: str
    given_at: datetime
    how: ConsentHow
    recorded_by: str


class OpenVisit(BaseModel):
    model_config = ConfigDict(extra="ignore")
    opened_at: datetime
    due_at: datetime
    reminded_at: datetime | None = None
    lead_at: datetime | None = None
    supervisor_at: datetime | None = None


class Visit(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    visited_at: datetime
    visited_by: str
    recorded_by: str
    recorded_at: datetime
    found: str
    needs: str = ""
    was_due_at: datetime | None = None  # the due time it answered (None: an extra visit)
    late: bool = False
    filing_id: str | None = None  # the request filed for the household from this visit
    filed_service: str | None = None


class AuditEntry(BaseModel):
    """Who changed the register entry, when, and which fields (never their values)."""

    model_config = ConfigDict(extra="ignore")
    at: datetime
    by: str
    action: str
    fields: list[str] = []


class Household(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    name: str
    phone: str | None = None
    contact_name: str | None = None  # a relative or neighbour to call
    contact_phone: str | None = None
    address: str
    building: str | None = None
    unit: str | None = None
    grid: str | None = None
    kinds: list[Kind]
    notes: str = ""
    language: Literal["zh-CN", "en"] = "zh-CN"
    consent: Consent
    team_id: str
    assignee: str | None = None
    frequency_days: int
    active: bool = True
    ended_reason: str | None = None

    registered_at: datetime
    registered_by: str
    last_visit_at: datetime | None = None
    next_due_at: datetime
    visit: OpenVisit | None = None
    next_check_at: datetime | None = None
    visits: list[Visit] = []
    visit_count: int = 0
    audit: list[AuditEntry] = []
    seq: int = 0
    rev: int = 0

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


@dataclass(frozen=True)
class CareOutcome:
    before: Household | None  # None: a new household
    household: Household  # after: seq, rev and next_check_at updated
    events: list[Envelope]


# -- the schedule -----------------------------------------------------------------------------------------


def next_due(last_visit_at: datetime | None, registered_at: datetime, frequency_days: int) -> datetime:
    """The next visit is due `frequency_days` after the last one (or after registration)."""
    return (last_visit_at or registered_at) + timedelta(days=frequency_days)


def notice(frequency_days: int) -> timedelta:
    """How long before its due time a visit opens: two days, or half the period for short ones."""
    return min(MAX_NOTICE, timedelta(days=frequency_days) / 2)


def opens_at(h: Household) -> datetime:
    return h.next_due_at - notice(h.frequency_days)


def visit_clock(h: Household) -> sla.ClockState | None:
    """The open visit as a handling clock (the same reminder and escalation schedule as a task's)."""
    v = h.visit
    if v is None:
        return None
    return sla.ClockState("handle", v.opened_at, v.due_at, bool(v.reminded_at), bool(v.lead_at), bool(v.supervisor_at))


def next_check(h: Household, ctx: Context) -> datetime | None:
    """When the sweeper must look at the household next: the visit's opening, or its clock's next step."""
    if not h.active:
        return None
    clock = visit_clock(h)
    if clock is None:
        return opens_at(h)
    return sla.next_check(clock, ctx.policy, ctx.calendar_for(h.team_id))


def is_overdue(h: Household, now: datetime) -> bool:
    """Missed: active and past the due time without a recorded visit."""
    return h.active and now >= h.next_due_at


def days_overdue(h: Household, now: datetime) -> int:
    return max(0, (now - h.next_due_at).days) if is_overdue(h, now) else 0


# -- access -----------------------------------------------------------------------------------------------


def can_see(h: Household | None, actor: Actor) -> bool:
    """Supervisors and admins see every household; staff only their own team's."""
    if h is None:
        return False
    return actor.sees_everything or (actor.team is not None and actor.team == h.team_id)


def can_edit(h_team: str, actor: Actor) -> bool:
    """Register, change and end: supervisors and admins, or a lead of the household's team."""
    return actor.role in ("supervisor", "admin") or (actor.role == "lead" and actor.team == h_team)


# -- changes ----------------------------------------------------------------------------------------------


class _Change:
    def __init__(self, h: Household | None, after: Household, ctx: Context, now: datetime) -> None:
        self.before, self.h, self.ctx, self.now = h, after, ctx, now
        self.payloads: list[EventData] = []

    def event(self, cls: type[CareEvent], **extra: Any) -> None:
        h = self.h
        self.payloads.append(
            cls(
                request_id=care_aggregate_id(h.id),
                household_id=h.id,
                team=self.ctx.team_ref(h.team_id),
                assignee=h.assignee,
                building=h.building,
                grid=h.grid,
                due_at=h.visit.due_at if h.visit else h.next_due_at,
                **extra,
            )
        )

    def audit(self, by: str, action: str, fields: list[str] | None = None) -> None:
        self.h.audit = [*self.h.audit, AuditEntry(at=self.now, by=by, action=action, fields=fields or [])]

    def seal(self) -> CareOutcome:
        base_seq = self.before.seq if self.before else 0
        base_rev = self.before.rev if self.before else 0
        events = [
            new_event(p, producer=PRODUCER, seq=base_seq + i + 1, occurred_at=self.now)
            for i, p in enumerate(self.payloads)
        ]
        self.h.seq = base_seq + len(events)
        self.h.rev = base_rev + 1
        self.h.next_check_at = next_check(self.h, self.ctx)
        return CareOutcome(self.before, self.h, events)


def register(h: Household, ctx: Context, actor: Actor, now: datetime) -> CareOutcome:
    """A new entry: `h` as the API built it (its consent recorded). The first visit is due one period after the
    last visit before registration, when one is given (it may be due at once), else one period on."""
    h = h.model_copy(deep=True)
    h.registered_at, h.registered_by = now, actor.username
    h.next_due_at = next_due(h.last_visit_at, now, h.frequency_days)
    c = _Change(None, h, ctx, now)
    c.audit(actor.username, "register")
    return c.seal()


def update(h: Household, changes: dict[str, Any], ctx: Context, actor: Actor, now: datetime) -> CareOutcome:
    """Change register fields. A new frequency counts from the last visit (or registration): the next due time
    moves, an open visit takes the new due time (its reminder and escalation start again), and an open visit
    that is now further off than its notice closes until it opens again."""
    after = h.model_copy(deep=True, update=changes)
    c = _Change(h, after, ctx, now)
    if "frequency_days" in changes and changes["frequency_days"] != h.frequency_days:
        after.next_due_at = next_due(h.last_visit_at, h.registered_at, after.frequency_days)
        if after.visit is not None:
            after.visit = None if now < opens_at(after) else OpenVisit(opened_at=now, due_at=after.next_due_at)
    c.audit(actor.username, "update", sorted(changes))
    return c.seal()


def end(h: Household, reason: str, ctx: Context, actor: Actor, now: datetime) -> CareOutcome:
    """Off the register (moved away, consent withdrawn, passed away): no more visits; the history stays."""
    after = h.model_copy(deep=True, update={"active": False, "ended_reason": reason, "visit": None})
    c = _Change(h, after, ctx, now)
    c.audit(actor.username, "end", ["active", "ended_reason"])
    return c.seal()


def _recipients(people: list[StaffInfo]) -> list[StaffRecipient]:
    seen: dict[str, StaffRecipient] = {}
    for person in people:
        seen.setdefault(person.username, person.recipient())
    return list(seen.values())


def sweep_step(h: Household, ctx: Context, now: datetime) -> CareOutcome | None:
    """What the sweeper does to one household at `now`: open the visit when its time comes, then remind,
    催办 and 督办 as a late task would be. After downtime, a late visit opens and escalates in one write."""
    if not h.active:
        return None
    after = h.model_copy(deep=True)
    c = _Change(h, after, ctx, now)
    assignee = ctx.person(h.assignee)
    team = ctx.members(h.team_id)
    if after.visit is None:
        if now < opens_at(h):
            return None
        after.visit = OpenVisit(opened_at=now, due_at=h.next_due_at)
        c.event(CareVisitDue, recipients=_recipients([assignee] if assignee else team), actor="system")
    clock = visit_clock(after)
    assert clock is not None
    visit = after.visit
    assert visit is not None
    leads = ctx.members(h.team_id, ("lead",))
    for step in sla.due_steps(clock, ctx.policy, ctx.calendar_for(h.team_id), now):
        if step == "remind":
            visit.reminded_at = now
            c.event(CareVisitReminder, recipients=_recipients([assignee] if assignee else team), actor="system")
        elif step == "lead":
            visit.lead_at = now
            to = leads + ([assignee] if assignee else [])
            c.event(
                CareVisitEscalated, level="lead", overdue_since=visit.due_at, recipients=_recipients(to), actor="system"
            )
        else:
            visit.supervisor_at = now
            to = ctx.by_role("supervisor") + leads
            c.event(
                CareVisitEscalated,
                level="supervisor",
                overdue_since=visit.due_at,
                recipients=_recipients(to),
                actor="system",
            )
    if not c.payloads:
        return None
    return c.seal()


@dataclass(frozen=True)
class RecordVisit:
    visited_at: datetime
    visited_by: str
    found: str
    needs: str = ""
    # File a request for the household in the same step: the catalogue kind and what to do.
    file_service: str | None = None
    file_description: str | None = None


def record_visit(
    h: Household, cmd: RecordVisit, visit_id: str, ctx: Context, actor: Actor, now: datetime
) -> CareOutcome:
    """The visit happened: it closes the open visit (if any) and the next is due one period after it. With a
    request to file, the event carries it for intake (the staff member who recorded it is `filed_by`)."""
    after = h.model_copy(deep=True)
    c = _Change(h, after, ctx, now)
    open_visit = h.visit
    filing = None
    if cmd.file_service:
        filing = CareFiling(
            filing_id=visit_id,
            service_code=cmd.file_service,
            description=cmd.file_description or cmd.needs or cmd.found,
            location=Location(address=h.address, building=h.building, unit=h.unit),
            resident=Resident(
                name=h.name,
                phone=h.phone,
                language=h.language,
                preferred_channel="sms" if h.phone else "inbox",
                vulnerability=list(h.kinds),
            ),
            filed_by=actor.username,
        )
    visit = Visit(
        id=visit_id,
        visited_at=cmd.visited_at,
        visited_by=cmd.visited_by,
        recorded_by=actor.username,
        recorded_at=now,
        found=cmd.found,
        needs=cmd.needs,
        was_due_at=open_visit.due_at if open_visit else None,
        late=bool(open_visit and cmd.visited_at > open_visit.due_at),
        filing_id=visit_id if filing else None,
        filed_service=cmd.file_service if filing else None,
    )
    after.visits = [*h.visits, visit][-MAX_VISITS_KEPT:]
    after.visit_count = h.visit_count + 1
    latest = max(filter(None, [h.last_visit_at, cmd.visited_at]))
    after.last_visit_at = latest
    after.next_due_at = next_due(latest, h.registered_at, h.frequency_days)
    after.visit = None
    c.event(
        CareVisitRecorded,
        visit_id=visit_id,
        visited_at=cmd.visited_at,
        visited_by=cmd.visited_by,
        needs_found=bool(cmd.needs.strip()),
        filing=filing,
        actor=actor.username,
    )
    c.audit(actor.username, "visit")
    return c.seal()
