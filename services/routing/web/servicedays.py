"""The console's service-day pages (便民服务日): the days of the caller's team (every team's for supervisors),
planning a day (leads of the team, supervisors, admins), and a day's page with its sign-ups (masked phones)
where staff tick who came. Every page calls the same service as the API (services/routing/servicedays.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from services.routing.api.deps import get_container
from services.routing.domain import servicedays as rules
from services.routing.domain.errors import Conflict, Forbidden, Invalid, NotVisible
from services.routing.web.base import error_page, not_found, page, present, secure, signed_in, signed_in_form
from services.routing.web.session import CSRF_FIELD, Session

router = APIRouter(include_in_schema=False)
# Rows of the planning form: one per known service (places empty = not offered that day).
OFFERED = tuple(rules.KNOWN_SERVICES)


def _plans(session: Session) -> bool:
    return session.actor.role in ("lead", "supervisor", "admin")


@router.get("/console/servicedays")
async def days_page(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    days = await get_container(request).days.list(session.actor)
    return page(
        request,
        "console/servicedays.html",
        session,
        days=[{**d, "figures": rules.figures(d)} for d in days],
        plans=_plans(session),
        done=request.query_params.get("done", "")[:20],
    )


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    error: str | None,
    status_code: int = 200,
    action: str = "/console/servicedays/new",
) -> Response:
    return page(
        request,
        "console/serviceday_form.html",
        session,
        status_code=status_code,
        action=action,
        values=values,
        error=error,
        offered=OFFERED,
        known=rules.KNOWN_SERVICES,
        teams=get_container(request).config.directory.teams,
    )


def _draft(form: FormData, session: Session) -> rules.DayDraft:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    try:
        day = date.fromisoformat(text("date"))
    except ValueError as exc:
        raise Invalid("date", "give a date as YYYY-MM-DD") from exc
    services = []
    for code in OFFERED:
        raw = text(f"places_{code}")
        if not raw:
            continue
        if not raw.isdigit():
            raise Invalid(f"places_{code}", "give the number of places as digits")
        services.append(rules.ServiceDraft(code, int(raw)))
    team = text("team") if session.actor.sees_everything and text("team") else None
    return rules.DayDraft(
        title={"zh-CN": text("title_zh"), "en": text("title_en")},
        date=day,
        starts=text("starts"),
        ends=text("ends"),
        place={"zh-CN": text("place_zh"), "en": text("place_en")},
        services=tuple(services),
        team=team,
    )


@router.get("/console/servicedays/new")
async def new_day(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    if not _plans(session):
        return error_page(request, session, 403, present(request).t("days.leads_only"))
    values = {"starts": "08:30", "ends": "11:30", "title_zh": "便民服务日"}
    return _form_page(request, session, values, None)


@router.post("/console/servicedays/new")
async def create_day(request: Request) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
    try:
        doc = await get_container(request).days.create(_draft(form, session), session.actor)
    except Invalid as exc:
        return _form_page(request, session, values, f"{exc.field}: {exc.message}", status_code=422)
    except Forbidden:
        return error_page(request, session, 403, present(request).t("days.leads_only"))
    return secure(RedirectResponse(f"/console/servicedays/{doc['_id']}?done=created", status_code=303))


def _values(doc: dict[str, Any]) -> dict[str, Any]:
    """A planned day as the form's fields, to edit it."""
    values = {
        "title_zh": doc["title"].get("zh-CN", ""),
        "title_en": doc["title"].get("en", ""),
        "place_zh": doc["place"].get("zh-CN", ""),
        "place_en": doc["place"].get("en", ""),
        "date": doc["date"],
        "starts": doc["starts"],
        "ends": doc["ends"],
        "team": doc.get("team") or "",
    }
    return values | {f"places_{s['code']}": str(s["places"]) for s in doc["services"]}


@router.get("/console/servicedays/{day_id}/edit")
async def edit_form(day_id: str, request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    try:
        doc = await get_container(request).days.get(day_id[:40], session.actor)
    except NotVisible:
        return not_found(request, session)
    if not rules.may_plan(session.actor, doc.get("team")):
        return error_page(request, session, 403, present(request).t("days.leads_only"))
    return _form_page(request, session, _values(doc), None, action=f"/console/servicedays/{doc['_id']}/edit")


@router.post("/console/servicedays/{day_id}/edit")
async def edit_day(day_id: str, request: Request) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
    action = f"/console/servicedays/{day_id[:40]}/edit"
    try:
        await get_container(request).days.edit(day_id[:40], _draft(form, session), session.actor)
    except NotVisible:
        return not_found(request, session)
    except Invalid as exc:
        return _form_page(request, session, values, f"{exc.field}: {exc.message}", status_code=422, action=action)
    except (Forbidden, Conflict) as exc:
        return error_page(request, session, 409 if isinstance(exc, Conflict) else 403, str(exc))
    return secure(RedirectResponse(f"/console/servicedays/{day_id[:40]}?done=edited", status_code=303))


@router.get("/console/servicedays/{day_id}")
async def day_page(day_id: str, request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    try:
        doc = await get_container(request).days.get(day_id[:40], session.actor)
    except NotVisible:
        return not_found(request, session)
    return page(
        request,
        "console/serviceday.html",
        session,
        day=doc,
        figures=rules.figures(doc),
        plans=rules.may_plan(session.actor, doc.get("team")),
        done=request.query_params.get("done", "")[:20],
        error=None,
    )


@router.post("/console/servicedays/{day_id}/{action}")
async def day_action(day_id: str, action: str, request: Request) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    days = get_container(request).days
    try:
        if action == "attendance":
            code = str(form.get("code") or "").strip().upper()
            await days.mark(day_id[:40], code, form.get("attended") == "1", session.actor)
        elif action == "cancel":
            await days.cancel(day_id[:40], session.actor)
        else:
            return not_found(request, session)
    except NotVisible:
        return not_found(request, session)
    except Forbidden as exc:
        return error_page(request, session, 403, str(exc))
    except (Conflict, Invalid) as exc:
        return error_page(request, session, 409, str(exc))
    anchor = f"#s-{form.get('code')}" if action == "attendance" else ""
    return secure(RedirectResponse(f"/console/servicedays/{day_id[:40]}?done={action}{anchor}", status_code=303))
