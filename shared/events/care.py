"""Events produced by routing's care register (`care.*`, 走访慰问): households in need visited on a schedule.

`request_id` (and the envelope's `correlation_id`) is the household, `care:<household id>`; `seq` counts the
household's events. The due, reminder and escalation events tell staff (notify, like `task.reminder` and
`task.escalated`); they carry no resident's name or contact. `care.visit_recorded` may carry a request filed on
the household's behalf (`filing`): intake takes it like a grid worker's filing and it becomes an ordinary
request (tracking code, task, messages). Only that part carries personal data, because intake needs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventData, register
from shared.events.requests import Location, Resident
from shared.events.tasks import StaffRecipient, TeamRef

CARE_CHANNEL = "care"  # the channel intake files care requests through (a grid-worker kind of channel)


def care_aggregate_id(household_id: str) -> str:
    """What a care event carries in `request_id` (and the envelope's `correlation_id`): the household."""
    return f"care:{household_id}"


class CareEvent(EventData):
    household_id: str
    team: TeamRef | None = None
    assignee: str | None = None  # the grid worker or team member who visits, when one is named
    building: str | None = None
    grid: str | None = None
    due_at: datetime | None = None  # when the open visit is due
    actor: str | None = None


@register
class CareVisitDue(CareEvent):
    """A visit opened for the household: a task for the assignee, or the whole team when nobody is named."""

    TYPE = "care.visit_due"
    recipients: list[StaffRecipient] = []


@register
class CareVisitReminder(CareEvent):
    """The open visit is due soon and has not been recorded."""

    TYPE = "care.visit_reminder"
    recipients: list[StaffRecipient] = []


@register
class CareVisitEscalated(CareEvent):
    """A missed visit: 催办 to the team's leads at the due time, 督办 to the supervisors when still missed."""

    TYPE = "care.visit_escalated"
    level: Literal["lead", "supervisor"]
    overdue_since: datetime
    recipients: list[StaffRecipient] = []


class CareFiling(BaseModel):
    """A request filed on the household's behalf from a visit: what intake needs to take it."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    filing_id: str  # intake's idempotency key: a redelivery files nothing twice
    service_code: str
    description: str
    location: Location
    resident: Resident
    filed_by: str  # the staff member who recorded the visit


@register
class CareVisitRecorded(CareEvent):
    """A visit was recorded (who, when, whether needs were found); with `filing`, a request is filed for them."""

    TYPE = "care.visit_recorded"
    visit_id: str
    visited_at: datetime
    visited_by: str
    needs_found: bool = False
    filing: CareFiling | None = None
