"""The console's administration pages (admin accounts only): the versioned documents (SLA limits, holiday
calendar, teams and areas) edited as YAML, a year of holidays imported from a file, the audit log (who,
when, before, after), and the warning a month before the calendar's last listed year runs out. Every page
calls the same service as /v1/admin (services/routing/admin.py); staff accounts are in web/admin_users.py.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.routing.admin import ALL_NAMES, BadConfig, json_safe
from services.routing.admin_calendar import guess_format
from services.routing.api.deps import get_container
from services.routing.web.base import error_page, page, present, secure, to_login
from services.routing.web.session import CSRF_FIELD, Session, csrf_ok, load_session
from shared.configstore import ConfigVersion, StaleConfig
from shared.http import field_name

router = APIRouter(include_in_schema=False)
MAX_FILE_BYTES = 200_000


def as_yaml(body: Any) -> str:
    if body is None:
        return ""
    return yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100)


def changed_keys(entry: ConfigVersion) -> list[str]:
    """The top-level keys an audit entry changed (all of them for version 1)."""
    before, after = entry.before or {}, entry.body
    return [k for k in dict.fromkeys([*after, *before]) if before.get(k) != after.get(k)]


def problem_text(exc: BadConfig) -> str:
    return "; ".join(f"{field_name(e['loc'])}: {e['msg']}" for e in exc.errors)


async def admin_session(request: Request) -> tuple[Session | None, Response | None]:
    """The signed-in admin, or the page to answer instead (the sign-in, or a 403)."""
    session = await load_session(request)
    if session is None:
        return None, to_login(request)
    if session.actor.role != "admin":
        return session, error_page(request, session, 403, present(request).t("admin.admins_only"))
    return session, None


async def checked_post(request: Request) -> tuple[Session | None, Any, Response | None]:
    session, refusal = await admin_session(request)
    if refusal is not None:
        return session, None, refusal
    assert session is not None
    form = await request.form()
    if not csrf_ok(request, session, form.get(CSRF_FIELD)):
        return session, form, error_page(request, session, 403, present(request).t("error.csrf"))
    return session, form, None


@router.get("/console/admin")
async def overview(request: Request) -> Response:
    session, refusal = await admin_session(request)
    if refusal is not None:
        return refusal
    admin = get_container(request).admin
    documents = [await admin.current(name) for name in ALL_NAMES]
    entries = await admin.history(None, 30)
    return page(
        request,
        "console/admin.html",
        session,
        documents=documents,
        entries=[(e, changed_keys(e), as_yaml(e.before), as_yaml(e.body)) for e in entries],
        warning=await admin.calendar_warning(),
        done=request.query_params.get("done", "")[:20],
        names=await _names(request),
    )


async def _names(request: Request) -> dict[str, str]:
    accounts = await get_container(request).staff.list()
    return {a.username: a.display_name for a in accounts if a.display_name}


def _edit_page(
    request: Request,
    session: Session | None,
    current: ConfigVersion,
    text: str,
    note: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "console/admin_edit.html",
        session,
        status_code=status_code,
        doc=current,
        text=text,
        note=note,
        error=error,
    )


@router.get("/console/admin/calendar/import")
async def import_form(request: Request) -> Response:
    session, refusal = await admin_session(request)
    if refusal is not None:
        return refusal
    admin = get_container(request).admin
    current = await admin.current("calendar")
    warning = await admin.calendar_warning()
    year = (warning or {}).get("last_year") or present(request).now.year
    return page(
        request,
        "console/admin_import.html",
        session,
        doc=current,
        year=year + 1 if warning else year,
        warning=warning,
        error=None,
    )


@router.post("/console/admin/calendar/import")
async def import_file(request: Request) -> Response:
    session, form, refusal = await checked_post(request)
    if refusal is not None:
        return refusal
    assert session is not None
    admin = get_container(request).admin
    current = await admin.current("calendar")
    upload, year_text = form.get("file"), str(form.get("year") or "").strip()

    def again(error: str, status_code: int = 422) -> Response:
        year = int(year_text) if year_text.isdigit() else present(request).now.year
        return page(
            request,
            "console/admin_import.html",
            session,
            status_code=status_code,
            doc=current,
            year=year,
            warning=None,
            error=error,
        )

    if not year_text.isdigit() or not 2000 <= int(year_text) <= 2100:
        return again(f"year: {present(request).t('admin.import.year_hint')}")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return again(f"file: {present(request).t('admin.import.file_hint')}")
    raw = await upload.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        return again(f"file: {present(request).t('admin.import.too_big')}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return again(f"file: {present(request).t('admin.import.not_utf8')}")
    base = str(form.get("base_version") or "")
    try:
        await admin.import_calendar(
            int(year_text), text, guess_format(upload.filename, text), int(base) if base.isdigit() else 0, session.actor
        )
    except BadConfig as exc:
        return again(problem_text(exc))
    except StaleConfig as exc:
        return again(str(exc), 409)
    return secure(RedirectResponse("/console/admin?done=calendar", status_code=303))


@router.get("/console/admin/{name}")
async def edit_form(request: Request, name: str) -> Response:
    session, refusal = await admin_session(request)
    if refusal is not None:
        return refusal
    if name not in ALL_NAMES:
        return error_page(request, session, 404, present(request).t("error.not_found"))
    current = await get_container(request).admin.current(name)
    return _edit_page(request, session, current, as_yaml(current.body), "")


@router.post("/console/admin/{name}")
async def save(request: Request, name: str) -> Response:
    session, form, refusal = await checked_post(request)
    if refusal is not None:
        return refusal
    assert session is not None
    if name not in ALL_NAMES:
        return error_page(request, session, 404, present(request).t("error.not_found"))
    admin = get_container(request).admin
    current = await admin.current(name)
    text, note = str(form.get("body") or ""), str(form.get("note") or "").strip()[:500]
    base = str(form.get("base_version") or "")
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        return _edit_page(request, session, current, text, note, f"YAML{line}: {exc}", 422)
    if not isinstance(body, dict):
        return _edit_page(request, session, current, text, note, present(request).t("admin.edit.not_mapping"), 422)
    try:
        await admin.save(name, int(base) if base.isdigit() else 0, json_safe(body), session.actor, note or None)
    except BadConfig as exc:
        return _edit_page(request, session, current, text, note, problem_text(exc), 422)
    except StaleConfig as exc:
        return _edit_page(request, session, current, text, note, str(exc), 409)
    return secure(RedirectResponse(f"/console/admin?done={name}", status_code=303))
