"""The console's reply review (审核, /console/review): the replies members proposed that wait for the caller's
decision (a lead: their team's; supervisors: every team's), each with the proposed reply and two forms:
approve (the lead may edit the words first) and send back with a note.

The forms post to the task's lifecycle action (/console/tasks/{id}/approve-reply or send-back, pages.py), the
same service call as the API, and come back here; a refused action shows on the task page with its reason.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.routing.api.deps import get_container
from services.routing.api.review import review_item, waiting
from services.routing.domain.errors import Forbidden
from services.routing.domain.lifecycle import SPECS
from services.routing.web.base import error_page, page, present, staff_names, to_login
from services.routing.web.session import load_session

router = APIRouter(include_in_schema=False)


@router.get("/console/review")
async def review_page(request: Request) -> Response:
    session = await load_session(request)
    if session is None:
        return to_login(request)
    container = get_container(request)
    try:
        tasks, total = await waiting(container, session.actor, None, 200)
    except Forbidden:
        return error_page(request, session, 403, present(request).t("review.leads_only"))
    now, directory = container.clock(), container.config.directory
    done = request.query_params.get("done")
    return page(
        request,
        "console/review.html",
        session,
        names=await staff_names(request),
        items=[review_item(t, session.actor, directory, now) for t in tasks],
        total=total,
        done=done if done in SPECS else None,
    )
