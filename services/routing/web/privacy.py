"""The console's personal-data pages (个人信息保护法; docs/security.md, "Privacy"):

- POST /console/tasks/{id}/reveal-phone: the resident's whole phone on a page of its own; the access is logged
  (the task page shows `138****8000` and this button to everyone but the assignee);
- /console/privacy: the access-audit log (supervisors, admins), and for admins a resident's export or erasure
  across the three services, with its progress ("2 of 3") and the export's download.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.routing.api.deps import get_container
from services.routing.api.privacy import export_file, reveal, start_request
from services.routing.domain.errors import Invalid, NotVisible
from services.routing.privacy import progress
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
from services.routing.web.session import Session

router = APIRouter(include_in_schema=False)
AUDIT_ROWS = 100


@router.post("/console/tasks/{request_id}/reveal-phone")
async def reveal_phone(request: Request, request_id: str) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    reason = str(form.get("reason") or "")[:200]
    try:
        revealed = await reveal(get_container(request), session.actor, request_id[:80], reason)
    except NotVisible:
        return not_found(request, session)
    except HTTPException as exc:
        return error_page(request, session, exc.status_code, present(request).t("privacy.no_phone"))
    return page(request, "console/privacy_reveal.html", session, names=await staff_names(request), revealed=revealed)


async def _page(request: Request, session: Session, *, status_code: int = 200, error: str | None = None,
                values: dict[str, str] | None = None) -> Response:  # fmt: skip
    store = get_container(request).privacy.store
    is_admin = session.actor.role == "admin"
    return page(
        request,
        "console/privacy.html",
        session,
        status_code=status_code,
        names=await staff_names(request),
        audit=await store.access_log(AUDIT_ROWS),
        requests=[progress(d) for d in await store.list_requests(50)] if is_admin else [],
        is_admin=is_admin,
        error=error,
        values=values or {},
        done=request.query_params.get("done"),
    )


@router.get("/console/privacy")
async def privacy_page(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    if session.actor.role not in ("supervisor", "admin"):
        return error_page(request, session, 403, present(request).t("privacy.supervisors_only"))
    return await _page(request, session)


@router.post("/console/privacy/requests")
async def new_request(request: Request) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    p = present(request)
    if session.actor.role != "admin":
        return error_page(request, session, 403, p.t("privacy.admins_only"))
    values: dict[str, Any] = {
        k: str(form.get(k) or "").strip()[:300] for k in ("kind", "phone", "tracking_code", "reason")
    }
    if values["kind"] not in ("export", "erasure"):
        return await _page(request, session, status_code=422, error=p.t("privacy.choose_kind"), values=values)
    try:
        await start_request(get_container(request), session.actor, values["kind"], values["phone"] or None,
                            values["tracking_code"] or None, values["reason"] or None)  # fmt: skip
    except Invalid as exc:
        error = p.t("error.invalid", field=exc.field, message=exc.message)
        return await _page(request, session, status_code=422, error=error, values=values)
    return secure(RedirectResponse("/console/privacy?done=requested", status_code=303))


@router.get("/console/privacy/requests/{privacy_id}/export")
async def download(request: Request, privacy_id: str) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    if session.actor.role != "admin":
        return error_page(request, session, 403, present(request).t("privacy.admins_only"))
    try:
        name, content = await export_file(get_container(request), session.actor, privacy_id[:40])
    except HTTPException:
        return not_found(request, session)
    except Invalid as exc:
        return error_page(request, session, 409, exc.message)
    response = Response(content, media_type="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return secure(response)
