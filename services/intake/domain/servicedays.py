"""Service days (便民服务日) on intake's side: the read model of routing's programme, residents' sign-ups with
their capacity guard, and the day-before reminder. No I/O.

One document per day (`service_days`, `_id` = routing's day id): the programme from `serviceday.changed`
(applied only when its `seq` is newer), the places taken per service (`taken.<code>`), the phones with an
active sign-up, and the sign-ups themselves (only ever appended, so a position never moves).

A sign-up is ONE guarded write: it matches only while the programme is the one decided on (`seq`), the day
is open, the phone has no active sign-up and every chosen service has a place left (`taken.<code>` below
its places). Concurrent sign-ups do not disturb each other until a service is full; then the guard matches
nothing, the service decides again on the fresh document and answers "full". So a day never takes more
residents than its places, however many replicas take sign-ups at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared.events import Envelope, Resident, new_event
from shared.events.servicedays import (
    DayProgramme,
    ServiceDayChanged,
    SignupCancelled,
    SignupEvent,
    SignupMade,
    SignupReminder,
    signup_aggregate_id,
)
from shared.redact import mask_phone

Document = dict[str, Any]
PRODUCER = "intake"
SCHEDULED, CANCELLED = "scheduled", "cancelled"
ACTIVE = "active"


class SignupRefused(Exception):
    """A sign-up the day cannot take; `reason` is a key of the portal's texts (`days.refused.<reason>`)."""

    def __init__(self, reason: str, message: str, field: str = "services", **values: Any) -> None:
        super().__init__(message)
        self.reason, self.message, self.field, self.values = reason, message, field, values


@dataclass(frozen=True)
class SignupDraft:
    name: str
    phone: str  # E.164 (services/intake/domain/fields.normalize_phone)
    services: tuple[str, ...]
    language: Literal["zh-CN", "en"] = "zh-CN"
    preferred_channel: Literal["inbox", "sms"] = "inbox"
    channel: str = "portal"


@dataclass(frozen=True)
class DayWrite:
    """One guarded write (guard None: insert `document`) and its events."""

    events: tuple[Envelope, ...]
    guard: Document | None = None
    update: Document | None = None
    document: Document | None = None


# -- time ----------------------------------------------------------------------------------------------


def starts_at(doc: Document, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(doc["date"]), time.fromisoformat(doc["starts"]), zone)


def remind_at(doc: Document, zone: ZoneInfo, hour: int) -> datetime:
    """When the day-before reminder is due: `hour` o'clock local time the day before."""
    return datetime.combine(date.fromisoformat(doc["date"]) - timedelta(days=1), time(hour), zone)


def is_open(doc: Document, now: datetime, zone: ZoneInfo) -> bool:
    """Residents may sign up until the day starts, unless it was cancelled."""
    return doc.get("status") == SCHEDULED and now < starts_at(doc, zone)


def reminder_window(doc: Document, now: datetime, zone: ZoneInfo, hour: int) -> bool:
    """From the reminder time the day before until the day starts (a sign-up made in that window is reminded
    at the next pass; one made on the day itself is not)."""
    return doc.get("status") == SCHEDULED and remind_at(doc, zone, hour) <= now < starts_at(doc, zone)


def reminder_dates(now: datetime, zone: ZoneInfo) -> list[str]:
    """The days whose reminders may be due now: today's and tomorrow's."""
    today = now.astimezone(zone).date()
    return [today.isoformat(), (today + timedelta(days=1)).isoformat()]


# -- the read model ------------------------------------------------------------------------------------


def programme_of(doc: Document) -> DayProgramme:
    return DayProgramme.model_validate({**doc, "day_id": doc["_id"]})


def _programme_fields(day: DayProgramme) -> Document:
    fields = day.model_dump(mode="json")
    fields.pop("day_id")
    return fields


