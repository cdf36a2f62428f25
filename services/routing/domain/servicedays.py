"""Service days (便民服务日): the programme staff plan, the sign-ups intake reports, attendance, the figures.
No I/O.

One document per day (`service_days`, `_id` = the day id): the programme, its `version` (the seq of its
`serviceday.changed` events), and the sign-ups as intake reported them (name, masked phone, services;
never the whole phone). Every change is one guarded write on `version` (programme) or on the sign-up's
position in the list (attendance): sign-ups are only appended, so a position never moves.

Who may do what: leads plan their own team's days, supervisors and admins every day; the organising team's
members (and supervisors, admins) see a day's sign-ups and tick attendance. Other teams do not see them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.routing.domain.errors import Conflict, Forbidden, Invalid, NotVisible
from services.routing.domain.model import Actor
from shared.events import new_event
from shared.events.envelope import Envelope
from shared.events.servicedays import DayProgramme, OfferedService, ServiceDayChanged, serviceday_aggregate_id

Document = dict[str, Any]
PRODUCER = "routing"

SCHEDULED, CANCELLED = "scheduled", "cancelled"
MAX_PLACES = 1000
MAX_SERVICES = 12
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")

# The services a community usually offers; a day may offer others (give their names).
KNOWN_SERVICES: dict[str, dict[str, str]] = {
    "haircut": {"zh-CN": "理发", "en": "Haircut"},
    "knife_sharpening": {"zh-CN": "磨刀", "en": "Knife sharpening"},
    "blood_pressure": {"zh-CN": "量血压", "en": "Blood pressure check"},
    "legal_advice": {"zh-CN": "法律咨询", "en": "Legal advice"},
    "appliance_repair": {"zh-CN": "小家电维修", "en": "Small appliance repair"},
    "health_advice": {"zh-CN": "健康咨询", "en": "Health advice"},
}


@dataclass(frozen=True)
class ServiceDraft:
    code: str
    places: int
    name: dict[str, str] | None = None


@dataclass(frozen=True)
class DayDraft:
    """A day's programme as staff give it (create, or edit: the whole programme again)."""

    title: dict[str, str]
    date: date
    starts: str
    ends: str
    place: dict[str, str]
    services: tuple[ServiceDraft, ...]
    team: str | None = None


# -- rules ---------------------------------------------------------------------------------------------


def may_plan(actor: Actor, team: str | None) -> bool:
    return actor.role in ("supervisor", "admin") or (actor.role == "lead" and team is not None and actor.team == team)


def may_see(actor: Actor, team: str | None) -> bool:
    return actor.sees_everything or (team is not None and actor.team == team)


def _texts(field: str, value: dict[str, str], limit: int) -> dict[str, str]:
    out = {k: v.strip() for k, v in value.items() if k in ("zh-CN", "en") and v and v.strip()}
    if not out.get("zh-CN"):
        raise Invalid(field, "give the Chinese text (zh-CN); English is optional")
    if any(len(v) > limit for v in out.values()):
        raise Invalid(field, f"at most {limit} characters")
    return out


def _services(drafts: tuple[ServiceDraft, ...]) -> list[OfferedService]:
    if not drafts:
        raise Invalid("services", "offer at least one service, e.g. haircut with 20 places")
    if len(drafts) > MAX_SERVICES:
        raise Invalid("services", f"at most {MAX_SERVICES} services a day")
    seen: set[str] = set()
    out = []
    for i, s in enumerate(drafts):
        if not _CODE.match(s.code):
            raise Invalid(f"services[{i}].code", "use lower-case letters, digits and _, e.g. haircut")
        if s.code in seen:
            raise Invalid(f"services[{i}].code", f"{s.code} is offered twice; give it once with all its places")
        seen.add(s.code)
        if not 1 <= s.places <= MAX_PLACES:
            raise Invalid(f"services[{i}].places", f"give a number of places from 1 to {MAX_PLACES}")
        name = KNOWN_SERVICES.get(s.code) if not s.name else _texts(f"services[{i}].name", s.name, 40)
        if name is None:
            known = ", ".join(KNOWN_SERVICES)
            raise Invalid(f"services[{i}].name", f"name the service {s.code} (zh-CN), or use one of: {known}")
        out.append(OfferedService(code=s.code, name=name, places=s.places))
    return out


