"""From an action's form to its parameters, and from what went wrong to a sentence in the staff member's
language. The rules themselves stay in the lifecycle; this only reads forms and words errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from services.routing.domain.errors import Conflict, Forbidden, IllegalTransition, Invalid, LifecycleError
from services.routing.domain.lifecycle import SPECS, StaffCommand
from services.routing.domain.model import Actor
from services.routing.web.present import Present


def parse(action: str, form: Mapping[str, Any]) -> StaffCommand:
    """The action's command from the form fields it knows; empty fields are left out (optional)."""
    cls = SPECS[action].command
    data: dict[str, str] = {}
    for name in cls.model_fields:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            data[name] = value.strip()
    return cls.model_validate(data)


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """What the user typed, to put back in the form after an error."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}


def _field(p: Present, name: str) -> str:
    return p.t(f"field.{name}") if name in FIELD_NAMES else name


FIELD_NAMES = {
    "text",
    "visibility",
    "reply",
    "reason",
    "reason_code",
    "note",
    "public_note",
    "team_id",
    "assignee",
    "working_days",
    "requested_due_at",
    "priority",
    "original",
}


def validation_message(exc: ValidationError, p: Present) -> str:
    messages: list[str] = []
    for err in exc.errors():
        loc = err.get("loc") or ()
        name = str(loc[0]) if loc else ""
        label = _field(p, name)
        kind, text = err.get("type", ""), str(err.get("msg", ""))
        ctx = err.get("ctx") or {}
        if kind in ("missing", "string_too_short"):
            messages.append(p.t("error.required", field=label))
        elif kind == "string_too_long":
            messages.append(p.t("error.too_long", field=label, max=ctx.get("max_length", "")))
        elif name == "working_days":
            messages.append(p.t("error.working_days"))
        elif kind in ("literal_error", "enum"):
            messages.append(p.t("error.choose", field=label))
        elif "needs a `note`" in text:
            messages.append(p.t("error.other_needs_note"))
        elif "reason_code must be one of" in text:
            messages.append(p.t("error.choose", field=_field(p, "reason_code")))
        elif "requested_due_at" in text:
            messages.append(p.t("error.working_days"))
        else:
            messages.append(p.t("error.invalid", field=label or "-", message=text))
    return " ".join(dict.fromkeys(messages))


def domain_message(exc: LifecycleError, action: str, actor: Actor, assignee: str | None, p: Present) -> str:
    """The reason an action was refused, in the page's language."""
    if isinstance(exc, Forbidden):
        spec = SPECS.get(action)
        if spec is not None and actor.role not in spec.roles:
            roles = p.t("list.separator").join(p.role(r) for r in spec.roles)
            return p.t("error.role", action=p.action(action), roles=roles)
        who = assignee or p.t("task.unassigned")
        return p.t("error.not_assignee", action=p.action(action), assignee=who)
    if isinstance(exc, IllegalTransition):
        possible = p.t("list.separator").join(p.action(a) for a in exc.yours) or p.t("error.nothing")
        return p.t("error.status", action=p.action(exc.action), status=p.status(exc.status), possible=possible)
    if isinstance(exc, Conflict):
        text = str(exc)
        if "already waiting" in text:
            return p.t("error.extension_waiting")
        if "no extension request" in text:
            return p.t("error.no_extension")
        return p.t("error.changed")
    if isinstance(exc, Invalid):
        text = exc.message
        if exc.field == "team_id" and "already with this team" in text:
            return p.t("error.same_team")
        if exc.field == "team_id" and "unknown team" in text:
            return p.t("error.choose", field=_field(p, "team_id"))
        if "is not an active member" in text:
            return p.t("error.not_member", field=_field(p, exc.field))
        if exc.field == "original" and "cannot duplicate itself" in text:
            return p.t("error.self_duplicate")
        if exc.field == "original":
            return p.t("error.no_original")
        if exc.field == "requested_due_at":
            return p.t("error.due_later")
        return p.t("error.invalid", field=_field(p, exc.field), message=text)
    return p.t("error.changed")  # LostRace: the task kept changing
