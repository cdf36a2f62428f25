"""Service days (便民服务日, e.g. the "二·八" days): routing owns the programme (`serviceday.*`), intake owns
the residents' sign-ups (`signup.*`). They meet only in these events.

- `serviceday.changed` carries the whole programme after every change (created, edited, cancelled), so
  intake's read model applies any of them the same way, guarded by `seq` (the day's version).
  `request_id` is `serviceday:<day id>`.
- `signup.made`, `signup.cancelled` and `signup.reminder` are about one resident's sign-up; `request_id`
  is `signup:<sign-up code>` and `seq` the sign-up's own counter. `signup.made` introduces the resident to
  notify (like `request.submitted`); routing keeps only the masked phone for its attendance list.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventData, register
from shared.events.requests import Resident


def serviceday_aggregate_id(day_id: str) -> str:
    return f"serviceday:{day_id}"


def signup_aggregate_id(code: str) -> str:
    return f"signup:{code}"


class OfferedService(BaseModel):
    """One service offered on a day (理发, 磨刀, 量血压 ...) and how many residents it can take."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    code: str
    name: dict[str, str]  # language -> name
    places: int


class DayProgramme(BaseModel):
    """What a resident needs to know about a day: when, where, what is offered."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    day_id: str
    title: dict[str, str]  # language -> title, e.g. 二·八便民服务日
    date: date
    starts: str  # local time HH:MM
    ends: str
    place: dict[str, str]  # language -> place
    services: list[OfferedService]
    team: str | None = None  # the organising team


@register
class ServiceDayChanged(EventData):
    TYPE = "serviceday.changed"
    day: DayProgramme
    status: Literal["scheduled", "cancelled"]
    change: Literal["created", "edited", "cancelled"]
    changed_at: datetime


class SignupEvent(EventData):
    """What every `signup.*` event carries: the sign-up, the day and the services it is for."""

    tracking_code: str  # the sign-up code: the resident's proof, and the key of their inbox at notify
    signup_id: str
    day: DayProgramme
    services: list[str]  # codes of the services signed up for


@register
class SignupMade(SignupEvent):
    TYPE = "signup.made"
    resident: Resident
    phone_masked: str | None = None  # what staff see on the attendance list
    channel: str
    made_at: datetime


@register
class SignupCancelled(SignupEvent):
    TYPE = "signup.cancelled"
    reason: Literal["resident", "day_cancelled"] = "resident"
    cancelled_at: datetime


@register
class SignupReminder(SignupEvent):
    """The day-before reminder: published once per sign-up (one guarded write marks it sent)."""

    TYPE = "signup.reminder"
    reminded_at: datetime
