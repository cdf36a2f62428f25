"""The console's search page (/console/search) with the staff member's saved views, and bulk actions on the
tasks selected in the queue or in the search results (POST /console/bulk).

The page reads its parameters with the same parser as GET /v1/search and runs the same service calls; a bulk
action runs `RoutingService.act` on each selected task, so each task is its own guarded write, and the page
lists each task's result (done, or refused with the reason in the page's language).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from services.routing.api.deps import get_container
from services.routing.domain import bulk
from services.routing.domain.errors import Invalid, LifecycleError, NotVisible
from services.routing.domain.model import STATUSES, Task
from services.routing.domain.search import PARAMETERS, UnknownParameters
from services.routing.domain.views import queue_item
from services.routing.web import forms
from services.routing.web.base import (
    error_page,
    page,
    present,
    secure,
    signed_in,
    signed_in_form,
    staff_names,
)
from services.routing.web.present import Present
from services.routing.web.session import Session, safe_next

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
CONSOLE_ONLY = ("lang", "page", "done")  # the page's own parameters, not search criteria
FIELDS = tuple(p for p in PARAMETERS if p not in ("limit", "offset"))


def _criteria(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k not in CONSOLE_ONLY}


def search_message(exc: Invalid, p: Present) -> str:
    """Why a search was refused, in the page's language."""
    if isinstance(exc, UnknownParameters):
        return p.t("search.unknown", names=", ".join(exc.names))
    if exc.field in ("phone", "from", "to", "team", "status", "q", "address"):
        return p.t(f"search.bad_{exc.field}")
    return p.t("error.invalid", field=exc.field, message=exc.message)


async def kinds_offered(request: Request) -> list[tuple[str, str]]:
    """(code, name) of every kind the rules route, named as the requests of that kind were."""
    container = get_container(request)
    codes = sorted({r.category for r in container.config.rules.routes if r.category})
    names = await container.service.service_names(codes)
    p = present(request)
    return [(code, p.pick(names.get(code) or {}, code)) for code in codes]


@router.get("/console/search")
async def search_page(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    container, p = get_container(request), present(request)
    criteria = _criteria(request)
    number = request.query_params.get("page", "")
    page_number = int(number) if number.isdigit() and 1 <= int(number) <= 1000 else 1
    params = {**criteria, "limit": str(PAGE_SIZE), "offset": str((page_number - 1) * PAGE_SIZE)}
    error, results, total, status_code = None, [], 0, 200
    searched = any(v.strip() for v in criteria.values())
    if searched:
        try:
            _query, tasks, total = await container.search.search(params, session.actor)
        except Invalid as exc:
            error, status_code = search_message(exc, p), 422
        else:
            now = container.clock()
            results = [queue_item(t, session.actor, container.config.directory, now) for t in tasks]
    here = urlencode({k: v for k, v in criteria.items() if v})
    return page(
        request,
        "console/search.html",
        session,
        status_code=status_code,
        names=await staff_names(request),
        criteria=criteria,
        searched=searched,
        error=error,
        results=results,
        total=total,
        page_number=page_number,
        pages=max(1, -(-total // PAGE_SIZE)),
        here=here,
        views=await container.search.views(session.actor),
        view_url=lambda q: "/console/search?" + urlencode(q),
        kinds=await kinds_offered(request),
        teams=container.config.directory.teams,
        statuses=STATUSES,
        next_url="/console/search" + (f"?{here}" if here else ""),
        done=request.query_params.get("done"),
    )


@router.post("/console/search/views")
async def save_view(request: Request) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    p = present(request)
    name = str(form.get("name") or "").strip()
    query = {k: str(form.get(k) or "").strip() for k in FIELDS if k != "phone" and str(form.get(k) or "").strip()}
    if not name or len(name) > 60:
        return error_page(request, session, 422, p.t("search.view_name"))
    try:
        await get_container(request).search.save_view(session.actor, name, query)
    except Invalid as exc:
        return error_page(
            request, session, 422, search_message(exc, p) if exc.field != "name" else p.t("search.too_many")
        )
    return secure(RedirectResponse("/console/search?" + urlencode({**query, "done": "saved"}), status_code=303))


@router.post("/console/search/views/delete")
async def delete_view(request: Request) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    await get_container(request).search.delete_view(session.actor, str(form.get("name") or "")[:60])
    return secure(RedirectResponse("/console/search?done=deleted", status_code=303))


# -- bulk actions ----------------------------------------------------------------------------------------------


def _bulk_message(exc: LifecycleError, action: str, session: Session, p: Present) -> str:
    if isinstance(exc, NotVisible):
        return p.t("bulk.not_found")
    return forms.domain_message(exc, action, session.actor, None, p)


@router.post("/console/bulk")
async def bulk_action(request: Request) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    p, container = present(request), get_container(request)
    action = str(form.get("action") or "")
    ids = [str(v) for v in form.getlist("ids")]
    back = safe_next(form.get("next"), default="/console/")
    if action not in bulk.BULK_ACTIONS:
        return error_page(request, session, 422, p.t("bulk.choose_action"))
    if not ids:
        return error_page(request, session, 422, p.t("bulk.none_selected"))
    if len(ids) > bulk.MAX_ITEMS:
        return error_page(request, session, 422, p.t("bulk.too_many", max=bulk.MAX_ITEMS))
    try:
        command = forms.parse(action, form)
        selection = bulk.BulkRequest(action=action, ids=ids, params=command.model_dump(exclude_unset=True))  # type: ignore[arg-type]
    except ValidationError as exc:
        return error_page(request, session, 422, forms.validation_message(exc, p))
    outcomes = await container.search.bulk_run(selection, session.actor)
    rows: list[dict[str, Any]] = []
    for request_id, outcome in outcomes:
        if isinstance(outcome, Task):
            rows.append({"id": request_id, "code": outcome.tracking_code, "done": True, "status": outcome.status})
            continue
        task = await container.store.get(request_id)
        code = task.tracking_code if task is not None and not isinstance(outcome, NotVisible) else None
        rows.append({"id": request_id, "code": code, "done": False,
                     "reason": _bulk_message(outcome, action, session, p)})  # fmt: skip
    done = sum(1 for r in rows if r["done"])
    return page(
        request,
        "console/bulk.html",
        session,
        names=await staff_names(request),
        action=action,
        rows=rows,
        done_count=done,
        refused_count=len(rows) - done,
        back=back,
    )
