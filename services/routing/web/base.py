"""What every console page shares: the templates and the catalogue, the page context, security headers,
the sign-in redirect and the error page."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from services.routing.api.deps import get_container
from services.routing.config import DEPLOY
from services.routing.web.present import Present
from services.routing.web.session import CSRF_FIELD, Session, csrf_ok, load_session
from shared.web import Catalogue, make_templates, page_language, render

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
MESSAGES = DEPLOY / "routing" / "console-messages.yaml"
# How often an open queue asks whether anything changed (a conditional request; paused in hidden tabs).
POLL_SECONDS = 5


@cache
def templates() -> Jinja2Templates:
    """Loaded once, at app creation (services/routing/app.py), so a broken catalogue stops routing at start."""
    return make_templates(TEMPLATES, Catalogue(MESSAGES))


def catalogue() -> Catalogue:
    found: Catalogue = templates().env.globals["catalogue"]  # type: ignore[assignment]
    return found


# Pages load nothing from elsewhere and run only our own script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def present(request: Request) -> Present:
    container = get_container(request)
    return Present(
        lang=page_language(request),
        zone=ZoneInfo(container.config.calendar.timezone),
        now=container.clock(),
        catalogue=catalogue(),
        directory=container.config.directory,
    )


def lang_url(request: Request, lang: str, canonical: str | None = None) -> str:
    """This page in the other language. A page answering a form post links to the page the form was on."""
    if canonical is not None or request.method != "GET":
        return f"{canonical or '/console/'}?{urlencode({'lang': lang})}"
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "done")]
    params.append(("lang", lang))
    return f"{request.url.path}?{urlencode(params)}"


async def staff_names(request: Request) -> dict[str, str]:
    """username -> display name, for pages that name staff (an account without one shows its username)."""
    accounts = await get_container(request).staff.list()
    return {a.username: a.display_name for a in accounts if a.display_name}


def page(request: Request, name: str, session: Session | None, *, status_code: int = 200, **context: Any) -> Response:
    p = present(request)
    canonical = context.pop("canonical", None)
    names: dict[str, str] = context.pop("names", {})

    def who(username: str | None) -> str:
        """A staff member's display name; the system's own steps say so."""
        if not username:
            return ""
        return names.get(username) or (p.t("actor.system") if username == "system" else username)

    response = render(
        templates(),
        request,
        name,
        p=p,
        who=who,
        session=session,
        lang_url=lambda lang: lang_url(request, lang, canonical),
        path=request.url.path,
        desk_team=request.app.state.container.config.followup.desk_team,  # the call-backs link (回访)
        **context,
    )
    response.status_code = status_code
    return secure(response)


def error_page(request: Request, session: Session | None, status_code: int, message: str) -> Response:
    return page(request, "console/error.html", session, status_code=status_code, message=message)


def not_found(request: Request, session: Session | None) -> Response:
    return error_page(request, session, 404, present(request).t("error.not_found"))


def to_login(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return secure(RedirectResponse(f"/console/login?next={quote(here, safe='')}", status_code=303))


async def signed_in(request: Request) -> Session | Response:
    """The console's signed-in session, or the sign-in page to send the browser to."""
    session = await load_session(request)
    return to_login(request) if session is None else session


async def signed_in_form(request: Request) -> tuple[Session, FormData] | Response:
    """A console form post: the session and its form once the CSRF token holds, or the page to answer with."""
    session = await load_session(request)
    if session is None:
        return to_login(request)
    form = await request.form()
    if not csrf_ok(request, session, form.get(CSRF_FIELD)):
        return error_page(request, session, 403, present(request).t("error.csrf"))
    return session, form
