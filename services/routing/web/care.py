"""The care register's console pages (走访慰问): the register with overdue marks, registering a household, a
household with its visit history, and the visit form that can file a request for the household.

The pages call the same service as /v1/care (services/routing/care.py) with the same input models
(services/routing/api/care.py), so the console cannot allow what the API refuses. Another team's household,
like a missing one, is a 404 page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from services.routing.api.care import HouseholdIn, HouseholdPatch, VisitIn
from services.routing.api.deps import get_container
from services.routing.domain import care
from services.routing.domain.care import Household
from services.routing.domain.errors import Forbidden, Invalid, LifecycleError, NotVisible
from services.routing.web.base import (
    error_page,
    not_found,
    page,
    present,
    secure,
    signed_in,
    signed_in_form,
    staff_names,
)
from services.routing.web.present import Present
from services.routing.web.session import CSRF_FIELD, Session
from shared.redact import mask_phone

router = APIRouter(include_in_schema=False)

FREQUENCIES = (7, 14, 30, 60, 90)
REQUEST_KINDS = (
    "property_repair",
    "environment_order",
    "community_health",
    "convenience_service",
    "care_visit",
    "volunteer_service",
    "legal_aid",
    "dispute_mediation",
    "employment",
    "enquiry_complaint",
)


def _values(form: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


def _kinds(form: Any) -> list[str]:
    return [k for k in form.getlist("kinds") if isinstance(k, str)]


# The household's own fields the edit form changes (consent stays: a new consent is a new registration).
EDITED = ("name", "phone", "contact_name", "contact_phone", "address", "building", "unit", "assignee")


def _opt(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _local(value: str | None, zone: ZoneInfo) -> str | None:
    """A `datetime-local` field (the community's time) as ISO 8601 with the zone; unparseable text is passed on
    for the model to refuse, naming the field."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone).isoformat()
    except ValueError:
        return value


def _problems(exc: ValidationError, p: Present) -> str:
    messages = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc") or ()]
        name = loc[-1] if loc and loc[-1] not in ("consent", "file_request") else ".".join(loc)
        label = p.t(f"care.field.{name}") if f"care.field.{name}" in p.catalogue.messages else name
        if err.get("type") in ("missing", "string_too_short", "too_short"):
            messages.append(p.t("error.required", field=label))
        else:
            messages.append(p.t("error.invalid", field=label, message=str(err.get("msg", ""))))
    return " ".join(dict.fromkeys(messages))


def _domain_problem(exc: LifecycleError, p: Present) -> str:
    if isinstance(exc, Invalid):
        name = exc.field
        label = p.t(f"care.field.{name}") if f"care.field.{name}" in p.catalogue.messages else name
        return p.t("error.invalid", field=label, message=exc.message)
    if isinstance(exc, Forbidden):
        return p.t("care.error.leads_only")
    return p.t("care.error.changed")


def _row(h: Household, now: datetime) -> dict[str, Any]:
    return {
        "h": h,
        "phone": mask_phone(h.phone) if h.phone else "",
        "overdue": care.is_overdue(h, now),
        "days_overdue": care.days_overdue(h, now),
        "open": h.visit is not None,
    }


def _editable_teams(request: Request, session: Session) -> list[Any]:
    teams = get_container(request).config.directory.teams
    return list(teams) if session.actor.sees_everything else [t for t in teams if t.id == session.actor.team]


async def _members(request: Request, team_ids: set[str]) -> list[Any]:
    staff = await get_container(request).staff.active()
    return [s for s in staff if s.team in team_ids and s.role in ("member", "lead")]


async def overdue_households(request: Request, session: Session) -> list[dict[str, Any]]:
    """For the supervisors' page: households past their visit's due time."""
    container = get_container(request)
    now = container.clock()
    return [_row(h, now) for h in await container.care.listing(session.actor, overdue_only=True)]


# -- the register ----------------------------------------------------------------------------------------------


@router.get("/console/care")
async def register_page(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    container = get_container(request)
    overdue_only = request.query_params.get("overdue") == "1"
    now = container.clock()
    rows = [_row(h, now) for h in await container.care.listing(session.actor, overdue_only=overdue_only)]
    return page(
        request,
        "console/care_list.html",
        session,
        rows=rows,
        overdue_only=overdue_only,
        can_register=session.actor.role in care.EDIT_ROLES,
        names=await staff_names(request),
        done=request.query_params.get("done"),
    )


def _register_form(request: Request, session: Session, members: list[Any], **extra: Any) -> Response:
    return page(
        request,
        "console/care_new.html",
        session,
        teams=_editable_teams(request, session),
        members=members,
        kinds=care.KINDS,
        hows=care.CONSENT_HOW,
        frequencies=FREQUENCIES,
        canonical="/console/care/new",
        **({"values": {}, "checked_kinds": [], "error": None} | extra),
    )


@router.get("/console/care/new")
async def new_household_form(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    if session.actor.role not in care.EDIT_ROLES:
        return error_page(request, session, 403, present(request).t("care.error.leads_only"))
    teams = _editable_teams(request, session)
    return _register_form(request, session, await _members(request, {t.id for t in teams}))


@router.post("/console/care/new")
async def new_household(request: Request) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    p = present(request)
    container = get_container(request)
    zone = ZoneInfo(container.config.calendar.timezone)
    values = _values(form)
    members = await _members(request, {t.id for t in _editable_teams(request, session)})
    body = {
        "name": _opt(form, "name"),
        "phone": _opt(form, "phone"),
        "contact_name": _opt(form, "contact_name"),
        "contact_phone": _opt(form, "contact_phone"),
        "address": _opt(form, "address"),
        "building": _opt(form, "building"),
        "unit": _opt(form, "unit"),
        "kinds": _kinds(form),
        "notes": _opt(form, "notes") or "",
        "consent": {
            "given_by": _opt(form, "consent_given_by"),
            "given_at": _local(_opt(form, "consent_given_at"), zone),
            "how": _opt(form, "consent_how"),
        },
        "team_id": _opt(form, "team_id"),
        "assignee": _opt(form, "assignee"),
        "frequency_days": _opt(form, "frequency_days"),
        "last_visited_at": _local(_opt(form, "last_visited_at"), zone),
    }
    try:
        parsed = HouseholdIn.model_validate(body)
    except ValidationError as exc:
        return _register_form(request, session, members, values=values, checked_kinds=_kinds(form),
                              error=_problems(exc, p), status_code=422)  # fmt: skip
    try:
        h = await container.care.register(parsed.household(session.actor.username), session.actor)
    except LifecycleError as exc:
        status = 403 if isinstance(exc, Forbidden) else 422 if isinstance(exc, Invalid) else 409
        return _register_form(request, session, members, values=values, checked_kinds=_kinds(form),
                              error=_domain_problem(exc, p), status_code=status)  # fmt: skip
    return secure(RedirectResponse(f"/console/care/{h.id}?done=register", status_code=303))


# -- one household ---------------------------------------------------------------------------------------------


async def _household_page(
    request: Request, session: Session, household_id: str, *, status_code: int = 200, **extra: Any
) -> Response:
    container = get_container(request)
    try:
        h = await container.care.get(household_id, session.actor)
    except NotVisible:
        return not_found(request, session)
    now = container.clock()
    zone = ZoneInfo(container.config.calendar.timezone)
    editable = care.can_edit(h.team_id, session.actor)
    return page(
        request,
        "console/care_household.html",
        session,
        status_code=status_code,
        h=h,
        row=_row(h, now),
        visits=list(reversed(h.visits)),
        editable=editable,
        members=await _members(request, {h.team_id}) if editable else [],
        frequencies=sorted({*FREQUENCIES, h.frequency_days}),
        request_kinds=REQUEST_KINDS,
        kinds=care.KINDS,
        edit_values={f: getattr(h, f) or "" for f in (*EDITED, "notes")},
        now_local=now.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        names=await staff_names(request),
        canonical=f"/console/care/{h.id}",
        **(
            {"values": {}, "checked_kinds": [], "error": None, "failed": None, "done": request.query_params.get("done")}
            | extra
        ),
    )


@router.get("/console/care/{household_id}")
async def household_page(request: Request, household_id: str) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    return await _household_page(request, session, household_id)


@router.post("/console/care/{household_id}/visit")
async def record_visit(request: Request, household_id: str) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    p = present(request)
    container = get_container(request)
    zone = ZoneInfo(container.config.calendar.timezone)
    values = _values(form)
    filing = None
    if form.get("file") == "yes":
        filing = {"service_code": _opt(form, "service_code"), "description": _opt(form, "file_description")}
    body = {
        "visited_at": _local(_opt(form, "visited_at"), zone),
        "visited_by": _opt(form, "visited_by"),
        "found": _opt(form, "found"),
        "needs": _opt(form, "needs") or "",
        "file_request": filing,
    }
    try:
        parsed = VisitIn.model_validate(body)
        await container.care.record_visit(household_id, parsed.command(session.actor), session.actor)
    except ValidationError as exc:
        return await _household_page(request, session, household_id, status_code=422, error=_problems(exc, p),
                                     failed="visit", values=values)  # fmt: skip
    except NotVisible:
        return not_found(request, session)
    except LifecycleError as exc:
        status = 422 if isinstance(exc, Invalid) else 409
        return await _household_page(request, session, household_id, status_code=status,
                                     error=_domain_problem(exc, p), failed="visit", values=values)  # fmt: skip
    done = "visit_filed" if filing else "visit"
    return secure(RedirectResponse(f"/console/care/{household_id}?done={done}", status_code=303))


@router.post("/console/care/{household_id}/edit")
async def edit_household(request: Request, household_id: str) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    p = present(request)
    container = get_container(request)
    values = _values(form)
    body: dict[str, Any] = {f: _opt(form, f) for f in EDITED} | {
        "kinds": _kinds(form),
        "notes": _opt(form, "notes") or "",
        "frequency_days": _opt(form, "frequency_days"),
    }
    try:
        parsed = HouseholdPatch.model_validate(body)
        await container.care.update(household_id, parsed.changes(), session.actor)
    except ValidationError as exc:
        return await _household_page(request, session, household_id, status_code=422, error=_problems(exc, p),
                                     failed="edit", values=values, checked_kinds=_kinds(form))  # fmt: skip
    except NotVisible:
        return not_found(request, session)
    except LifecycleError as exc:
        status = 403 if isinstance(exc, Forbidden) else 422 if isinstance(exc, Invalid) else 409
        return await _household_page(request, session, household_id, status_code=status,
                                     error=_domain_problem(exc, p), failed="edit", values=values,
                                     checked_kinds=_kinds(form))  # fmt: skip
    return secure(RedirectResponse(f"/console/care/{household_id}?done=edit", status_code=303))
