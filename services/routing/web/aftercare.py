"""Console pages for call-backs (回访) and duplicates (并单): the desk's list of residents to call, one call-back
with its form, and the one-step merge from a task page's "possibly the same matter" section. The same service
calls as the API (services/routing/api/followups.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from services.routing.api.deps import get_container
from services.routing.api.followups import Merge, dismiss_candidate, duplicate_candidates, merge_task
from services.routing.bootstrap import Container
from services.routing.callbacks import CallBacks
from services.routing.domain.errors import Forbidden, Invalid, LifecycleError, NotVisible
from services.routing.domain.followup import OUTCOMES, RecordCall
from services.routing.domain.model import Actor, Task
from services.routing.domain.views import followup_view
from services.routing.web import forms
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
RATINGS = ("satisfied", "fairly_satisfied", "dissatisfied")


async def duplicates_of(container: Container, task: Task, actor: Actor) -> list[dict[str, Any]]:
    """The task page's "possibly the same matter" section (only while the task is open)."""
    if not task.duplicate_candidates or task.status in ("duplicate", "cancelled", "closed", "not_accepted"):
        return []
    return await duplicate_candidates(container, task.id, actor)


@router.post("/console/tasks/{request_id}/merge")
async def merge(request: Request, request_id: str) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    p = present(request)
    try:
        body = Merge(into=str(form.get("into") or ""))
        await merge_task(get_container(request), request_id, body, session.actor)
    except NotVisible:
        return not_found(request, session)
    except ValidationError as exc:
        return error_page(request, session, 422, forms.validation_message(exc, p))
    except LifecycleError as exc:
        status = 403 if isinstance(exc, Forbidden) else 422 if isinstance(exc, Invalid) else 409
        return error_page(request, session, status, forms.domain_message(exc, "duplicate", session.actor, None, p))
    return secure(RedirectResponse(f"/console/tasks/{request_id}?merged=1", status_code=303))


@router.post("/console/tasks/{request_id}/not-duplicate")
async def not_duplicate(request: Request, request_id: str) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    other = str(form.get("other") or "")[:100]
    try:
        await dismiss_candidate(get_container(request), request_id, other, session.actor)
    except NotVisible:
        return not_found(request, session)
    except Forbidden:
        return error_page(request, session, 403, present(request).t("duplicates.dismiss_forbidden"))
    return secure(RedirectResponse(f"/console/tasks/{request_id}?dismissed=1", status_code=303))


@router.get("/console/followups")
async def followups_page(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    container = get_container(request)
    try:
        tasks = await CallBacks(container.service).queue(session.actor)
    except Forbidden:
        return error_page(request, session, 403, present(request).t("followups.forbidden"))
    items = [followup_view(t, container.config.directory) for t in tasks]
    return page(request, "console/followups.html", session, items=items, canonical="/console/followups")


async def _followup_page(
    request: Request, session: Session, request_id: str, *, status_code: int = 200, error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    container = get_container(request)
    try:
        task = await CallBacks(container.service).get(request_id, session.actor)
    except NotVisible:
        return not_found(request, session)
    return page(
        request,
        "console/followup.html",
        session,
        names=await staff_names(request),
        status_code=status_code,
        item=followup_view(task, container.config.directory),
        outcomes=OUTCOMES,
        ratings=RATINGS,
        error=error,
        values=values or {},
        saved=request.query_params.get("saved") == "1",
        canonical=f"/console/followups/{task.id}",
    )


@router.get("/console/followups/{request_id}")
async def followup_page(request: Request, request_id: str) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    return await _followup_page(request, session, request_id[:100])


def _local_time(value: str, timezone: str) -> str:
    """`<input type="datetime-local">` sends local time without a zone: the community's zone."""
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return value  # the model names the field
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=ZoneInfo(timezone))
    return instant.isoformat()


@router.post("/console/followups/{request_id}/calls")
async def record_call(request: Request, request_id: str) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    p = present(request)
    values = forms.form_values(form)
    fields = {k: v for k, v in values.items() if k in ("outcome", "rating", "called_at", "comment") and v}
    try:
        if "called_at" in fields:
            fields["called_at"] = _local_time(fields["called_at"], get_container(request).settings.timezone)
        call = RecordCall.model_validate(fields)
        await CallBacks(get_container(request).service).record(request_id, call, session.actor)
    except NotVisible:
        return not_found(request, session)
    except ValidationError as exc:
        message = forms.validation_message(exc, p)
        return await _followup_page(request, session, request_id, status_code=422, error=message, values=values)
    except Forbidden:
        return error_page(request, session, 403, p.t("followups.forbidden"))
    except LifecycleError as exc:
        status = 422 if isinstance(exc, Invalid) else 409
        message = p.t("followups.invalid_time") if isinstance(exc, Invalid) else str(exc)
        return await _followup_page(request, session, request_id, status_code=status, error=message, values=values)
    return secure(RedirectResponse(f"/console/followups/{request_id}?saved=1", status_code=303))
