"""SLA limits and the clocks' schedules: when a task is due, when to remind, when to escalate. Pure.

Two clocks run on a task (the 12345 rule): the *claim* clock from dispatch to claim (签收), and the
*handle* clock from claim to resolution. Each clock has a due time; before it a reminder (to the
assignee or the team), at it 催办 (to the team lead), and when still late `supervisor_after` later 督办
(to the supervisors). The sweeper asks `due_steps()` what is due now and `next_check()` when to look
again; the markers it sets (reminded / lead / supervisor) make every step happen once per due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.routing.domain.calendar import WorkingCalendar

ClockName = Literal["claim", "handle"]
Step = Literal["remind", "lead", "supervisor"]


class Duration(BaseModel):
    """Working time: days, hours and minutes add up; `same_day` ends at the close of the working day."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    working_days: int = Field(0, ge=0, le=366)
    working_hours: float = Field(0, ge=0, le=24 * 366)
    working_minutes: int = Field(0, ge=0, le=60 * 24 * 366)
    same_day: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"same_day": True} if value == "same_day" else value

    @model_validator(mode="after")
    def _not_empty(self) -> Duration:
        if self.same_day and (self.working_days or self.working_hours or self.working_minutes):
            raise ValueError("same_day cannot be combined with working days, hours or minutes")
        if not self.same_day and not (self.working_days or self.working_hours or self.working_minutes):
            raise ValueError("give working_days, working_hours, working_minutes or same_day")
        return self

    def working_time(self, calendar: WorkingCalendar) -> timedelta:
        return (
            calendar.day_length * self.working_days
            + timedelta(hours=self.working_hours)
            + timedelta(minutes=self.working_minutes)
        )

    def after(self, start: datetime, calendar: WorkingCalendar) -> datetime:
        if self.same_day:
            return calendar.end_of_working_day(start)
        return calendar.add(calendar.next_working_instant(start), self.working_time(calendar))

    def before(self, end: datetime, calendar: WorkingCalendar) -> datetime:
        if self.same_day:
            raise ValueError("same_day is not a span before a time")
        return calendar.subtract(end, self.working_time(calendar))

    def describe(self) -> str:
        if self.same_day:
            return "same working day"
        parts = [
            f"{self.working_days} working days" if self.working_days else "",
            f"{self.working_hours:g} working hours" if self.working_hours else "",
            f"{self.working_minutes} working minutes" if self.working_minutes else "",
        ]
        return " + ".join(p for p in parts if p)


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    claim: Duration
    handle: Duration


class LimitRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,60}$")
    category: tuple[str, ...] = ()
    priority: tuple[Literal["low", "normal", "high", "urgent"], ...] = ()
    words: tuple[str, ...] = ()
    attributes: dict[str, tuple[str, ...]] = {}
    claim: Duration | None = None
    handle: Duration | None = None

    def matches(self, category: str, priority: str, text: str, attributes: dict[str, object]) -> bool:
        if self.category and category not in self.category:
            return False
        if self.priority and priority not in self.priority:
            return False
        if not self.words and not self.attributes:
            return True
        lowered = text.lower()
        if any(w.lower() in lowered for w in self.words):
            return True
        for code, values in self.attributes.items():
            answer = attributes.get(code)
            answers = answer if isinstance(answer, list) else [answer] if answer is not None else []
            if any(str(a).lower() in {v.lower() for v in values} for a in answers):
                return True
        return False


class ClockPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reminder_before: Duration | None = None
    supervisor_after: Duration


@dataclass(frozen=True)
class AppliedLimits:
    rule: str  # the limit rule id, or "default"
    claim: Duration
    handle: Duration


class SlaPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    default: Limits
    limits: tuple[LimitRule, ...] = ()
    clocks: dict[ClockName, ClockPolicy]
    auto_close_after_days: float = Field(7, gt=0, le=365)

    @model_validator(mode="after")
    def _both_clocks(self) -> SlaPolicy:
        missing = {"claim", "handle"} - set(self.clocks)
        if missing:
            raise ValueError(f"clocks: add {sorted(missing)} (reminder_before, supervisor_after)")
        return self

    def limits_for(
        self, category: str, priority: str, text: str = "", attributes: dict[str, object] | None = None
    ) -> AppliedLimits:
        for rule in self.limits:
            if rule.matches(category, priority, text, attributes or {}):
                return AppliedLimits(rule.id, rule.claim or self.default.claim, rule.handle or self.default.handle)
        return AppliedLimits("default", self.default.claim, self.default.handle)

    @property
    def auto_close_after(self) -> timedelta:
        return timedelta(days=self.auto_close_after_days)


# -- the clocks' schedules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockState:
    name: ClockName
    started_at: datetime
    due_at: datetime
    reminded: bool = False
    lead: bool = False
    supervisor: bool = False


@dataclass(frozen=True)
class Schedule:
    remind_at: datetime | None
    due_at: datetime
    supervisor_at: datetime


def schedule(clock: ClockState, policy: SlaPolicy, calendar: WorkingCalendar) -> Schedule:
    rules = policy.clocks[clock.name]
    remind_at = None
    if rules.reminder_before is not None and not rules.reminder_before.same_day:
        candidate = rules.reminder_before.before(clock.due_at, calendar)
        # A reminder at (or before) the start of the clock tells nobody anything new.
        if clock.started_at < candidate < clock.due_at:
            remind_at = candidate
    return Schedule(remind_at, clock.due_at, rules.supervisor_after.after(clock.due_at, calendar))


def due_steps(clock: ClockState, policy: SlaPolicy, calendar: WorkingCalendar, now: datetime) -> list[Step]:
    """What is due at `now` and not done yet, in order. A reminder whose due time has passed is skipped."""
    plan = schedule(clock, policy, calendar)
    steps: list[Step] = []
    if now >= plan.due_at:
        if not clock.lead:
            steps.append("lead")
        if now >= plan.supervisor_at and not clock.supervisor:
            steps.append("supervisor")
    elif plan.remind_at is not None and now >= plan.remind_at and not clock.reminded:
        steps.append("remind")
    return steps


def next_check(clock: ClockState, policy: SlaPolicy, calendar: WorkingCalendar) -> datetime | None:
    """The earliest instant at which a step of this clock becomes due (None when all are done)."""
    plan = schedule(clock, policy, calendar)
    times: list[datetime] = []
    if plan.remind_at is not None and not clock.reminded and not clock.lead:
        times.append(plan.remind_at)
    if not clock.lead:
        times.append(plan.due_at)
    if not clock.supervisor:
        times.append(plan.supervisor_at)
    return min(times) if times else None