def programme(day_id: str, draft: DayDraft, today: date) -> DayProgramme:
    """The checked programme. Raises `Invalid` naming the field."""
    if draft.date < today:
        raise Invalid("date", f"the day is in the past; give {today.isoformat()} or later")
    if draft.date > today + timedelta(days=366):
        raise Invalid("date", "plan at most a year ahead")
    for field, value in (("starts", draft.starts), ("ends", draft.ends)):
        if not _TIME.match(value):
            raise Invalid(field, "give a time as HH:MM, e.g. 08:30")
    if draft.ends <= draft.starts:
        raise Invalid("ends", f"the day must end after it starts ({draft.starts})")
    return DayProgramme(
        day_id=day_id,
        title=_texts("title", draft.title, 60),
        date=draft.date,
        starts=draft.starts,
        ends=draft.ends,
        place=_texts("place", draft.place, 120),
        services=_services(draft.services),
        team=draft.team,
    )


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def has_ended(doc: Document, now: datetime, zone: ZoneInfo) -> bool:
    day = date.fromisoformat(doc["date"])
    end = datetime.combine(day, time.fromisoformat(doc["ends"]), zone)
    return now >= end


def _event(prog: DayProgramme, status: str, change: str, version: int, now: datetime) -> Envelope:
    data = ServiceDayChanged(
        request_id=serviceday_aggregate_id(prog.day_id),
        day=prog,
        status=status,  # type: ignore[arg-type]
        change=change,  # type: ignore[arg-type]
        changed_at=now,
    )
    return new_event(data, producer=PRODUCER, seq=version, occurred_at=now)


def _programme_fields(prog: DayProgramme) -> Document:
    dumped = prog.model_dump(mode="json")
    dumped.pop("day_id")
    return dumped


def programme_of(doc: Document) -> DayProgramme:
    return DayProgramme.model_validate({**doc, "day_id": doc["_id"]})


@dataclass(frozen=True)
class DayWrite:
    """One guarded write: `guard` (None = insert `document`), the update and its events."""

    events: tuple[Envelope, ...]
    document: Document | None = None
    guard: Document | None = None
    update: Document | None = None


def create(day_id: str, draft: DayDraft, actor: Actor, now: datetime, zone: ZoneInfo) -> DayWrite:
    team = draft.team or actor.team
    if not may_plan(actor, team):
        raise Forbidden("leads plan their own team's service days; supervisors and admins any team's")
    prog = programme(day_id, DayDraft(**{**draft.__dict__, "team": team}), local_today(now, zone))
    doc = {
        "_id": day_id,
        **_programme_fields(prog),
        "status": SCHEDULED,
        "version": 1,
        "created_by": actor.username,
        "created_at": now,
        "updated_at": now,
        "signups": [],
    }
    return DayWrite(events=(_event(prog, SCHEDULED, "created", 1, now),), document=doc)


def _editable(doc: Document, actor: Actor, now: datetime, zone: ZoneInfo) -> None:
    if not may_see(actor, doc.get("team")):
        raise NotVisible(f"no service day {doc['_id']}")
    if not may_plan(actor, doc.get("team")):
        raise Forbidden("only the organising team's lead, a supervisor or an admin may change this day")
    if doc["status"] == CANCELLED:
        raise Conflict("the day is cancelled; plan a new one")
    if has_ended(doc, now, zone):
        raise Conflict("the day is over; its programme can no longer change")


def signed_up(doc: Document, service: str | None = None) -> int:
    return sum(
        1
        for s in doc.get("signups") or []
        if s.get("status") == "active" and (service is None or service in s.get("services", ()))
    )


def edit(doc: Document, draft: DayDraft, actor: Actor, now: datetime, zone: ZoneInfo) -> DayWrite:
    _editable(doc, actor, now, zone)
    prog = programme(doc["_id"], DayDraft(**{**draft.__dict__, "team": doc.get("team")}), local_today(now, zone))
    for i, s in enumerate(prog.services):
        taken = signed_up(doc, s.code)
        if s.places < taken:
            raise Invalid(f"services[{i}].places", f"{taken} residents have signed up for it; give at least {taken}")
    dropped = {s["code"] for s in doc["services"]} - {s.code for s in prog.services}
    if taken_dropped := [c for c in dropped if signed_up(doc, c)]:
        raise Invalid("services", f"residents have signed up for {', '.join(sorted(taken_dropped))}; keep it")
    version = doc["version"] + 1
    update = {"$set": {**_programme_fields(prog), "version": version, "updated_at": now, "updated_by": actor.username}}
    guard = {"_id": doc["_id"], "version": doc["version"]}
    return DayWrite(events=(_event(prog, SCHEDULED, "edited", version, now),), guard=guard, update=update)