def apply_programme(doc: Document | None, seq: int, data: ServiceDayChanged, now: datetime) -> DayWrite | None:
    """The write that applies routing's `serviceday.changed`; None when it is not newer than the stored one.
    A cancelled day cancels its active sign-ups in the same write, each with a `signup.cancelled` event
    (notify tells the residents)."""
    fields = {**_programme_fields(data.day), "status": data.status, "seq": seq, "updated_at": now}
    if doc is None:
        document = {"_id": data.day.day_id, **fields, "taken": {s.code: 0 for s in data.day.services}}
        document |= {"signups": [], "n_signups": 0, "active_phones": []}
        return DayWrite(events=(), document=document)
    if seq <= doc.get("seq", 0):
        return None
    sets: Document = dict(fields)
    for s in data.day.services:
        if s.code not in (doc.get("taken") or {}):
            sets[f"taken.{s.code}"] = 0
    events: list[Envelope] = []
    if data.status == CANCELLED:
        for i, entry in enumerate(doc.get("signups") or []):
            if entry["status"] == ACTIVE:
                sets[f"signups.{i}.status"] = CANCELLED
                sets[f"signups.{i}.cancelled_at"] = now
                sets[f"signups.{i}.seq"] = entry["seq"] + 1
                events.append(_cancelled_event(data.day, entry, "day_cancelled", now))
        sets["active_phones"] = []
    guard = {"_id": doc["_id"], "seq": doc.get("seq", 0), "n_signups": doc.get("n_signups", 0)}
    return DayWrite(events=tuple(events), guard=guard, update={"$set": sets})


# -- sign-ups ------------------------------------------------------------------------------------------


def _event(data: SignupEvent, seq: int, now: datetime) -> Envelope:
    return new_event(data, producer=PRODUCER, seq=seq, occurred_at=now)


def _common(day: DayProgramme, entry: Document) -> Document:
    return {
        "request_id": signup_aggregate_id(entry["code"]),
        "tracking_code": entry["code"],
        "signup_id": entry["signup_id"],
        "day": day,
        "services": entry["services"],
    }


def _cancelled_event(day: DayProgramme, entry: Document, reason: str, now: datetime) -> Envelope:
    data = SignupCancelled(**_common(day, entry), reason=reason, cancelled_at=now)  # type: ignore[arg-type]
    return _event(data, entry["seq"] + 1, now)


def sign_up(
    doc: Document | None, draft: SignupDraft, code: str, signup_id: str, now: datetime, zone: ZoneInfo
) -> DayWrite:
    """Decide a sign-up on the day as read. Raises `SignupRefused` (closed, unknown service, already signed
    up, full) naming what to do."""
    if doc is None:
        raise SignupRefused("unknown_day", "no such service day; pick one from the list", field="day_id")
    if not is_open(doc, now, zone):
        reason = "cancelled" if doc.get("status") == CANCELLED else "closed"
        raise SignupRefused(reason, f"this service day is {reason} for sign-ups; look for the next one", field="day_id")
    offered = {s["code"]: s for s in doc["services"]}
    chosen = tuple(dict.fromkeys(draft.services))
    if not chosen:
        raise SignupRefused("no_service", "choose at least one service")
    if unknown := [c for c in chosen if c not in offered]:
        raise SignupRefused("unknown_service", f"not offered that day: {', '.join(unknown)}; choose from the list")
    if draft.phone in (doc.get("active_phones") or []):
        raise SignupRefused(
            "already", "this phone number has already signed up for this day; use its sign-up code", field="phone"
        )
    taken = doc.get("taken") or {}
    if full := [c for c in chosen if taken.get(c, 0) >= offered[c]["places"]]:
        names = [offered[c]["name"] for c in full]
        raise SignupRefused("full", f"no places left for {', '.join(full)}; choose another service", names=names)
    entry = {
        "code": code,
        "signup_id": signup_id,
        "name": draft.name,
        "phone": draft.phone,
        "language": draft.language,
        "preferred_channel": draft.preferred_channel,
        "services": list(chosen),
        "channel": draft.channel,
        "status": ACTIVE,
        "made_at": now,
        "reminded_at": None,
        "seq": 1,
    }
    resident = Resident(
        name=draft.name, phone=draft.phone, language=draft.language, preferred_channel=draft.preferred_channel
    )
    day = programme_of(doc)
    made = SignupMade(
        **_common(day, entry),
        resident=resident,
        phone_masked=mask_phone(draft.phone),
        channel=draft.channel,
        made_at=now,
    )
    guard: Document = {
        "_id": doc["_id"],
        "seq": doc["seq"],
        "status": SCHEDULED,
        "active_phones": {"$ne": draft.phone},
    }
    for c in chosen:
        guard[f"taken.{c}"] = {"$lt": offered[c]["places"]}
    update = {
        "$inc": {**{f"taken.{c}": 1 for c in chosen}, "n_signups": 1},
        "$push": {"signups": entry, "active_phones": draft.phone},
    }
    return DayWrite(events=(_event(made, 1, now),), guard=guard, update=update)


