"""What every portal page shares: rendering in the resident's language with the security headers, the error
pages, and `guarded`, which turns a rate limit or a database outage into a page instead of a JSON error."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

import structlog
from fastapi import Request
from fastapi.responses import Response
from pymongo.errors import PyMongoError

from services.intake.api.deps import get_container
from services.intake.limits import RateLimited
from services.intake.web import present
from shared.i18n import pick
from shared.statuses import label
from shared.tracking import code_groups
from shared.web import page_language, render

log = structlog.get_logger("huiying.intake.portal")


@functools.cache
def security_headers(notify_url: str) -> dict[str, str]:
    notify = urlsplit(notify_url)
    return {
        # Nothing is loaded from anywhere but intake itself; the only other place a page talks to is
        # notify's inbox (the messages on the track page).
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {notify.scheme}://{notify.netloc}; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        ),
        # The tracking code is in the address: it must not leak to other sites, or stay in a shared
        # computer's cache.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def fid(name: str) -> str:
    """The HTML id of a form field."""
    return "f-" + name.replace(".", "-").replace("_", "-")


def page(request: Request, name: str, *, status: int = 200, **context: Any) -> Response:
    container = get_container(request)
    lang = page_language(request)
    other = "en" if lang != "en" else "zh-CN"
    tz = container.settings.timezone
    response: Response = render(
        container.templates,
        request,
        name,
        other_lang=other,
        switch_url=f"{quote(request.url.path)}?lang={other}",
        when=lambda moment: present.local_time(moment, lang, tz),
        pick=lambda text: pick(text, lang),
        status_label=lambda status: label(status, lang, "resident"),
        fid=fid,
        code_groups=code_groups,
        hotline=container.settings.hotline_number,
        **context,
    )
    response.status_code = status
    response.headers.update(security_headers(container.settings.public_url("notify")))
    return response


def error_page(request: Request, status: int, title: str, text: str, **values: Any) -> Response:
    return page(request, "error.html", status=status, title_key=title, text_key=text, values=values)


def unavailable(request: Request) -> Response:
    return error_page(request, 503, "page.unavailable.title", "page.unavailable.text")


def not_found(request: Request, code: str) -> Response:
    return page(request, "not_found.html", status=404, code=code[:40])


Endpoint = Callable[..., Awaitable[Response]]


def guarded(endpoint: Endpoint) -> Endpoint:
    """A page, never a JSON error: rate limits and a database outage answer with a page in the resident's
    language (429 / 503 with Retry-After), like the API's statuses."""

    @functools.wraps(endpoint)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        try:
            return await endpoint(*args, **kwargs)
        except RateLimited as exc:
            seconds = (exc.headers or {}).get("Retry-After", "60")
            response = error_page(request, 429, "page.rate_limited.title", "page.rate_limited.text", seconds=seconds)
            response.headers["Retry-After"] = seconds
            return response
        except PyMongoError as exc:
            log.warning("database unavailable", error=f"{type(exc).__name__}: {exc}"[:300], path=request.url.path)
            response = unavailable(request)
            response.headers["Retry-After"] = "5"
            return response

    return wrapper
