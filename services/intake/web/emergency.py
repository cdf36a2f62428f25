"""The call-now page (issue 13): when triage hears an emergency in a resident's words, the portal answers
with a red call box first — the number as a `tel:` link, the reason in plain words, what to do meanwhile —
and files nothing; "不是紧急情况，继续提交" posts the same form again with `confirm_not_emergency=true`.
`/emergency` is the same page without a reason: where the home page's emergency link and the emergency
door lead. Works without JavaScript."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.intake.domain.catalogue import Service
from services.intake.domain.emergency import Decision
from services.intake.web.forms import Values
from services.intake.web.frame import page
from shared.i18n import pick
from shared.web import page_language

router = APIRouter(include_in_schema=False)

NUMBERS = (("119", "home.emergency.fire"), ("120", "home.emergency.medical"), ("110", "home.emergency.police"))


def call_now_page(
    request: Request, *, decision: Decision | None = None, service: Service | None = None, values: Values | None = None
) -> Response:
    """The call box; with a decision, its reason and a form that files the request anyway."""
    lang = page_language(request)
    hidden = None
    if values is not None:
        hidden = [(k, v) for k, vs in values.data.items() if k != "confirm_not_emergency" for v in vs]
    return page(
        request,
        "emergency.html",
        call=decision.call if decision else None,
        rule=decision.rule if decision else "",
        reason=pick(dict(decision.reason), lang) if decision else "",
        advice=pick(dict(decision.advice), lang) if decision and decision.advice else "",
        overridable=bool(decision and decision.overridable),
        numbers=NUMBERS,
        service=service,
        hidden=hidden,
        hide_emergency_line=True,
    )


@router.get("/emergency")
async def emergency(request: Request) -> Response:
    return call_now_page(request)