def cancel(doc: Document, actor: Actor, now: datetime, zone: ZoneInfo) -> DayWrite:
    _editable(doc, actor, now, zone)
    version = doc["version"] + 1
    update = {"$set": {"status": CANCELLED, "version": version, "updated_at": now, "updated_by": actor.username}}
    guard = {"_id": doc["_id"], "version": doc["version"]}
    return DayWrite(
        events=(_event(programme_of(doc), CANCELLED, "cancelled", version, now),), guard=guard, update=update
    )


# -- sign-ups (from intake's events) and attendance ---------------------------------------------------


def position(doc: Document, code: str) -> int | None:
    for i, s in enumerate(doc.get("signups") or []):
        if s["code"] == code:
            return i
    return None


def signup_added(doc: Document, entry: Document) -> DayWrite | None:
    """The write adding a sign-up intake reported; None when it is there already (a redelivery)."""
    if position(doc, entry["code"]) is not None:
        return None
    guard = {"_id": doc["_id"], "signups.code": {"$ne": entry["code"]}}
    return DayWrite(events=(), guard=guard, update={"$push": {"signups": entry}})


def signup_cancelled(doc: Document, code: str, now: datetime) -> DayWrite | None:
    """None when the sign-up is cancelled already; raises KeyError when it is not known yet."""
    i = position(doc, code)
    if i is None:
        raise KeyError(code)
    if doc["signups"][i]["status"] == "cancelled":
        return None
    guard = {"_id": doc["_id"], f"signups.{i}.code": code}
    return DayWrite(
        events=(), guard=guard, update={"$set": {f"signups.{i}.status": "cancelled", f"signups.{i}.cancelled_at": now}}
    )


def attendance(doc: Document, code: str, attended: bool, actor: Actor, now: datetime) -> DayWrite | None:
    """Tick (or untick) a sign-up as attended. None when nothing changes."""
    if not may_see(actor, doc.get("team")):
        raise NotVisible(f"no service day {doc['_id']}")
    if doc["status"] == CANCELLED:
        raise Conflict("the day was cancelled; nobody can attend it")
    i = position(doc, code)
    if i is None:
        raise Invalid("code", f"no sign-up {code} on this day; pick one from the list")
    entry = doc["signups"][i]
    if entry["status"] != "active":
        raise Conflict(f"sign-up {code} was cancelled")
    if bool(entry.get("attended")) == attended:
        return None
    fields = {
        f"signups.{i}.attended": attended,
        f"signups.{i}.attended_by": actor.username,
        f"signups.{i}.attended_at": now,
    }
    guard = {"_id": doc["_id"], f"signups.{i}.code": code}
    return DayWrite(events=(), guard=guard, update={"$set": fields})


# -- the figures ----------------------------------------------------------------------------------------


def figures(doc: Document) -> Document:
    """One day's counts: sign-ups (active), cancelled, attended, and the same per service."""
    signups = doc.get("signups") or []
    active = [s for s in signups if s["status"] == "active"]
    by_service = {
        s["code"]: {
            "places": s["places"],
            "signups": sum(1 for x in active if s["code"] in x["services"]),
            "attended": sum(1 for x in active if x.get("attended") and s["code"] in x["services"]),
        }
        for s in doc["services"]
    }
    return {
        "day_id": doc["_id"],
        "date": doc["date"],
        "title": doc["title"],
        "status": doc["status"],
        "signups": len(active),
        "cancelled": len(signups) - len(active),
        "attended": sum(1 for x in active if x.get("attended")),
        "by_service": by_service,
    }


def ledger(docs: list[Document]) -> Document:
    """The service days' ledger over some days: totals, by day and by service."""
    days = [figures(d) for d in sorted(docs, key=lambda d: (d["date"], d["_id"]))]
    by_service: dict[str, Document] = {}
    for day, doc in zip(days, sorted(docs, key=lambda d: (d["date"], d["_id"])), strict=True):
        names = {s["code"]: s["name"] for s in doc["services"]}
        for code, row in day["by_service"].items():
            total = by_service.setdefault(
                code, {"name": names[code], "days": 0, "places": 0, "signups": 0, "attended": 0}
            )
            total["days"] += 1
            for key in ("places", "signups", "attended"):
                total[key] += row[key]
    return {
        "days": days,
        "by_service": by_service,
        "totals": {
            "days": len(days),
            "signups": sum(d["signups"] for d in days),
            "attended": sum(d["attended"] for d in days),
            "cancelled": sum(d["cancelled"] for d in days),
        },
    }
