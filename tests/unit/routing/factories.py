"""Builders for routing's unit tests: the shipped config, staff, requests and tasks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.routing.config import DEPLOY, RoutingConfig, read_calendar, read_directory, read_policy, read_rules
from services.routing.domain.lifecycle import open_task
from services.routing.domain.model import Actor, Context, StaffInfo, Task
from services.routing.domain.rules import RoutingInput, decide
from services.routing.domain.teams import normalize_building
from shared.events import Location, RequestSubmitted, Resident

SH = ZoneInfo("Asia/Shanghai")
DIRECTORY = read_directory(DEPLOY / "teams.yaml")
RULES = read_rules(DEPLOY / "routing" / "rules.yaml")
POLICY = read_policy(DEPLOY / "routing" / "sla.yaml")
CALENDAR = read_calendar(DEPLOY / "routing" / "calendar.yaml", "Asia/Shanghai")
CONFIG = RoutingConfig(directory=DIRECTORY, calendar=CALENDAR, policy=POLICY, rules=RULES)


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(UTC)


def staff() -> tuple[StaffInfo, ...]:
    people = [StaffInfo("supervisor", "supervisor", None, email="sup@example.org"), StaffInfo("admin", "admin", None)]
    for team in DIRECTORY.teams:
        people.append(StaffInfo(f"{team.id}.member", "member", team.id, email=f"{team.id}.m@example.org"))
        people.append(StaffInfo(f"{team.id}.member2", "member", team.id))
        people.append(StaffInfo(f"{team.id}.lead", "lead", team.id, phone="+8613800000000"))
    return tuple(people)


def context(**overrides: object) -> Context:
    values: dict[str, object] = {"directory": DIRECTORY, "calendar": CALENDAR, "policy": POLICY, "staff": staff()}
    values.update(overrides)
    return Context(**values)  # type: ignore[arg-type]


def member(team: str = "property_maintenance", n: str = "member") -> Actor:
    return Actor(f"{team}.{n}", "member", team)


def lead(team: str = "property_maintenance") -> Actor:
    return Actor(f"{team}.lead", "lead", team)


SUPERVISOR = Actor("supervisor", "supervisor")
ADMIN = Actor("admin", "admin")


def submitted(
    service_code: str = "property_repair",
    description: str = "卫生间门锁坏了",
    *,
    building: str | None = "3",
    address: str | None = "3号楼2单元501",
    vulnerability: list[str] | None = None,
    attributes: dict[str, str | list[str]] | None = None,
    at: datetime | None = None,
) -> RequestSubmitted:
    return RequestSubmitted(
        request_id=str(uuid.uuid4()),
        tracking_code="HY" + uuid.uuid4().hex[:10].upper(),
        service_code=service_code,
        description=description,
        location=Location(address=address, building=building),
        resident=Resident(name="王阿姨", phone="13800138000", vulnerability=vulnerability or []),
        channel="web",
        attributes=attributes or {},
        submitted_at=at or local(2026, 11, 24, 9),
    )


def new_task(sub: RequestSubmitted | None = None, now: datetime | None = None, ctx: Context | None = None) -> Task:
    sub = sub or submitted()
    ctx = ctx or context()
    building = normalize_building(sub.location.building, sub.location.address)
    grid = DIRECTORY.grid_of(building)
    inp = RoutingInput(
        sub.service_code, sub.description, building, grid, dict(sub.attributes), tuple(sub.resident.vulnerability)
    )
    decision = decide(inp, RULES, 1, DIRECTORY)
    return open_task(sub, decision, grid, building, ctx, now or sub.submitted_at, None).task
