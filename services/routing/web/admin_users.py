"""The console's staff accounts page (admin accounts only): the list, a new account, and disabling or
enabling one (a disabled account's tokens stop working at once). The same store and checks as
/v1/staff (services/routing/api/staff.py); each change is a `staff.changed` event, as there."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from services.routing.api.deps import get_container
from services.routing.staff import NewStaff, StaffPatch, team_problem
from services.routing.web.admin import admin_session, checked_post
from services.routing.web.base import page, present, secure
from services.routing.web.session import CSRF_FIELD, Session
from shared.http import field_name

router = APIRouter(include_in_schema=False)
ROLES = ("member", "lead", "supervisor", "admin")


async def _users_page(
    request: Request, session: Session | None, values: dict[str, str], error: str | None, status_code: int = 200
) -> Response:
    container = get_container(request)
    return page(
        request,
        "console/admin_users.html",
        session,
        status_code=status_code,
        accounts=await container.staff.list(),
        teams=container.config.directory.teams,
        roles=ROLES,
        values=values,
        error=error,
        done=request.query_params.get("done", "")[:60],
    )


@router.get("/console/admin/users")
async def users(request: Request) -> Response:
    session, refusal = await admin_session(request)
    if refusal is not None:
        return refusal
    return await _users_page(request, session, {}, None)


@router.post("/console/admin/users")
async def create_user(request: Request) -> Response:
    session, form, refusal = await checked_post(request)
    if refusal is not None:
        return refusal
    container = get_container(request)
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k not in (CSRF_FIELD, "password")}
    fields = {k: v for k, v in values.items() if v}
    fields["password"] = str(form.get("password") or "")
    try:
        new = NewStaff.model_validate(fields)
    except ValidationError as exc:
        error = "; ".join(f"{field_name(e['loc'])}: {e['msg']}" for e in exc.errors())
        return await _users_page(request, session, values, error, 422)
    problem = team_problem(new.role, new.team, container.config.directory)
    if problem:
        return await _users_page(request, session, values, f"{problem[0]}: {problem[1]}", 422)
    if await container.staff.create(new, container.clock()) is None:
        taken = present(request).t("admin.users.taken", username=new.username)
        return await _users_page(request, session, values, f"username: {taken}", 409)
    return secure(RedirectResponse(f"/console/admin/users?done={new.username}", status_code=303))


@router.post("/console/admin/users/{username}/active")
async def set_active(request: Request, username: str) -> Response:
    session, form, refusal = await checked_post(request)
    if refusal is not None:
        return refusal
    assert session is not None
    container = get_container(request)
    active = form.get("active") == "true"
    if username == session.actor.username and not active:
        return await _users_page(request, session, {}, present(request).t("admin.users.not_yourself"), 409)
    if await container.staff.update(username, StaffPatch(active=active), container.clock()) is None:
        return await _users_page(request, session, {}, present(request).t("error.not_found"), 404)
    return secure(RedirectResponse(f"/console/admin/users?done={username}", status_code=303))
