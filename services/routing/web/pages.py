"""The staff console: sign in and out, the queue (refreshing itself), the supervisors' view of returned and
overdue work, a task with its history and the actions the lifecycle allows the caller.

Every page calls the same service layer as the JSON API (`service.act`, the queue query, `task_view`), so the
console cannot allow what the API refuses. Pages are HTML only (`include_in_schema=False`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.routing.api import tasks as tasks_api
from services.routing.api.deps import get_container
from services.routing.domain.errors import Forbidden, Invalid, LifecycleError, NotVisible
from services.routing.domain.labels import NOT_ACCEPT_REASONS, RETURN_REASONS
from services.routing.domain.lifecycle import SPECS, visible
from services.routing.domain.model import STATUSES
from services.routing.domain.rules import PRIORITIES
from services.routing.domain.views import task_view
from services.routing.staff import verify_password
from services.routing.web import aftercare, forms
from services.routing.web import care as care_pages
from services.routing.web.base import (
    POLL_SECONDS,
    error_page,
    not_found,
    page,
    present,
    secure,
    staff_names,
    to_login,
)
from services.routing.web.photos import allow_intake_images, photo_links
from services.routing.web.replies import reply_offers
from services.routing.web.session import (
    CSRF_FIELD,
    Session,
    clear_session_cookie,
    csrf_ok,
    load_session,
    safe_next,
    same_origin,
    set_session_cookie,
)
from shared.events import LANGUAGES
from shared.limits import RateLimited
from shared.security import StaffClaims, issue_token
from shared.web import LANG_COOKIE

log = structlog.get_logger("huiying.routing.console")
router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
ASSIGNEE_FILTERS = ("me", "none")


# -- sign in / out -----------------------------------------------------------------------------------------


@router.get("/console")
async def console_root() -> Response:
    return secure(RedirectResponse("/console/", status_code=307))


@router.get("/console/login")
async def login_form(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if await load_session(request) is not None:
        return secure(RedirectResponse(target, status_code=303))
    return page(request, "console/login.html", None, next=target, username="", error=None)


@router.post("/console/login")
async def login(request: Request) -> Response:
    p = present(request)
    if not same_origin(request):
        return error_page(request, None, 403, p.t("error.csrf"))
    form = await request.form()
    raw_user, password = form.get("username"), form.get("password")
    username = raw_user.strip().lower() if isinstance(raw_user, str) else ""
    target = safe_next(form.get("next"))

    def refused(key: str) -> Response:
        return page(
            request,
            "console/login.html",
            None,
            status_code=400,
            next=target,
            username=username[:64],
            error=p.t(key),
            canonical="/console/login",
        )

    if not username or not isinstance(password, str) or not password:
        return refused("error.login_missing")
    if len(username) > 64 or len(password) > 200:
        return refused("error.login")
    container = get_container(request)
    try:
        container.signin.before(request, username, "console")  # before any hash is computed
    except RateLimited as exc:
        response = refused("error.login_throttled")
        response.status_code = 429
        response.headers.update(exc.headers or {})
        return response
    account = await container.staff.get(username)
    ok = await verify_password(account.password_hash if account else None, password)
    if account is None or not ok or not account.active:
        container.signin.failed(request, username, "console")
        return refused("error.login")
    settings = container.settings
    # Token lifetimes run on real time, like the API's sign-in.
    claims = StaffClaims(sub=account.username, role=account.role, team=account.team, ver=account.token_version)
    token = issue_token(settings, claims)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    if request.cookies.get(LANG_COOKIE) not in LANGUAGES and account.language in LANGUAGES:
        response.set_cookie(LANG_COOKIE, account.language, max_age=365 * 86400, samesite="lax")
    log.info("console sign-in", username=account.username, role=account.role)
    return secure(response)


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    session = await load_session(request)
    form = await request.form()
    if session is not None and not csrf_ok(request, session, form.get(CSRF_FIELD)):
        return error_page(request, session, 403, present(request).t("error.csrf"))
    response = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(response)
    return secure(response)


# -- the queue ---------------------------------------------------------------------------------------------


def _queue_filters(request: Request, session: Session) -> dict[str, str]:
    """The filters from the query string, each checked; anything unknown is left out (never an error)."""
    qp = request.query_params
    status = qp.get("status", "")
    filters = {
        "status": status if status in ("open", "all", *STATUSES) else "",
        "assignee": qp.get("assignee", "") if qp.get("assignee") in ASSIGNEE_FILTERS else "",
        "priority": qp.get("priority", "") if qp.get("priority") in PRIORITIES else "",
        "overdue": "1" if qp.get("overdue") in ("1", "true", "on") else "",
        "q": qp.get("q", "").strip()[:40],
        "team": "",
        "page": "",
    }
    if session.supervises and get_container(request).config.directory.has(qp.get("team")):
        filters["team"] = qp.get("team", "")
    number = qp.get("page", "")
    if number.isdigit() and 1 < int(number) <= 1000:
        filters["page"] = number
    return filters


async def _queue(request: Request, session: Session, filters: dict[str, str]) -> dict[str, Any]:
    page_number = int(filters["page"] or 1)
    result: dict[str, Any] = await tasks_api.queue(
        session.actor,
        get_container(request),
        status=filters["status"] or None,
        team=filters["team"] or None,
        assignee=filters["assignee"] or None,
        priority=filters["priority"] or None,  # type: ignore[arg-type]
        overdue=True if filters["overdue"] else None,
        service_code=None,
        tracking_code=filters["q"] or None,
        limit=PAGE_SIZE,
        offset=(page_number - 1) * PAGE_SIZE,
    )
    result["page"] = page_number
    result["pages"] = max(1, -(-result["total"] // PAGE_SIZE))
    return result


def _etag(request: Request, session: Session, *parts: Any) -> str:
    """Changes when anything shown changes: the items, the language, and the minute (relative due times)."""
    now = get_container(request).clock()
    basis = [session.actor.username, present(request).lang, now.strftime("%Y%m%d%H%M"), *parts]
    digest = hashlib.sha256(json.dumps(basis, default=str, sort_keys=True).encode()).hexdigest()[:32]
    return f'"{digest}"'


def _query(filters: dict[str, str], **changes: str) -> str:
    merged = {**filters, **changes}
    return urlencode({k: v for k, v in merged.items() if v})


def _not_modified(request: Request, etag: str) -> bool:
    return etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]


@router.get("/console/")
async def queue_page(request: Request) -> Response:
    session = await load_session(request)
    if session is None:
        return to_login(request)
    filters = _queue_filters(request, session)
    queue = await _queue(request, session, filters)
    here = _query(filters)
    return page(
        request,
        "console/queue.html",
        session,
        names=await staff_names(request),
        queue=queue,
        filters=filters,
        query=lambda **c: _query(filters, **c),
        next_url="/console/" + (f"?{here}" if here else ""),
        poll_url="/console/queue/items" + (f"?{here}" if here else ""),
        poll_seconds=POLL_SECONDS,
        etag=_etag(request, session, queue, filters),
        teams=get_container(request).config.directory.teams,
        priorities=list(reversed(PRIORITIES)),
        statuses=STATUSES,
        done=_done(request),
    )


@router.get("/console/queue/items")
async def queue_items(request: Request) -> Response:
    """The queue's list alone, for the page's own refresh: answers 304 while nothing changed."""
    session = await load_session(request)
    if session is None:
        return secure(PlainTextResponse("sign in again", status_code=401))
    filters = _queue_filters(request, session)
    queue = await _queue(request, session, filters)
    etag = _etag(request, session, queue, filters)
    if _not_modified(request, etag):
        return secure(Response(status_code=304, headers={"ETag": etag}))
    here = _query(filters)
    response = page(
        request,
        "console/_queue_items.html",
        session,
        names=await staff_names(request),
        queue=queue,
        filters=filters,
        query=lambda **c: _query(filters, **c),
        next_url="/console/" + (f"?{here}" if here else ""),
    )
    response.headers["ETag"] = etag
    return response


# -- supervisors: returned and overdue work across teams -----------------------------------------------------


async def _supervision(request: Request, session: Session) -> dict[str, Any]:
    empty = dict.fromkeys(("status", "assignee", "priority", "overdue", "q", "team", "page"), "")
    returned = await _queue(request, session, {**empty, "status": "returned"})
    overdue = await _queue(request, session, {**empty, "overdue": "1"})
    return {"returned": returned, "overdue": overdue}


@router.get("/console/supervise")
async def supervise_page(request: Request) -> Response:
    session = await load_session(request)
    if session is None:
        return to_login(request)
    if not session.supervises:
        return error_page(request, session, 403, present(request).t("error.supervisors_only"))
    data = await _supervision(request, session)
    return page(
        request,
        "console/supervise.html",
        session,
        names=await staff_names(request),
        **data,
        teams=get_container(request).config.directory.teams,
        priorities=list(reversed(PRIORITIES)),
        poll_url="/console/supervise/items",
        poll_seconds=POLL_SECONDS,
        etag=_etag(request, session, data),
        next_url="/console/supervise",
        done=_done(request),
        care_overdue=await care_pages.overdue_households(request, session),  # the care register's missed visits
    )


@router.get("/console/supervise/items")
async def supervise_items(request: Request) -> Response:
    session = await load_session(request)
    if session is None:
        return secure(PlainTextResponse("sign in again", status_code=401))
    if not session.supervises:
        return secure(PlainTextResponse("supervisors only", status_code=403))
    data = await _supervision(request, session)
    etag = _etag(request, session, data)
    if _not_modified(request, etag):
        return secure(Response(status_code=304, headers={"ETag": etag}))
    response = page(
        request,
        "console/_supervise_items.html",
        session,
        names=await staff_names(request),
        **data,
        teams=get_container(request).config.directory.teams,
        priorities=list(reversed(PRIORITIES)),
        next_url="/console/supervise",
    )
    response.headers["ETag"] = etag
    return response


# -- a task ------------------------------------------------------------------------------------------------


def _done(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in SPECS else None


async def _task_page(
    request: Request,
    session: Session,
    request_id: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    failed_action: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    container = get_container(request)
    try:
        task = await container.service.get_visible(request_id, session.actor)
    except NotVisible:
        return not_found(request, session)
    view = task_view(task, session.actor, container.config.directory, container.clock())
    offers = await reply_offers(request, session, view)  # canned replies for the reply form
    members: list[Any] = []
    if "assign" in view["allowed_actions"] and task.team_id:
        members = [a for a in await container.staff.list(task.team_id) if a.active and a.role in ("member", "lead")]
    view["photo_links"] = photo_links(container, task.id, task.photos)  # the resident's photos, from intake
    response = page(
        request,
        "console/task.html",
        session,
        names=await staff_names(request),
        status_code=status_code,
        task=view,
        teams=container.config.directory.teams,
        members=members,
        priorities=list(reversed(PRIORITIES)),
        return_reasons=list(RETURN_REASONS),
        not_accept_reasons=list(NOT_ACCEPT_REASONS),
        reply_offers=offers,
        error=error,
        failed_action=failed_action,
        values=values or {},
        done=_done(request),
        duplicates=await aftercare.duplicates_of(container, task, session.actor),  # 并单
        merged=request.query_params.get("merged") == "1",
        dismissed=request.query_params.get("dismissed") == "1",
        next_url=f"/console/tasks/{task.id}",
        canonical=f"/console/tasks/{task.id}",
    )
    return allow_intake_images(container, response) if task.photos else response


@router.get("/console/tasks/{request_id}")
async def task_page(request: Request, request_id: str) -> Response:
    session = await load_session(request)
    if session is None:
        return to_login(request)
    return await _task_page(request, session, request_id[:100])


@router.post("/console/tasks/{request_id}/{action}")
async def task_action(request: Request, request_id: str, action: str) -> Response:
    session = await load_session(request)
    if session is None:
        return to_login(request)
    p = present(request)
    form = await request.form()
    if not csrf_ok(request, session, form.get(CSRF_FIELD)):
        return error_page(request, session, 403, p.t("error.csrf"))
    if action not in SPECS:
        return not_found(request, session)
    service = get_container(request).service
    values = forms.form_values(form)
    try:
        command = forms.parse(action, form)
    except ValidationError as exc:
        message = forms.validation_message(exc, p)
        return await _task_page(request, session, request_id, status_code=422, error=message,
                                failed_action=action, values=values)  # fmt: skip
    try:
        task = await service.act(request_id, command, session.actor)
    except NotVisible:
        return not_found(request, session)
    except LifecycleError as exc:
        status = 403 if isinstance(exc, Forbidden) else 422 if isinstance(exc, Invalid) else 409
        current = await service.store.get(request_id)
        message = forms.domain_message(exc, action, session.actor, current.assignee if current else None, p)
        return await _task_page(request, session, request_id, status_code=status, error=message,
                                failed_action=action, values=values)  # fmt: skip
    target = safe_next(form.get("next"), default="")
    if not target:
        # Work that left the caller's sight (returned, transferred away) goes back to the queue.
        target = f"/console/tasks/{task.id}" if visible(task, session.actor) else "/console/"
    separator = "&" if "?" in target else "?"
    return secure(RedirectResponse(f"{target}{separator}done={action}", status_code=303))


# -- anything else under /console/ ---------------------------------------------------------------------------


@router.get("/console/{rest:path}")
async def unknown_page(request: Request, rest: str) -> Response:
    return not_found(request, await load_session(request))
