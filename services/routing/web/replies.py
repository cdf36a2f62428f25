"""The console's canned replies: the team's list (/console/replies; leads, supervisors and admins add, change
and delete), and the replies offered on a task's reply form, filled in for that task."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from services.routing.api.deps import get_container
from services.routing.domain.errors import Forbidden, Invalid, LifecycleError
from services.routing.domain.replies import VARIABLES, ReplyIn
from services.routing.replies import UnknownReply
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
from services.routing.web.present import Present
from services.routing.web.search import kinds_offered
from services.routing.web.session import Session

router = APIRouter(include_in_schema=False)


def keeps_replies(session: Session) -> bool:
    return session.actor.role in ("lead", "supervisor", "admin")


async def reply_offers(request: Request, session: Session, view: dict[str, Any]) -> list[dict[str, str]]:
    """The canned replies a task's reply form offers (only where the caller may resolve it)."""
    if "resolve" not in view["allowed_actions"]:
        return []
    offers = await get_container(request).replies.offers(session.actor, view["id"])
    return [{"id": o.id, "title": o.title, "text": o.text} for o in offers]


def _message(exc: Exception, p: Present) -> str:
    if isinstance(exc, ValidationError):
        return forms.validation_message(exc, p)
    if isinstance(exc, Forbidden):
        return p.t("replies.leads_only")
    if isinstance(exc, Invalid) and "variable" in exc.message:
        return p.t("replies.bad_variable", message=exc.message)
    if isinstance(exc, Invalid):
        return p.t("error.invalid", field=exc.field, message=exc.message)
    return p.t("error.changed")


async def _page(request: Request, session: Session, *, status_code: int = 200, error: str | None = None,
                values: dict[str, str] | None = None) -> Response:  # fmt: skip
    container = get_container(request)
    items = await container.replies.list_for(session.actor)
    return page(
        request,
        "console/replies.html",
        session,
        status_code=status_code,
        names=await staff_names(request),
        items=items,
        may_keep=keeps_replies(session),
        kinds=await kinds_offered(request),
        teams=container.config.directory.teams,
        variables=list(VARIABLES),
        error=error,
        values=values or {},
        done=request.query_params.get("done"),
    )


@router.get("/console/replies")
async def replies_page(request: Request) -> Response:
    session = await signed_in(request)
    if isinstance(session, Response):
        return session
    return await _page(request, session)


def _body(form: Any) -> ReplyIn:
    data = {k: str(form.get(k) or "").strip() for k in ("title", "text", "kind", "team_id")}
    return ReplyIn.model_validate({k: v for k, v in data.items() if v})


@router.post("/console/replies")
async def create_reply(request: Request) -> Response:
    return await _write(request, None)


@router.post("/console/replies/{reply_id}")
async def update_reply(request: Request, reply_id: str) -> Response:
    return await _write(request, reply_id[:64])


async def _write(request: Request, reply_id: str | None) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, form = got
    p, service = present(request), get_container(request).replies
    values = forms.form_values(form)
    try:
        body = _body(form)
        if reply_id is None:
            await service.create(session.actor, body)
        else:
            await service.update(session.actor, reply_id, body)
    except UnknownReply:
        return not_found(request, session)
    except (ValidationError, LifecycleError) as exc:
        status = 403 if isinstance(exc, Forbidden) else 409 if not isinstance(exc, (ValidationError, Invalid)) else 422
        return await _page(request, session, status_code=status, error=_message(exc, p), values=values)
    return secure(RedirectResponse("/console/replies?done=saved", status_code=303))


@router.post("/console/replies/{reply_id}/delete")
async def delete_reply(request: Request, reply_id: str) -> Response:
    got = await signed_in_form(request)
    if isinstance(got, Response):
        return got
    session, _form = got
    try:
        await get_container(request).replies.delete(session.actor, reply_id[:64])
    except UnknownReply:
        return not_found(request, session)
    except Forbidden:
        return error_page(request, session, 403, present(request).t("replies.leads_only"))
    return secure(RedirectResponse("/console/replies?done=deleted", status_code=303))
