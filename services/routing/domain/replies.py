"""Canned replies (常用回复): texts a team's leads keep per kind of request, offered when a member replies
to a resident. Pure.

A text may hold variables in braces, filled in for the task at hand when it is offered. Only what is safe
to put in front of anybody is a variable: the kind of request, the team's name, today's date and the name
of the staff member replying. The resident's name, phone, address or tracking code are not (a wrong
reply must never carry one resident's data to another); `{{` and `}}` write a brace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.routing.domain.errors import Forbidden, Invalid
from services.routing.domain.model import Actor, Task
from services.routing.domain.teams import Directory

VARIABLES: dict[str, str] = {
    "kind": "the kind of request (物业报修 / Property repairs), in the resident's language",
    "team": "the team's name, in the resident's language",
    "date": "today's date (2026年12月3日 / 3 December 2026)",
    "staff": "the display name of the staff member replying",
}
MAX_PER_TEAM = 200
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def variables_in(text: str, field: str = "text") -> list[str]:
    """The variables a text uses; Invalid names an unknown one (or a stray brace) and lists the known."""
    found: list[str] = []
    for match in _FIELD.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise Invalid(field, f"a lone brace {token!r}; write {{{{ or }}}} for a brace, or a variable like {{team}}")
        if name not in VARIABLES:
            known = ", ".join(f"{{{v}}}" for v in VARIABLES)
            raise Invalid(field, f"unknown variable {{{name}}}; use {known}")
        found.append(name)
    return found


def render(text: str, values: dict[str, str]) -> str:
    """Fill the variables in (unknown ones are refused, as when the text was saved)."""
    variables_in(text)

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values[match.group(1)]

    return _FIELD.sub(fill, text)


def _day(day: date, language: str) -> str:
    if language == "en":
        return f"{day.day} {day:%B} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def values_for(task: Task, staff_name: str, directory: Directory, today: date) -> dict[str, str]:
    """The variables' values for one task, in its resident's language."""
    language = "en" if task.language == "en" else "zh-CN"
    ref = directory.ref(task.team_id)
    team = (ref.name.get(language) or ref.name.get("zh-CN") or ref.id) if ref else ""
    kind = task.service_name.get(language) or task.service_name.get("zh-CN") or task.service_code
    return {"kind": kind, "team": team, "date": _day(today, language), "staff": staff_name}


class ReplyIn(BaseModel):
    """A canned reply as a lead writes it (POST / PUT /v1/replies)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=60, description="what staff pick it by (e.g. 已派维修师傅)")
    text: str = Field(min_length=1, max_length=2000, description=f"the reply; variables: {', '.join(VARIABLES)}")
    kind: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9_]{1,59}$", description="a kind (service code, e.g. property_repair); none: every"
    )
    team_id: str | None = Field(None, min_length=1, max_length=60, description="supervisors, admins: whose reply")


class CannedReply(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str = Field(alias="_id")
    team_id: str
    kind: str | None = None
    title: str
    text: str
    created_by: str
    updated_by: str
    updated_at: datetime
    version: int = 1

    def document(self) -> dict[str, object]:
        return self.model_dump(by_alias=True)


def reply_team(actor: Actor, wanted: str | None, directory: Directory) -> str:
    """The team whose replies `actor` keeps: a lead their own; supervisors and admins the one they name."""
    if actor.role == "lead":
        if wanted is not None and wanted != actor.team:
            raise Invalid("team_id", "a lead keeps their own team's replies; leave `team_id` out")
        assert actor.team is not None
        return actor.team
    if actor.role in ("supervisor", "admin"):
        if wanted is None or not directory.has(wanted):
            raise Invalid("team_id", "name the team whose reply this is (one of the teams' ids)")
        return wanted
    raise Forbidden("only a team lead, supervisor or admin may keep canned replies; members pick from them")


def may_keep(actor: Actor, reply: CannedReply) -> None:
    if actor.role in ("supervisor", "admin") or (actor.role == "lead" and actor.team == reply.team_id):
        return
    raise Forbidden("only a lead of the reply's team, a supervisor or an admin may change canned replies")


def readable_team(actor: Actor, wanted: str | None) -> str | None:
    """Whose replies a list shows: members and leads their team's; supervisors and admins any (None: all)."""
    if actor.sees_everything:
        return wanted
    if wanted is not None and wanted != actor.team:
        raise Invalid("team", "you see your own team's replies only; leave `team` out")
    return actor.team or "-"


@dataclass(frozen=True)
class Offer:
    """A canned reply filled in for one task: what the reply form's select offers."""

    id: str
    title: str
    text: str


def offers(replies: list[CannedReply], task: Task, values: dict[str, str]) -> list[Offer]:
    """The task's team's replies for its kind (and those for every kind), the kind's own first."""
    mine = [r for r in replies if r.team_id == task.team_id and r.kind in (None, task.service_code)]
    mine.sort(key=lambda r: (r.kind is None, r.title))
    return [Offer(r.id, r.title, render(r.text, values)) for r in mine]