def find(doc: Document, code: str) -> tuple[int, Document] | None:
    for i, entry in enumerate(doc.get("signups") or []):
        if entry["code"] == code:
            return i, entry
    return None


def cancel(doc: Document, code: str, now: datetime, zone: ZoneInfo) -> DayWrite | None:
    """The resident cancels; None when it is cancelled already. Frees the places at once."""
    found = find(doc, code)
    if found is None:
        raise SignupRefused("unknown_code", "no sign-up with this code; check the code", field="code")
    i, entry = found
    if entry["status"] != ACTIVE:
        return None
    if now >= starts_at(doc, zone):
        raise SignupRefused("started", "the day has started; it can no longer be cancelled here", field="code")
    guard = {"_id": doc["_id"], f"signups.{i}.code": code, f"signups.{i}.status": ACTIVE}
    update = {
        "$set": {
            f"signups.{i}.status": CANCELLED,
            f"signups.{i}.cancelled_at": now,
            f"signups.{i}.seq": entry["seq"] + 1,
        },
        "$inc": {f"taken.{c}": -1 for c in entry["services"] if c in (doc.get("taken") or {})},
        "$pull": {"active_phones": entry["phone"]},
    }
    return DayWrite(events=(_cancelled_event(programme_of(doc), entry, "resident", now),), guard=guard, update=update)


def due_reminders(doc: Document, now: datetime, zone: ZoneInfo, hour: int) -> DayWrite | None:
    """ONE write marking every active, not yet reminded sign-up of a day as reminded, with a
    `signup.reminder` event each. The guard holds each one's `reminded_at` still empty, so of several
    replicas passing at once only one writes: each resident is reminded once."""
    if not reminder_window(doc, now, zone, hour):
        return None
    due = [(i, e) for i, e in enumerate(doc.get("signups") or []) if e["status"] == ACTIVE and not e.get("reminded_at")]
    if not due:
        return None
    day = programme_of(doc)
    guard: Document = {"_id": doc["_id"]}
    sets: Document = {}
    events = []
    for i, entry in due:
        guard[f"signups.{i}.code"] = entry["code"]
        guard[f"signups.{i}.status"] = ACTIVE
        guard[f"signups.{i}.reminded_at"] = None
        sets[f"signups.{i}.reminded_at"] = now
        sets[f"signups.{i}.seq"] = entry["seq"] + 1
        events.append(_event(SignupReminder(**_common(day, entry), reminded_at=now), entry["seq"] + 1, now))
    return DayWrite(events=tuple(events), guard=guard, update={"$set": sets})


# -- what residents see --------------------------------------------------------------------------------


def places_left(doc: Document) -> dict[str, int]:
    taken = doc.get("taken") or {}
    return {s["code"]: max(0, s["places"] - taken.get(s["code"], 0)) for s in doc["services"]}


def public_day(doc: Document, now: datetime, zone: ZoneInfo) -> Document:
    """A day as anyone may see it: the programme and places left (no sign-ups)."""
    left = places_left(doc)
    return {
        "day_id": doc["_id"],
        "title": doc["title"],
        "date": doc["date"],
        "starts": doc["starts"],
        "ends": doc["ends"],
        "place": doc["place"],
        "status": doc["status"],
        "open": is_open(doc, now, zone),
        "services": [{**s, "places_left": left[s["code"]]} for s in doc["services"]],
    }


def signup_view(doc: Document, entry: Document, now: datetime, zone: ZoneInfo) -> Document:
    """A sign-up as its resident sees it with the code: the phone masked."""
    return {
        "code": entry["code"],
        "status": entry["status"],
        "name": entry["name"],
        "phone": mask_phone(entry["phone"]),
        "services": entry["services"],
        "made_at": entry["made_at"],
        "cancellable": entry["status"] == ACTIVE and now < starts_at(doc, zone),
        "day": public_day(doc, now, zone),
    }
